"""The questions behind the auditors' HTML report, answered as `sohoa.report.ReportData`."""

from __future__ import annotations

import datetime as dt
from itertools import accumulate

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sohoa.records import coverage, queries
from sohoa.records.models import ARCHIVED_STATES, Event, Record, RecordState
from sohoa.report.data import Bar, Count, DayPoint, ReportData, Verification


def collect_report_data(
    session: Session,
    procedure_names: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> ReportData:
    """Everything the report shows. `procedure_names` maps catalogue keys to the names a
    reader knows (Đăng ký khai sinh); keys without a name are shown as they are.

    Coverage is measured against the register when one has been imported, otherwise
    against the records scanned so far (as `sohoa coverage` does).
    """
    now = now or dt.datetime.now(dt.UTC)
    names = procedure_names or {}
    register = coverage.has_register(session)
    parts = _from_register(session, names, now) if register else _from_records(session, names)
    return ReportData(
        generated_at=now,
        failures=tuple(_failures(session)),
        reviews=tuple(_reviews(session, names)),
        verification=verification_status(session),
        **_test_signed(session),
        **parts,
    )


TEST_SIGNED_LISTED = 50


def _test_signed(session: Session) -> dict:
    signed_by_test = Record.meta["signed_by"]["test_certificate"].as_boolean().is_(True)
    archived = Record.state.in_(ARCHIVED_STATES) & signed_by_test
    total = session.scalar(select(func.count()).select_from(Record).where(archived)) or 0
    first = session.execute(
        select(Record.uid, Record.output_path)
        .where(archived)
        .order_by(Record.id)
        .limit(TEST_SIGNED_LISTED)
    )
    return {"test_signed_total": total, "test_signed": tuple((u, p or "") for u, p in first)}


def _from_register(session: Session, names: dict[str, str], now: dt.datetime) -> dict:
    [total] = coverage.inventory_coverage(session)
    totals = (total.items, total.items - total.remaining_items)
    ahead = coverage.projection(session, now=now, totals=totals)
    return {
        "basis": "inventory",
        "items": total.items,
        "digitized": total.digitized,
        "pages_expected": total.pages_expected,
        "pages_digitized": total.pages_digitized,
        "burnup": _burnup(coverage.digitized_per_day(session)),
        "by_procedure": _bars(session, "procedure", names),
        "by_unit": _bars(session, "unit", {}),
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


def _from_records(session: Session, names: dict[str, str]) -> dict:
    """Without a register the denominator is the records known (duplicates left out)."""
    [total] = queries.coverage(session) or [queries.CoverageRow((), 0, 0, 0)]
    # Records are the items here: one point per archived record, on its archiving day.
    day = coverage.utc_day(session, Record.archived_at).label("day")
    per_day = session.execute(
        select(day, func.count())
        .where(Record.state.in_(ARCHIVED_STATES), Record.archived_at.is_not(None))
        .group_by(day)
    )
    return {
        "basis": "records",
        "items": total.registered,
        "digitized": total.digitized,
        "pages_expected": 0,
        "pages_digitized": total.pages,
        "burnup": _burnup(sorted((coverage.as_date(d), int(n)) for d, n in per_day)),
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
    query = (
        select(Record.error_reason, func.count())
        .where(Record.state == RecordState.FAILED)
        .group_by(Record.error_reason)
    )
    rows = [(reason or "error", int(n)) for reason, n in session.execute(query)]
    return [Count(reason, reason, n) for reason, n in sorted(rows, key=lambda r: (-r[1], r[0]))]


def _reviews(session: Session, names: dict[str, str]) -> list[Count]:
    query = (
        select(Record.procedure, func.count())
        .where(Record.state == RecordState.NEEDS_REVIEW)
        .group_by(Record.procedure)
    )
    rows = [(key or "", int(n)) for key, n in session.execute(query)]
    return [
        Count(key, names.get(key, key or queries.UNCLASSIFIED), n)
        for key, n in sorted(rows, key=lambda r: (-r[1], r[0]))
    ]


def verification_status(session: Session) -> Verification:
    """Archived records by the outcome of their latest `verify` event (or none)."""
    latest = (
        select(Event.record_id, func.max(Event.id).label("event_id"))
        .where(Event.kind == "verify")
        .group_by(Event.record_id)
        .subquery("latest")
    )
    query = (
        select(Event.outcome, func.count())
        .select_from(Record)
        .outerjoin(latest, latest.c.record_id == Record.id)
        .outerjoin(Event, Event.id == latest.c.event_id)
        .where(Record.state.in_(ARCHIVED_STATES))
        .group_by(Event.outcome)
    )
    counts = {outcome: int(n) for outcome, n in session.execute(query)}
    never = counts.pop(None, 0)
    ok = counts.pop("ok", 0)
    # Any other outcome (failed, or a future one) means the file could not be confirmed.
    return Verification(ok=ok, failed=sum(counts.values()), never=never)
