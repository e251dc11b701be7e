"""The questions behind the auditors' HTML report, asked of the records database and
answered as `ReportData`: the report reads from the records, never the other way."""

from __future__ import annotations

import datetime as dt
from itertools import accumulate
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sohoa.records import audit, coverage, queries
from sohoa.report.data import Bar, Count, DayPoint, MissingDossier, ReportData, Verification
from sohoa.report.reasons import reason_label

if TYPE_CHECKING:  # the session is the caller's: the report itself sends no SQL
    from sqlalchemy.orm import Session

MISSING_SHOWN = 200  # missing dossiers listed by name; the count is always complete
UTC = ZoneInfo("UTC")


def collect_report_data(
    session: Session,
    procedure_names: dict[str, str] | None = None,
    now: dt.datetime | None = None,
    zone: ZoneInfo = UTC,
) -> ReportData:
    """Everything the report shows. `procedure_names` maps catalogue keys to the names a
    reader knows (Đăng ký khai sinh); keys without a name are shown as they are.

    Coverage is measured against the register when one has been imported, otherwise
    against the records scanned so far (as `sohoa coverage` does). The burn-up counts
    calendar days in `zone`.
    """
    now = now or dt.datetime.now(dt.UTC)
    names = procedure_names or {}
    register = coverage.has_register(session)
    parts = (
        _from_register(session, names, now, zone)
        if register
        else _from_records(session, names, zone)
    )
    return ReportData(
        generated_at=now,
        timezone=zone.key,
        failures=tuple(_failures(session)),
        reviews=tuple(_reviews(session, names)),
        verification=verification_status(session),
        **_test_signed(session),
        **parts,
    )


TEST_SIGNED_LISTED = 50


def _test_signed(session: Session) -> dict:
    total, first = audit.test_signed(session, TEST_SIGNED_LISTED)
    return {"test_signed_total": total, "test_signed": tuple(first)}


def _from_register(
    session: Session, names: dict[str, str], now: dt.datetime, zone: ZoneInfo
) -> dict:
    [total] = coverage.inventory_coverage(session)
    totals = (total.items, total.items - total.remaining_items)
    ahead = coverage.projection(session, now=now, totals=totals)
    return {
        "basis": "inventory",
        "items": total.items,
        "digitized": total.digitized,
        "pages_expected": total.pages_expected,
        "pages_digitized": total.pages_digitized,
        "burnup": _burnup(coverage.digitized_per_day(session, zone)),
        "by_procedure": _bars(session, "procedure", names),
        "by_unit": _bars(session, "unit", {}),
        "by_year": _bars(session, "year", {}),
        "missing": tuple(_missing(session)),
        "missing_total": audit.unscanned_count(session),
        "per_day": ahead.per_day,
        "projected_completion": ahead.projected_completion,
    }


def _bars(session: Session, dimension: str, names: dict[str, str]) -> tuple[Bar, ...]:
    return tuple(
        Bar(
            key="" if row.group[0] is None else str(row.group[0]),
            label=names.get(str(row.group[0]), row.labels[0]),
            items=row.items,
            digitized=row.digitized,
        )
        for row in coverage.inventory_coverage(session, by=(dimension,))
    )


def _from_records(session: Session, names: dict[str, str], zone: ZoneInfo) -> dict:
    """Without a register the denominator is the records known (duplicates left out)."""
    [total] = queries.coverage(session) or [queries.CoverageRow((), 0, 0, 0)]
    # Records are the items here: one point per archived record, on its archiving day.
    per_day = audit.archived_per_day(session, zone)
    return {
        "basis": "records",
        "items": total.registered,
        "digitized": total.digitized,
        "pages_expected": 0,
        "pages_digitized": total.pages,
        "burnup": _burnup(per_day),
        "by_procedure": tuple(
            Bar(row.group[0], names.get(row.group[0], row.group[0]), row.registered, row.digitized)
            for row in queries.coverage(session, by=("procedure",))
        ),
        "by_unit": (),
        "per_day": None,
        "projected_completion": None,
    }


def _burnup(per_day: list[tuple[dt.date, int]]) -> tuple[DayPoint, ...]:
    days = [day for day, _n in per_day]
    totals = accumulate(n for _day, n in per_day)
    return tuple(DayPoint(day, total) for day, total in zip(days, totals, strict=True))


def _failures(session: Session) -> list[Count]:
    return [Count(code, reason_label(code), n) for code, n in audit.failures_by_reason(session)]


def _missing(session: Session) -> list[MissingDossier]:
    return [
        MissingDossier(item.code, item.title, item.unit, item.year, item.location)
        for item in audit.unscanned_items(session, MISSING_SHOWN)
    ]


def _reviews(session: Session, names: dict[str, str]) -> list[Count]:
    return [
        Count(key, names.get(key, key or queries.UNCLASSIFIED), n)
        for key, n in audit.reviews_by_procedure(session)
    ]


def verification_status(session: Session) -> Verification:
    """Archived records by the outcome of their latest `verify` event (or none)."""
    counts = audit.latest_verify_outcomes(session)
    never = counts.pop(None, 0)
    ok = counts.pop("ok", 0)
    # Any other outcome (failed, or a future one) means the file could not be confirmed.
    return Verification(ok=ok, failed=sum(counts.values()), never=never)
