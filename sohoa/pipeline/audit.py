"""What auditors ask of the database: the paper register, links, coverage, the HTML report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sohoa.classify import load_catalogue
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.records import (
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
    # Apart, so that linking takes its locks in the order a running batch does (records,
    # items, coverage cells) and never holds the cells while it waits for a record.
    with database_session(settings.database_url) as session:
        links = inventory.link_records(session)
    return report, links


def link(settings: Settings, mapping: Path | None = None) -> inventory.LinkReport:
    """Link records to the register (explicitly by the `mapping` CSV first, if given)."""
    with database_session(settings.database_url) as session:
        problems: list[inventory.Problem] = []
        mapped = inventory.read_mapping(session, mapping, problems) if mapping else {}
        report = inventory.link_records(session, mapped)
    report.problems = problems
    return report


@dataclass(frozen=True)
class CoverageAnswer:
    basis: str  # "inventory" (registered dossiers) or "records" (no register imported)
    rows: list[dict]
    projection: coverage.Projection | None
    handed_over: int = 0  # dossiers in completed transfer packages (sohoa package)


def coverage_report(
    settings: Settings, by: tuple[str, ...], since: dt.date | None
) -> CoverageAnswer:
    """Against the paper register when one is imported, otherwise against scanned records."""
    with database_session(settings.database_url) as session:
        if coverage.has_register(session):
            rows = coverage.inventory_coverage(session, by=by, since=since)
            # Without batch each item is in one group: the rows add up to the register.
            totals = None
            if "batch" not in by:
                items = sum(row.items for row in rows)
                totals = (items, items - sum(row.remaining_items for row in rows))
            ahead = coverage.projection(session, totals=totals)
            rows_out = [row.as_dict() for row in rows]
            return CoverageAnswer("inventory", rows_out, ahead, coverage.handed_over(session))
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
        return CoverageAnswer("records", rows, None, coverage.handed_over(session))


def write_report(settings: Settings, path: Path) -> None:
    names = {p.key: p.name for p in _catalogue(settings).procedures}
    with database_session(settings.database_url) as session:
        data = collect_report_data(session, names)
    path.write_text(render_report(data), encoding="utf-8")
