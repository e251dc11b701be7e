"""Transfer packages in the database (migration 0008): which records a package selects, what
was written for each, and the `transfer` event of every record once the bag is complete.

Records are read in chunks by id (keyset), so nothing here grows with the archive; a run
that stops continues after the last record whose files were recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session, joinedload

from sohoa import __version__
from sohoa.records.models import (
    ARCHIVED_STATES,
    Batch,
    Event,
    InventoryItem,
    Record,
    TransferItem,
    TransferPackage,
    utcnow,
)

WRITING = "writing"
COMPLETE = "complete"
EVENT_CHUNK = 1000


@dataclass(frozen=True)
class Selection:
    """Which archived records a package takes; None: any."""

    batch: str | None = None
    procedure: str | None = None  # catalogue key or national procedure code
    year: int | None = None  # of the paper register's item
    unit: str | None = None  # of the paper register's item

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        chosen = [f"{name} {value}" for name, value in asdict(self).items() if value is not None]
        return "archived records, " + (", ".join(chosen) if chosen else "all")


def _selected(selection: Selection) -> Select:
    query = select(Record).where(Record.state.in_(ARCHIVED_STATES))
    if selection.batch is not None:
        query = query.join(Batch, Batch.id == Record.batch_id).where(Batch.name == selection.batch)
    if selection.procedure is not None:
        wanted = selection.procedure
        query = query.where((Record.procedure == wanted) | (Record.procedure_code == wanted))
    if selection.year is not None or selection.unit is not None:
        query = query.join(InventoryItem, InventoryItem.id == Record.inventory_item_id)
        if selection.year is not None:
            query = query.where(InventoryItem.year == selection.year)
        if selection.unit is not None:
            query = query.where(InventoryItem.unit == selection.unit)
    return query


def selected_chunk(
    session: Session, selection: Selection, after_id: int, limit: int
) -> list[Record]:
    """The next `limit` selected records with an id above `after_id`, with their batch and
    register item loaded."""
    query = (
        _selected(selection)
        .where(Record.id > after_id)
        .order_by(Record.id)
        .limit(limit)
        .options(joinedload(Record.batch))
    )
    return list(session.scalars(query))


def count_selected(session: Session, selection: Selection, after_id: int = 0) -> int:
    query = _selected(selection).where(Record.id > after_id).with_only_columns(func.count())
    return int(session.scalar(query) or 0)


def any_selected(session: Session, selection: Selection) -> bool:
    return session.scalar(_selected(selection).with_only_columns(Record.id).limit(1)) is not None


def find_package(session: Session, target: str) -> TransferPackage | None:
    return session.scalar(select(TransferPackage).where(TransferPackage.target == target))


def start_package(
    session: Session, target: str, identifier: str, selection: Selection
) -> TransferPackage:
    package = TransferPackage(
        identifier=identifier, target=target, selection=selection.as_json(), state=WRITING
    )
    session.add(package)
    session.flush()
    return package


def forget_items(session: Session, package_id: int) -> None:
    """Start a package over (its partial folder is gone)."""
    session.execute(delete(TransferItem).where(TransferItem.package_id == package_id))


def last_record_id(session: Session, package_id: int) -> int:
    """The id of the last record whose files were recorded: a resumed run starts after it."""
    found = session.scalar(
        select(func.max(TransferItem.record_id)).where(TransferItem.package_id == package_id)
    )
    return int(found or 0)


def recorded_uids(session: Session, package_id: int, uids: list[str]) -> set[str]:
    """Those of `uids` (one chunk) whose files the package has recorded."""
    if not uids:
        return set()
    query = (
        select(Record.uid)
        .join(TransferItem, TransferItem.record_id == Record.id)
        .where(TransferItem.package_id == package_id, Record.uid.in_(uids))
    )
    return set(session.scalars(query))


def add_item(
    session: Session,
    package_id: int,
    record_id: int,
    *,
    included: bool,
    reason: str | None,
    files: list[dict[str, Any]],
    row: dict[str, Any],
) -> None:
    session.add(
        TransferItem(
            package_id=package_id,
            record_id=record_id,
            included=included,
            reason=reason,
            files=files,
            row=row,
        )
    )


def _items(session: Session, package_id: int, included: bool) -> Iterator[TransferItem]:
    query = (
        select(TransferItem)
        .where(TransferItem.package_id == package_id, TransferItem.included.is_(included))
        .order_by(TransferItem.record_id)
        .execution_options(yield_per=EVENT_CHUNK)
    )
    for item in session.scalars(query):
        yield item
        session.expunge(item)  # keep the identity map small


def payload_files(session: Session, package_id: int) -> Iterator[dict[str, Any]]:
    """Every file written for the package's records, in record order."""
    for item in _items(session, package_id, True):
        yield from item.files


def inventory_rows(session: Session, package_id: int) -> Iterator[dict[str, Any]]:
    for item in _items(session, package_id, True):
        yield item.row


def excluded_rows(session: Session, package_id: int) -> Iterator[dict[str, Any]]:
    for item in _items(session, package_id, False):
        yield {**item.row, "reason": item.reason}


def counts(session: Session, package_id: int) -> tuple[int, int, int]:
    """(records in the bag, records left out, bytes of their payload files)."""
    rows = session.execute(
        select(TransferItem.included, func.count())
        .where(TransferItem.package_id == package_id)
        .group_by(TransferItem.included)
    ).all()
    by = {bool(included): int(n) for included, n in rows}
    size = sum(
        file["size"] for file in payload_files(session, package_id)
    )  # JSON: summed here, streamed
    return by.get(True, 0), by.get(False, 0), size


def excluded_sample(session: Session, package_id: int, limit: int) -> list[tuple[str, str, str]]:
    """(record id, source path, reason) of the first `limit` records left out."""
    query = (
        select(Record.uid, Record.rel_path, TransferItem.reason)
        .join(Record, Record.id == TransferItem.record_id)
        .where(TransferItem.package_id == package_id, TransferItem.included.is_(False))
        .order_by(TransferItem.record_id)
        .limit(limit)
    )
    return [(uid, path, reason or "") for uid, path, reason in session.execute(query)]


def complete_package(session: Session, package: TransferPackage) -> None:
    """The package is handed over: a `transfer` event for each record in it (in chunks of
    inserts, one transaction with the state change), and its counts."""
    included, excluded, size = counts(session, package.id)
    query = (
        select(TransferItem.record_id, Record.batch_id, TransferItem.files)
        .join(Record, Record.id == TransferItem.record_id)
        .where(TransferItem.package_id == package.id, TransferItem.included.is_(True))
        .order_by(TransferItem.record_id)
        .execution_options(yield_per=EVENT_CHUNK)
    )
    detail = {"package": package.identifier, "bag": package.target}
    for chunk in session.execute(query).partitions():
        session.execute(
            insert(Event),
            [
                {
                    "batch_id": batch_id,
                    "record_id": record_id,
                    "kind": "transfer",
                    "outcome": "ok",
                    "tool": "sohoa package",
                    "tool_version": __version__,
                    "detail": {**detail, "path": files[0]["path"]},
                }
                for record_id, batch_id, files in chunk
            ],
        )
    package.state, package.finished_at = COMPLETE, utcnow()
    package.records, package.excluded, package.payload_bytes = included, excluded, size
