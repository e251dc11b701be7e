"""Many records' results in one transaction at a cost close to one record's.

Inside `grouped(session, uids)`, the store finds those records in a map loaded by one query
instead of one query each, its events are inserted together at the end (one executemany
instead of an ORM object and a flush each), and the coverage summary and the search index are
brought up to date once, for every record the group touched, just before the commit. Outside
a group nothing changes: each call does its upkeep at once, as before.

Deferring the upkeep to the end of the same transaction is safe because nothing inside a
group reads the summary or the index, and both are recomputed from the records' final rows
(the summary moves its cells by the difference from the stored values, which are still the
values from before the transaction)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, defer

from sohoa.records import search, summary
from sohoa.records.models import ARCHIVED_STATES, Event, Record, utcnow

_KEY = "sohoa.grouped"
LOOKUP_CHUNK = 500  # uids per IN (...) query: far below every database's parameter limit
_NOT_READ = (defer(Record.meta), defer(Record.source_files))


@dataclass
class _Group:
    records: dict[str, Record] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    items: set[int] = field(default_factory=set)  # register items whose summary moves
    indexed: set[int] = field(default_factory=set)  # records whose index entries are rebuilt
    synced: set[int] = field(default_factory=set)  # records whose index state is copied
    archived: dict[str, Record] = field(default_factory=dict)  # content hash -> an original
    looked_up: set[str] = field(default_factory=set)  # hashes whose originals are in `archived`


def _group(session: Session) -> _Group | None:
    return session.info.get(_KEY)


@contextmanager
def grouped(session: Session, uids: Iterable[str]) -> Iterator[None]:
    """Write several records' results with shared lookups and one upkeep at the end; on an
    exception nothing deferred is written (the transaction is rolled back anyway)."""
    group = _Group()
    wanted = list(dict.fromkeys(uids))
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        # The JSON columns are only ever replaced by a result, never read: not loaded.
        query = select(Record).where(Record.uid.in_(chunk)).options(*_NOT_READ)
        group.records.update((record.uid, record) for record in session.scalars(query))
    session.info[_KEY] = group
    try:
        yield
    finally:
        session.info.pop(_KEY, None)
    _apply(session, group)


def _apply(session: Session, group: _Group) -> None:
    if group.events:
        session.execute(insert(Event), group.events)
    summary.refresh_items(session, group.items)
    search.sync_states(session, sorted(group.synced - group.indexed))
    search.index_records(session, sorted(group.indexed))
    # The group's records stay in the identity map until the session ends; the driver's
    # session ends with each commit, so nothing accumulates across groups.


def loaded_record(session: Session, uid: str) -> Record | None:
    """The record from the group's map, or None outside a group or for a uid not loaded."""
    group = _group(session)
    return None if group is None else group.records.get(uid)


def look_up_originals(session: Session, hashes: Iterable[str]) -> None:
    """Find the archived records of these contents with one query for the whole group, before
    any digest of the group is written (`original_in_group` then answers without a query)."""
    group = _group(session)
    if group is None:
        return
    wanted = sorted({h for h in hashes if h} - group.looked_up)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        query = (
            select(Record)
            .where(Record.content_hash.in_(chunk), Record.state.in_(ARCHIVED_STATES))
            .options(*_NOT_READ)
        )
        with session.no_autoflush:  # the group's own records are not archived yet
            for record in session.scalars(query):
                group.archived.setdefault(record.content_hash or "", record)
    group.looked_up.update(wanted)


def original_in_group(
    session: Session, content_hash: str, record_id: int
) -> tuple[bool, Record | None]:
    """(known, original): whether the group knows the archived original of this content
    (looked up, or archived in the group), and that record if there is one."""
    group = _group(session)
    if group is None:
        return False, None
    original = group.archived.get(content_hash)
    if original is not None and original.id != record_id:
        return True, original
    return content_hash in group.looked_up, None


def note_archived(session: Session, record: Record) -> None:
    """A record archived in this group is the original of a later digest of the same content
    in the group, which `flush_deferred`'s query would not see."""
    group = _group(session)
    if group is not None and record.content_hash:
        group.archived.setdefault(record.content_hash, record)


def add_event_row(session: Session, values: dict[str, Any]) -> bool:
    """Queue an event for the group's insert; False outside a group (add it now)."""
    group = _group(session)
    if group is None:
        return False
    values.setdefault("at", utcnow())
    group.events.append(values)
    return True


def upkeep(
    session: Session,
    *,
    items: Iterable[int | None] = (),
    synced: Iterable[int | None] = (),
    indexed: Iterable[int | None] = (),
) -> None:
    """The summary and index upkeep of a write: deferred inside a group, done now outside."""
    group = _group(session)
    if group is None:
        summary.refresh_items(session, items)
        search.sync_states(session, synced)
        search.index_records(session, indexed)
        return
    group.items.update(i for i in items if i is not None)
    group.synced.update(i for i in synced if i is not None)
    group.indexed.update(i for i in indexed if i is not None)
