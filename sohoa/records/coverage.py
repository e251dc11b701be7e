"""Coverage against the paper register: how many registered dossiers have a signed copy.

An inventory item counts as digitized when a record linked to it (see
`inventory.link_records`) is archived or needs_review: both have a signed PDF/A on disk.
Each question is one SQL statement. Without `batch` or `--since` it adds up the coverage
cells (`summary`: the register summed per procedure, unit and year, a few thousand rows
however large the register); with `--since` it groups inventory_items, each carrying the
summary of its signed copies, through a covering index; with `batch` it joins the records
(migration 0003). `queries.coverage` remains the records-only measure for archives that
have imported no register.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, and_, case, cast, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sohoa.errors import SohoaError
from sohoa.records.models import (
    ARCHIVED_STATES,
    Batch,
    CoverageCell,
    InventoryItem,
    Record,
    RecordState,
    TransferItem,
    TransferPackage,
)
from sohoa.records.summary import NO_YEAR

DIMENSIONS = ("procedure", "unit", "year", "batch")
# How an empty group value is shown: no procedure / unit / year in the register, no scan.
BLANK_LABELS = {
    "procedure": "(chưa phân loại)",
    "unit": "(không rõ đơn vị)",
    "year": "(không rõ năm)",
    "batch": "(chưa quét)",
}
PROJECTION_WINDOW_DAYS = 7
# The leading columns of the covering index on inventory_items (migration 0003).
INDEX_ORDERS = (("procedure", "unit", "year"),)


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


def _without_jit(session: Session) -> None:
    """PostgreSQL compiles a plan whose cost estimate is high (any scan of 10^6 items) to
    machine code first, which takes 0.5-1.5 s: longer than the scan. Off for this
    transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _index_order(by: tuple[str, ...]) -> tuple[str, ...] | None:
    """The dimensions in the order of a covering index that starts with them, if one does:
    SQLite then groups while it reads the index, without sorting."""
    for columns in INDEX_ORDERS:
        if set(by) == set(columns[: len(by)]):
            return columns[: len(by)]
    return None


def has_register(session: Session) -> bool:
    """Whether a paper register has been imported (coverage is measured against it then)."""
    return session.scalar(select(InventoryItem.id).limit(1)) is not None


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _signed(since: dt.date | None) -> ColumnElement[bool]:
    """A linked record that counts as a signed copy (archived since `since`)."""
    condition = Record.state.in_(ARCHIVED_STATES)
    if since is not None:
        condition = and_(condition, Record.archived_at >= start_of_day(since))
    return condition


def _check_dimensions(by: tuple[str, ...]) -> None:
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown or len(set(by)) != len(by):
        raise SohoaError(
            f"cannot group coverage by {', '.join(unknown) or 'a dimension twice'}; "
            f"choose from {', '.join(DIMENSIONS)}"
        )


def _from_cells(by: tuple[str, ...]) -> Select:
    """Grouped coverage from the coverage cells: a few thousand rows, whatever the size of
    the register. Columns as `_grouped` gives them."""
    cell = CoverageCell
    no_year = case((cell.year == NO_YEAR, None), else_=cell.year)
    dims = [no_year if name == "year" else getattr(cell, name) for name in by]
    digitized = func.coalesce(func.sum(cell.digitized), 0)
    return select(
        *dims,
        func.coalesce(func.sum(cell.items), 0),
        digitized,
        digitized,
        func.coalesce(func.sum(cell.expected_pages), 0),
        func.coalesce(func.sum(cell.digitized_pages), 0),
        func.coalesce(func.sum(cell.remaining_pages), 0),
    ).group_by(*[getattr(cell, name) for name in by])


