"""Per-item digitization summary on inventory_items, and its sums per coverage cell.

Each register item carries, over the records linked to it that have a signed copy
(archived or needs_review): when the first and the last copy were archived, and their pages.
The coverage cells (`CoverageCell`) sum the items per (procedure, unit, year). Coverage then
adds up a few thousand cells, and `--since`, the projection and the burn-up read
inventory_items alone through covering indexes, instead of joining 10^6 items to 10^6
records (migration 0003).

An item's summary is recomputed from its records, never adjusted by increments, so a
refresh is always safe to repeat; its cell moves by the difference the refresh made. Every
write that changes a record's state, archiving time, pages or link must refresh the items
involved: `store` does it for state changes, `inventory` for links and imports. Code that
writes records or items any other way calls `refresh_items` or `refresh_all` itself.

Lock order on PostgreSQL, the same in every writer: records, then items, then cells (in key
order), so concurrent drivers and `sohoa link` wait for each other but never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sohoa.records.models import ARCHIVED_STATES, CoverageCell, InventoryItem, Record

# Items per statement: well under the bound-parameter limits of SQLite and PostgreSQL.
CHUNK = 5_000
NO_YEAR = 0  # a cell's year when the register gives none
CELL_SUMS = ("items", "digitized", "expected_pages", "digitized_pages", "remaining_pages")
CellKey = tuple[str, str, int]


def _summary_values() -> dict[str, Any]:
    """The summary columns as correlated subqueries over the item's signed copies."""
    signed = and_(Record.inventory_item_id == InventoryItem.id, Record.state.in_(ARCHIVED_STATES))
    return {
        "first_digitized_at": select(func.min(Record.archived_at)).where(signed).scalar_subquery(),
        "last_digitized_at": select(func.max(Record.archived_at)).where(signed).scalar_subquery(),
        "digitized_pages": select(func.coalesce(func.sum(Record.page_count), 0))
        .where(signed)
        .scalar_subquery(),
    }


def _cell_columns() -> tuple[Any, ...]:
    """Per item: its cell key, then what it adds to each of CELL_SUMS."""
    item = InventoryItem
    done = item.first_digitized_at.is_not(None)
    expected = func.coalesce(item.expected_pages, 0)
    return (
        item.procedure,
        item.unit,
        func.coalesce(item.year, NO_YEAR),
        literal(1),
        case((done, 1), else_=0),
        expected,
        item.digitized_pages,
        case((done, 0), else_=expected),
    )


def _shares(session: Session, ids: Sequence[int]) -> dict[CellKey, list[int]]:
    """What these items add to their cells, summed per cell."""
    sums: dict[CellKey, list[int]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(*_cell_columns()).where(InventoryItem.id.in_(ids[start : start + CHUNK]))
        for procedure, unit, year, *values in session.execute(query):
            total = sums.setdefault((procedure, unit, int(year)), [0] * len(CELL_SUMS))
            for n, value in enumerate(values):
                total[n] += int(value)
    return sums


def _add_to_cells(session: Session, deltas: dict[CellKey, list[int]]) -> None:
    """Add the deltas to their cells (made when missing), in key order."""
    rows = [
        {"procedure": p, "unit": u, "year": y, **dict(zip(CELL_SUMS, values, strict=True))}
        for (p, u, y), values in sorted(deltas.items())
        if any(values)
    ]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(CoverageCell)
    statement = statement.on_conflict_do_update(
        index_elements=["procedure", "unit", "year"],
        set_={name: getattr(CoverageCell, name) + statement.excluded[name] for name in CELL_SUMS},
    )
    session.execute(statement, rows)


def refresh_items(session: Session, item_ids: Iterable[int | None]) -> int:
    """Recompute the summary of these items (None entries are ignored) and move their cells
    by the difference; returns how many items."""
    ids = sorted({i for i in item_ids if i is not None})
    if not ids:
        return 0
    session.flush()  # the subqueries must see the records as this transaction changed them
    before = _shares(session, ids)
    values = _summary_values()
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(InventoryItem)
            .where(InventoryItem.id.in_(ids[start : start + CHUNK]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    deltas = _shares(session, ids)
    for key, old in before.items():
        new = deltas.setdefault(key, [0] * len(CELL_SUMS))
        deltas[key] = [n - o for n, o in zip(new, old, strict=True)]
    _add_to_cells(session, deltas)
    _expire_items(session, ids)
    return len(ids)


def _expire_items(session: Session, ids: Iterable[int]) -> None:
    """Loaded items hold the old values; the next access reloads them."""
    wanted = set(ids)
    for item in session.identity_map.values():
        if isinstance(item, InventoryItem) and item.id in wanted:
            session.expire(item, ["first_digitized_at", "last_digitized_at", "digitized_pages"])


def rebuild_cells(session: Session) -> None:
    """Sum every item into the cells again: after an import, or a repair."""
    session.flush()
    item = InventoryItem
    columns = _cell_columns()
    key = columns[:3]
    sums = [func.sum(column) for column in columns[3:]]
    session.execute(delete(CoverageCell))
    session.execute(
        insert(CoverageCell).from_select(
            ["procedure", "unit", "year", *CELL_SUMS],
            select(*key, *sums).select_from(item).group_by(*key),
        )
    )


def refresh_all(session: Session) -> None:
    """Recompute every item's summary and every cell: repair after writes that bypassed
    `store`, `inventory` and this module."""
    session.flush()
    session.execute(
        update(InventoryItem)
        .values(**_summary_values())
        .execution_options(synchronize_session=False)
    )
    rebuild_cells(session)
    session.expire_all()
