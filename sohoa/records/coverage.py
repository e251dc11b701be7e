"""Coverage against the paper register: how many registered dossiers have a signed copy.

An inventory item counts as digitized when a record linked to it (see
`inventory.link_records`) is archived or needs_review: both have a signed PDF/A on disk.
Each question is one SQL statement that groups in the database, so it stays fast for a
register of 10^6 dossiers (indexes of migration 0002). `queries.coverage` remains the
records-only measure for archives that have imported no register.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sohoa.errors import SohoaError
from sohoa.records.models import ARCHIVED_STATES, Batch, InventoryItem, Record, RecordState

DIMENSIONS = ("procedure", "unit", "year", "batch")
# How an empty group value is shown: no procedure / unit / year in the register, no scan.
BLANK_LABELS = {
    "procedure": "(chưa phân loại)",
    "unit": "(không rõ đơn vị)",
    "year": "(không rõ năm)",
    "batch": "(chưa quét)",
}
PROJECTION_WINDOW_DAYS = 7


@dataclass(frozen=True)
class CoverageRow:
    by: tuple[str, ...]  # dimension names, in the order asked
    group: tuple[str | int | None, ...]  # their values; None (or "") where the register is blank
    items: int  # registered dossiers in the group
    digitized: int  # of them, with a signed copy (archived at or after `since`, if given)
    pages_expected: int  # sum of expected_pages (items without it add nothing)
    pages_digitized: int  # pages of the signed copies counted in `digitized`
    remaining_items: int  # items with no signed copy at all (whatever `since`)
    remaining_pages: int  # expected pages of those items

    @property
    def percent(self) -> float:
        return 100.0 * self.digitized / self.items if self.items else 0.0

    @property
    def pages_percent(self) -> float | None:
        if not self.pages_expected:
            return None
        return 100.0 * self.pages_digitized / self.pages_expected

    @property
    def labels(self) -> tuple[str, ...]:
        """The group values as text, blanks named (for tables)."""
        return tuple(
            BLANK_LABELS[name] if value is None or value == "" else str(value)
            for name, value in zip(self.by, self.group, strict=True)
        )

    def as_dict(self) -> dict[str, Any]:
        """One flat dict for JSON and CSV output."""
        return {
            **dict(zip(self.by, self.group, strict=True)),
            "items": self.items,
            "digitized": self.digitized,
            "percent": round(self.percent, 1),
            "pages_expected": self.pages_expected,
            "pages_digitized": self.pages_digitized,
            "remaining_items": self.remaining_items,
            "remaining_pages": self.remaining_pages,
        }


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _signed(since: dt.date | None) -> ColumnElement[bool]:
    """A linked record that counts as a signed copy (archived since `since`)."""
    condition = Record.state.in_(ARCHIVED_STATES)
    if since is not None:
        condition = and_(condition, Record.archived_at >= start_of_day(since))
    return condition


def _per_item(by: tuple[str, ...], since: dt.date | None):
    """One row per inventory item (per item and batch when grouping by batch) with flags.

    Duplicates are left out of the join: they are copies, the original is linked too.
    """
    batch = "batch" in by
    done_ever = func.max(case((Record.state.in_(ARCHIVED_STATES), 1), else_=0))
    done = func.max(case((_signed(since), 1), else_=0))
    pages = func.sum(case((_signed(since), func.coalesce(Record.page_count, 0)), else_=0))
    item_columns = (
        InventoryItem.id,
        InventoryItem.procedure,
        InventoryItem.unit,
        InventoryItem.year,
        InventoryItem.expected_pages,
    )
    query = select(
        *item_columns,
        *((Batch.name.label("batch"),) if batch else ()),
        done_ever.label("done_ever"),
        done.label("done"),
        func.coalesce(pages, 0).label("pages"),
    ).outerjoin(
        Record,
        and_(Record.inventory_item_id == InventoryItem.id, Record.state != RecordState.DUPLICATE),
    )
    group = list(item_columns)
    if batch:
        query = query.outerjoin(Batch, Batch.id == Record.batch_id)
        group.append(Batch.name)
    return query.group_by(*group).subquery("per_item")


def inventory_coverage(
    session: Session, by: tuple[str, ...] = (), since: dt.date | None = None
) -> list[CoverageRow]:
    """Digitized / registered dossiers, overall (by=()) or grouped by the named dimensions.

    `by` names any of procedure, unit, year, batch. An item scanned in two batches counts
    in both batch groups; items never scanned form the batch group None. With `since`,
    only copies archived on or after that day (UTC) count as digitized.
    """
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown or len(set(by)) != len(by):
        raise SohoaError(
            f"cannot group coverage by {', '.join(unknown) or 'a dimension twice'}; "
            f"choose from {', '.join(DIMENSIONS)}"
        )
    item = _per_item(by, since)
    dims = [item.c[name] for name in by]
    not_done = item.c.done_ever == 0
    query = select(
        *dims,
        func.count(),
        func.coalesce(func.sum(item.c.done), 0),
        func.coalesce(func.sum(item.c.expected_pages), 0),
        func.coalesce(func.sum(item.c.pages), 0),
        func.coalesce(func.sum(case((not_done, 1), else_=0)), 0),
        func.coalesce(func.sum(case((not_done, item.c.expected_pages), else_=0)), 0),
    ).group_by(*dims)
    rows = [
        CoverageRow(by, tuple(row[: len(by)]), *(int(n) for n in row[len(by) :]))
        for row in session.execute(query)
    ]
    if not by and rows and rows[0].items == 0:
        return [CoverageRow((), (), 0, 0, 0, 0, 0, 0)]
    # Sorted here, not in SQL: the backends disagree on where NULL sorts.
    return sorted(rows, key=lambda r: tuple((v is None or v == "", str(v)) for v in r.group))


@dataclass(frozen=True)
class Projection:
    as_of: dt.datetime
    items: int  # registered dossiers
    digitized: int  # with a signed copy
    window_days: int
    digitized_in_window: int  # items first digitized in the last `window_days` days
    projected_completion: dt.date | None  # None when nothing was digitized in the window

    @property
    def remaining(self) -> int:
        return self.items - self.digitized

    @property
    def per_day(self) -> float:
        return self.digitized_in_window / self.window_days


def projection(
    session: Session,
    now: dt.datetime | None = None,
    window_days: int = PROJECTION_WINDOW_DAYS,
) -> Projection:
    """Recent throughput (items first digitized per day over the last `window_days` days up
    to `now`) and the day the remaining items would be done at that pace.

    The window ends now, not at the last archiving: a team that stopped a month ago has no
    throughput, and a date projected from old work would mislead. When nothing remains the
    projected completion is today.
    """
    now = now or dt.datetime.now(dt.UTC)
    first = _first_digitized().subquery("first")
    start = now - dt.timedelta(days=window_days)
    in_window = case((and_(first.c.first >= start, first.c.first <= now), 1), else_=0)
    items, digitized, recent = session.execute(
        select(func.count(), func.count(first.c.first), func.coalesce(func.sum(in_window), 0))
    ).one()
    remaining = int(items) - int(digitized)
    if remaining <= 0:
        completion: dt.date | None = now.date()
    elif recent:
        completion = (now + dt.timedelta(days=math.ceil(remaining * window_days / recent))).date()
    else:
        completion = None
    return Projection(now, int(items), int(digitized), window_days, int(recent), completion)


def _first_digitized():
    """Per inventory item, when its first signed copy was archived (NULL when none is)."""
    first = func.min(case((Record.state.in_(ARCHIVED_STATES), Record.archived_at), else_=None))
    return (
        select(InventoryItem.id, first.label("first"))
        .outerjoin(Record, Record.inventory_item_id == InventoryItem.id)
        .group_by(InventoryItem.id)
    )


def utc_day(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column)  # stored as "YYYY-MM-DD HH:MM:SS" in UTC
    return cast(func.timezone("UTC", column), Date)


def as_date(value: dt.date | str) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def digitized_per_day(session: Session) -> list[tuple[dt.date, int]]:
    """(UTC day, inventory items first digitized that day), in day order: the burn-up data."""
    first = _first_digitized().subquery("first")
    day = utc_day(session, first.c.first).label("day")
    query = select(day, func.count()).where(first.c.first.is_not(None)).group_by(day)
    return sorted((as_date(d), int(n)) for d, n in session.execute(query))