def _from_summary(by: tuple[str, ...], since: dt.date | None) -> Select:
    """Grouped coverage from inventory_items alone, through its per-item summary (migration
    0003) and covering index: no join. Coverage --since uses it; without `since` it gives
    what the cells hold (the tests compare them)."""
    item = InventoryItem
    dims = [getattr(item, name) for name in by]
    order = [getattr(item, name) for name in _index_order(by) or by]
    if since is None:
        digitized = func.count(item.first_digitized_at)
        pages = func.sum(item.digitized_pages)
    else:
        start = start_of_day(since)
        digitized = func.sum(case((item.last_digitized_at >= start, 1), else_=0))
        # Copies all since `start`, or none: the summary says; only an item with copies on
        # both sides of `start` (rare: scanned twice) asks its records.
        straddling = (
            select(func.coalesce(func.sum(Record.page_count), 0))
            .where(Record.inventory_item_id == item.id, _signed(since))
            .scalar_subquery()
        )
        pages = func.sum(
            case(
                (item.first_digitized_at >= start, item.digitized_pages),
                (item.last_digitized_at >= start, straddling),
                else_=0,
            )
        )
    query = _grouped(dims, item.first_digitized_at, digitized, pages, item.expected_pages)
    return query.group_by(*order)  # in the index's order, whatever the order of `by`


def _by_batch(by: tuple[str, ...], since: dt.date | None) -> Select:
    """Grouped coverage with batch among the dimensions: per item and batch from the records
    (a join, so slower than `_from_summary` at archive scale). Duplicates are left out:
    they are copies, and the original is linked too."""
    done = func.max(case((_signed(since), 1), else_=0))
    pages = func.sum(case((_signed(since), func.coalesce(Record.page_count, 0)), else_=0))
    item = InventoryItem
    # Grouped by the item's key (the other item columns depend on it, which both backends
    # accept) and the batch id: no sort over the item's text columns, names joined after.
    per_item = (
        select(item.id, item.procedure, item.unit, item.year, item.expected_pages,
               item.first_digitized_at, Record.batch_id, done.label("done"),
               func.coalesce(pages, 0).label("pages"))
        .outerjoin(Record, and_(Record.inventory_item_id == item.id,
                                Record.state != RecordState.DUPLICATE))
        .group_by(item.id, Record.batch_id)
        .subquery("per_item")
    )  # fmt: skip
    columns = {name: per_item.c[name] for name in ("procedure", "unit", "year")}
    dims = [Batch.name if name == "batch" else columns[name] for name in by]
    digitized, pages = func.sum(per_item.c.done), func.sum(per_item.c.pages)
    first = per_item.c.first_digitized_at  # the item's first copy, in whichever batch
    query = _grouped(dims, first, digitized, pages, per_item.c.expected_pages)
    return query.group_by(*dims).select_from(
        per_item.outerjoin(Batch, Batch.id == per_item.c.batch_id)
    )


def _grouped(
    dims: list[Any],
    first: ColumnElement[Any],
    digitized: ColumnElement[Any],
    pages: ColumnElement[Any],
    expected: ColumnElement[Any],
) -> Select:
    """Group values, then: items, items ever digitized, digitized (since), expected pages,
    digitized pages, expected pages of the items never digitized; the caller groups. Few
    aggregates, on purpose: at 10^6 items each one costs SQLite about 0.03 CPU-s."""
    return select(
        *dims,
        func.count(),
        func.count(first),
        func.coalesce(digitized, 0),
        func.coalesce(func.sum(expected), 0),
        func.coalesce(pages, 0),
        func.coalesce(func.sum(case((first.is_(None), expected))), 0),
    )


def _row(by: tuple[str, ...], row: Any) -> CoverageRow:
    n = len(by)  # thousands of rows: plain indexing, no generator
    items, ever, digitized = int(row[n]), int(row[n + 1]), int(row[n + 2])
    expected, pages, remaining_pages = int(row[n + 3]), int(row[n + 4]), int(row[n + 5])
    return CoverageRow(
        by, tuple(row[:n]), items, digitized, expected, pages, items - ever, remaining_pages
    )


def _group_order(row: CoverageRow) -> tuple:
    """Blank group values last, then as text: the backends disagree on where NULL sorts."""
    return tuple([(v is None or v == "", str(v)) for v in row.group])


