"""What auditors ask of the database: the paper register, links, coverage, the HTML report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from sohoa.classify import load_catalogue
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.records import (
    InventoryItem,
    collect_report_data,
    coverage,
    database_session,
    inventory,
    queries,
)
from sohoa.report import render_report


def _catalogue(settings: Settings):
    return load_catalogue(settings.section("classify")["catalogue"])


def import_register(
    settings: Settings, path: Path
) -> tuple[inventory.ImportReport, inventory.LinkReport]:
    """Load the paper register (upsert by dossier code), then link scanned records to it."""
    catalogue = _catalogue(settings)
    known = {p.key: p.key for p in catalogue.procedures}
    known |= {p.code: p.key for p in catalogue.procedures if p.code}
    with database_session(settings.database_url) as session:
        report = inventory.import_inventory(session, path, known)
        links = inventory.link_records(session)
    return report, links


def link(settings: Settings) -> inventory.LinkReport:
    with database_session(settings.database_url) as session:
        return inventory.link_records(session)


@dataclass(frozen=True)
class CoverageAnswer:
    basis: str  # "inventory" (registered dossiers) or "records" (no register imported)
    rows: list[dict]
    projection: coverage.Projection | None


def coverage_report(
    settings: Settings, by: tuple[str, ...], since: dt.date | None
) -> CoverageAnswer:
    """Against the paper register when one is imported, otherwise against scanned records."""
    with database_session(settings.database_url) as session:
        has_register = bool(session.scalar(select(func.count()).select_from(InventoryItem)))
        if has_register:
            rows = coverage.inventory_coverage(session, by=by, since=since)
            return CoverageAnswer(
                "inventory", [row.as_dict() for row in rows], coverage.projection(session)
            )
        unknown = [d for d in by if d not in queries.COVERAGE_DIMENSIONS]
        if unknown:
            raise SohoaError(
                f"coverage by {', '.join(unknown)} needs the paper register: "
                "run 'sohoa inventory import FILE.csv' first"
            )
        rows = [
            {**dict(zip(by, r.group, strict=True)), "registered": r.registered,
             "digitized": r.digitized, "percent": round(r.percent, 1), "pages": r.pages}
            for r in queries.coverage(session, by)
        ]  # fmt: skip
        return CoverageAnswer("records", rows, None)


def write_report(settings: Settings, path: Path) -> None:
    names = {p.key: p.name for p in _catalogue(settings).procedures}
    with database_session(settings.database_url) as session:
        data = collect_report_data(session, names)
    path.write_text(render_report(data), encoding="utf-8")
