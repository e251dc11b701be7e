"""What auditors ask of the database: the paper register, links, coverage, the HTML report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.records import coverage, database_session, inventory, queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sohoa.classify import Catalogue
    from sohoa.pipeline.register import RegisterReport
    from sohoa.pipeline.run_state import Reporter

# Imported where used: coverage must not load pyHanko and pikepdf (the register step does)
# nor the classifier.


def _catalogue(settings: Settings) -> Catalogue:
    from sohoa.classify import load_catalogue

    return load_catalogue(list(settings.classify.catalogue))


@dataclass(frozen=True)
class RegisterImport:
    rows: inventory.ImportReport
    links: inventory.LinkReport
    applied: RegisterReport  # archived files renamed and re-signed with the register's fields


@dataclass(frozen=True)
class LinkOutcome:
    links: inventory.LinkReport
    applied: RegisterReport


def import_register(
    settings: Settings, path: Path, reporter: Reporter | None = None
) -> RegisterImport:
    """Load the paper register (upsert by dossier code), link scanned records to it, and
    rename and re-sign the archived files of the records it now names."""
    catalogue = _catalogue(settings)
    known = {p.key: p.key for p in catalogue.procedures}
    known |= {p.code: p.key for p in catalogue.procedures if p.code}
    with database_session(settings.database_url) as session:
        report = inventory.import_inventory(session, path, known)
    # A header without `code` imports nothing: that is the user's mistake, not row problems.
    unusable = next((p for p in report.problems if (p.line, p.column) == (1, "code")), None)
    if unusable is not None:
        raise SohoaError(f"{path}: {unusable.message}; nothing was imported")
    # Apart, so that linking takes its locks in the order a running batch does (records,
    # items, coverage cells) and never holds the cells while it waits for a record.
    with database_session(settings.database_url) as session:
        links = inventory.link_records(session)
    from sohoa.pipeline.register import apply_register

    return RegisterImport(report, links, apply_register(settings, reporter=reporter))


def link(
    settings: Settings, mapping: Path | None = None, reporter: Reporter | None = None
) -> LinkOutcome:
    """Link records to the register (explicitly by the `mapping` CSV first, if given), then
    rename and re-sign the archived files whose link changed."""
    with database_session(settings.database_url) as session:
        problems: list[inventory.Problem] = []
        mapped = inventory.read_mapping(session, mapping, problems) if mapping else {}
        report = inventory.link_records(session, mapped)
    report.problems = problems
    from sohoa.pipeline.register import apply_register

    return LinkOutcome(report, apply_register(settings, reporter=reporter))


INVENTORY_COLUMNS = ("items", "digitized", "percent", "pages_expected", "pages_digitized",
                     "remaining_items", "remaining_pages")  # fmt: skip
RECORDS_COLUMNS = ("registered", "digitized", "percent", "pages")


@dataclass(frozen=True)
class CoverageAnswer:
    basis: str  # "inventory" (registered dossiers) or "records" (no register imported)
    columns: tuple[str, ...]  # of each row, also when there is none
    rows: list[dict]
    projection: coverage.Projection | None
    handed_over: int = 0  # dossiers in completed transfer packages (sohoa package)


def coverage_report(
    settings: Settings, by: tuple[str, ...], since: dt.date | None
) -> CoverageAnswer:
    """Against the paper register when one is imported, otherwise against scanned records."""
    with database_session(settings.database_url) as session:
        return coverage_answer(session, by, since)


def coverage_answer(
    session: Session, by: tuple[str, ...], since: dt.date | None
) -> CoverageAnswer:
    """`coverage_report` in the caller's session (`sohoa serve` keeps its database open)."""
    if coverage.has_register(session):
        rows = coverage.inventory_coverage(session, by=by, since=since)
        # Without batch each item is in one group: the rows add up to the register.
        totals = None
        if "batch" not in by:
            items = sum(row.items for row in rows)
            totals = (items, items - sum(row.remaining_items for row in rows))
        ahead = coverage.projection(session, totals=totals)
        columns = (*by, *INVENTORY_COLUMNS)
        rows_out = [row.as_dict() for row in rows]
        return CoverageAnswer(
            "inventory", columns, rows_out, ahead, coverage.handed_over(session)
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
    return CoverageAnswer(
        "records", (*by, *RECORDS_COLUMNS), rows, None, coverage.handed_over(session)
    )


def coverage_json(answer: CoverageAnswer) -> dict:
    """`sohoa coverage --format json`: {basis, rows, projection, handed_over} (also the web
    API's /api/coverage, so both give the same numbers)."""
    ahead = answer.projection
    projection = ahead and {
        "as_of": ahead.as_of.isoformat(),
        "items": ahead.items,
        "digitized": ahead.digitized,
        "remaining": ahead.remaining,
        "window_days": ahead.window_days,
        "digitized_in_window": ahead.digitized_in_window,
        "per_day": round(ahead.per_day, 2),
        "projected_completion": ahead.projected_completion
        and ahead.projected_completion.isoformat(),
    }
    return {"basis": answer.basis, "rows": answer.rows, "projection": projection,
            "handed_over": answer.handed_over}  # fmt: skip


def display_zone(settings: Settings) -> ZoneInfo:
    """The `timezone` setting: where the reader is, for the days and times of reports."""
    name = settings.timezone
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SohoaError(
            f"timezone {name!r} is not a known time zone: use an IANA name such as "
            "Asia/Ho_Chi_Minh or UTC (Debian package tzdata)"
        ) from exc


def write_report(settings: Settings, path: Path) -> None:
    from sohoa.report import collect_report_data, render_report

    names = {p.key: p.name for p in _catalogue(settings).procedures}
    zone = display_zone(settings)
    with database_session(settings.database_url) as session:
        data = collect_report_data(session, names, zone=zone)
    path.write_text(render_report(data), encoding="utf-8")