def inventory_coverage(
    session: Session, by: tuple[str, ...] = (), since: dt.date | None = None
) -> list[CoverageRow]:
    """Digitized / registered dossiers, overall (by=()) or grouped by the named dimensions.

    `by` names any of procedure, unit, year, batch. An item scanned in two batches counts
    in both batch groups; items never scanned form the batch group None. With `since`,
    only copies archived on or after that day (UTC) count as digitized. Without batch the
    answer comes from the coverage cells or the per-item summary; with batch it joins the
    records.
    """
    _check_dimensions(by)
    _without_jit(session)
    # Core rows (session.connection()): thousands of them, no ORM processing needed.
    if "batch" in by:
        found = session.connection().execute(_by_batch(by, since)).all()
    elif since is None:
        found = session.connection().execute(_from_cells(by)).all()
    else:
        found = session.connection().execute(_from_summary(by, since)).all()
    rows = [_row(by, row) for row in found]
    if not by and rows and rows[0].items == 0:
        return [CoverageRow((), (), 0, 0, 0, 0, 0, 0)]
    return sorted(rows, key=_group_order)  # here, not in SQL: see _group_order


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
    totals: tuple[int, int] | None = None,
) -> Projection:
    """Recent throughput (items first digitized per day over the last `window_days` days up
    to `now`) and the day the remaining items would be done at that pace.

    The window ends now, not at the last archiving: a team that stopped a month ago has no
    throughput, and a date projected from old work would mislead. When nothing remains the
    projected completion is today. `totals` (items, digitized), when the caller has them
    from `inventory_coverage`, spares counting the register again.
    """
    now = now or dt.datetime.now(dt.UTC)
    _without_jit(session)
    first = InventoryItem.first_digitized_at
    count = select(func.count()).select_from(InventoryItem)
    # Three counts, each an index range or count: cheaper than one pass that tests every row.
    items, digitized = totals or (
        session.scalar(count) or 0,
        session.scalar(count.where(first.is_not(None))) or 0,
    )
    start = now - dt.timedelta(days=window_days)
    recent = session.scalar(count.where(first >= start, first <= now)) or 0
    remaining = int(items) - int(digitized)
    if remaining <= 0:
        completion: dt.date | None = now.date()
    elif recent:
        completion = (now + dt.timedelta(days=math.ceil(remaining * window_days / recent))).date()
    else:
        completion = None
    return Projection(now, int(items), int(digitized), window_days, int(recent), completion)


def utc_day(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column)  # stored as "YYYY-MM-DD HH:MM:SS" in UTC
    return cast(func.timezone("UTC", column), Date)


def utc_hour(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The UTC hour of a timestamp column as text "YYYY-MM-DD HH", on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")


def per_local_day(
    session: Session, column: ColumnElement[Any], zone: ZoneInfo, *where: ColumnElement[bool]
) -> list[tuple[dt.date, int]]:
    """(calendar day in `zone`, rows) for the rows matching `where`, in day order.

    The database counts by UTC hour (at most 24 rows a day, on both backends, whatever time
    zone support the backend has) and the hours are folded into local days here. Zones whose
    offset is not whole hours (Asia/Kolkata) are folded to the hour."""
    hour = utc_hour(session, column).label("hour")
    query = select(hour, func.count()).where(column.is_not(None), *where).group_by(hour)
    days: dict[dt.date, int] = {}
    for text_hour, n in session.execute(query):
        moment = dt.datetime.strptime(text_hour, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)
        day = moment.astimezone(zone).date()
        days[day] = days.get(day, 0) + int(n)
    return sorted(days.items())


def as_date(value: dt.date | str) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def digitized_per_day(session: Session, zone: ZoneInfo | None = None) -> list[tuple[dt.date, int]]:
    """(day, inventory items first digitized that day), in day order: the burn-up data.
    Days are UTC days, or calendar days in `zone`."""
    _without_jit(session)
    first = InventoryItem.first_digitized_at
    if zone is not None:
        return per_local_day(session, first, zone)
    day = utc_day(session, first).label("day")
    query = select(day, func.count()).where(first.is_not(None)).group_by(day)
    return sorted((as_date(d), int(n)) for d, n in session.execute(query))


def handed_over(session: Session) -> int:
    """Dossiers handed over to the historical archive: registered dossiers (or, without a
    register, records) with a copy in a completed transfer package (`sohoa package`)."""
    counted = Record.inventory_item_id if has_register(session) else Record.id
    query = (
        select(func.count(func.distinct(counted)))
        .select_from(TransferItem)
        .join(TransferPackage, TransferPackage.id == TransferItem.package_id)
        .join(Record, Record.id == TransferItem.record_id)
        .where(TransferPackage.state == "complete", TransferItem.included.is_(True))
    )
    return int(session.scalar(query) or 0)
