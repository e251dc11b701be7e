"""Link scanned records to the register's items, and list what matches neither way.

A record is linked by the strongest source that names a registered code: an archivist's
mapping CSV, its folder (or file) name, a QR code or a code printed on page 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from sohoa.records import search, summary
from sohoa.records.inventory.table import (
    Problem,
    check_header,
    code_key,
    nfc,
    open_table,
    table_rows,
)
from sohoa.records.models import Batch, InventoryItem, Record, RecordState

# What can link a record to an item, strongest first: an archivist's mapping CSV, the
# record's folder (or file) name, a QR code on page 1, a code printed on page 1 (OCR text).
LINK_SOURCES = ("mapping", "folder", "qr", "text")
# Where the worker leaves a code it read on page 1: {"code", "source": "qr"|"text"} and, when
# the other source read a different code, "also": {"code", "source"} (sohoa.ocr.codes).
FOUND_KEY = "dossier_code_found"
# Columns of a mapping CSV: the dossier code, and the record by its id or by its path.
MAPPING_COLUMNS = ("code", "record_id", "source", "batch")


@dataclass(frozen=True)
class UnregisteredRecord:
    uid: str
    batch: str
    rel_path: str
    found_code: str | None = None  # a code read on page 1 that the register does not list


@dataclass(frozen=True)
class UnscannedItem:
    code: str
    title: str


@dataclass(frozen=True)
class LinkConflict:
    """A record whose sources name different dossiers: linked by precedence, shown to a person."""

    uid: str
    batch: str
    rel_path: str
    linked_code: str | None  # the code the record is linked to (None: no claim is registered)
    claims: tuple[tuple[str, str], ...]  # (source, code), strongest source first


@dataclass
class LinkReport:
    newly_linked: int = 0  # links made or moved to another item by this call
    unlinked: int = 0  # links dropped because nothing names the item any more
    linked: int = 0  # records linked to an item after this call
    mapped: int = 0  # records linked by the mapping file given to this call
    unregistered: list[UnregisteredRecord] = field(default_factory=list)  # scanned, not in register
    unscanned: list[UnscannedItem] = field(default_factory=list)  # registered, not scanned
    conflicts: list[LinkConflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # bad lines of the mapping file


def dossier_codes(rel_path: str) -> tuple[str, ...]:
    """The code keys a record may carry: its folder name, or its file name without extension.

    The full name is tried first, so a folder named like "HS.2019.001" keeps its dots.
    """
    name = nfc(rel_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    stem = Path(name).stem
    return (code_key(name),) if stem == name else (code_key(name), code_key(stem))


@dataclass(frozen=True)
class _Item:
    id: int
    code: str


def _register(session: Session) -> dict[str, _Item]:
    query = select(InventoryItem.id, InventoryItem.code)
    return {code_key(code): _Item(item_id, code) for item_id, code in session.execute(query)}


def read_mapping(session: Session, path: Path, problems: list[Problem]) -> dict[int, int]:
    """{record id: item id} from a mapping CSV; bad lines go to `problems` and are skipped.

    Columns (case-insensitive, any order, separator as for the register): `code`, the dossier
    code of the register, and the record as `record_id` (the id `sohoa export` and `sohoa link`
    show) or as `source` (its path in its batch, as `sohoa export` shows), with `batch` when
    that path is in several batches.
    """
    table = open_table(path, problems)
    if table is None or not check_header(table.header, problems, MAPPING_COLUMNS):
        return {}
    if not {"record_id", "source"} & set(table.header):
        problems.append(Problem(1, "record_id", "name the record: a record_id or a source column"))
        return {}
    items = _register(session)
    by_uid: dict[str, int] = {}
    by_path: dict[str, dict[str, int]] = {}  # NFC path -> {batch: record id}
    query = select(Record.id, Record.uid, Record.rel_path, Batch.name).join(Batch)
    for record_id, uid, rel_path, batch in session.execute(query):
        by_uid[uid] = record_id
        by_path.setdefault(nfc(rel_path), {})[batch] = record_id
    links: dict[int, int] = {}
    first_line: dict[int, int] = {}
    for line, raw in table_rows(table, problems):
        record_id, problem = _mapped_record(line, raw, by_uid, by_path)
        code = nfc(raw.get("code") or "")
        item = items.get(code_key(code))
        if problem is None and item is None:
            problem = Problem(
                line, "code", f"code {code!r} is not in the register" if code else "no code"
            )
        if problem is None and record_id in first_line and links[record_id] != item.id:
            problem = Problem(
                line, "", f"the record is mapped to another code on line {first_line[record_id]}"
            )
        if problem is not None:
            problems.append(problem)
            continue
        first_line.setdefault(record_id, line)
        links[record_id] = item.id
    return links


def _mapped_record(
    line: int, raw: dict[str, str], by_uid: dict[str, int], by_path: dict[str, dict[str, int]]
) -> tuple[int, Problem | None]:
    """The record a mapping row names, or the problem with it."""
    uid = nfc(raw.get("record_id") or "")
    if uid:
        if uid in by_uid:
            return by_uid[uid], None
        return 0, Problem(line, "record_id", f"no record with id {uid!r}")
    source = nfc(raw.get("source") or "").replace("\\", "/").strip("/")
    if not source:
        return 0, Problem(line, "source", "no record_id and no source: which record is it?")
    in_batches = by_path.get(source, {})
    batch = nfc(raw.get("batch") or "")
    if batch:
        if batch in in_batches:
            return in_batches[batch], None
        return 0, Problem(line, "source", f"no record {source!r} in batch {batch!r}")
    if len(in_batches) == 1:
        return next(iter(in_batches.values())), None
    if not in_batches:
        return 0, Problem(line, "source", f"no record {source!r} in any batch")
    names = ", ".join(sorted(in_batches))
    return 0, Problem(line, "batch", f"{source!r} is in batches {names}: add a batch column")


def link_records(
    session: Session, mapping: dict[int, int] | None = None, *, batch_id: int | None = None
) -> LinkReport:
    """Link records to register items, list what does not match either way, and the records
    whose sources disagree.

    `mapping` ({record id: item id}, from `read_mapping`) links those records whatever else
    says; such links stay until another mapping moves them. Every other record is linked by
    the strongest source that names a registered code: folder or file name, then the QR code,
    then the code in the text of page 1 (both found by the worker, in the record's metadata).
    Duplicates are linked like any record but not listed as unregistered: they are copies of
    a record that is listed. Coverage summaries of the items involved are refreshed.

    With `batch_id` (the driver, after a run) only that batch's records are linked and
    nothing is listed: the lists grow with the archive and the register, not with the batch.
    """
    mapping = mapping or {}
    items = _register(session)
    if batch_id is not None and not items:
        return LinkReport()  # no register: nothing to link to, no link to drop
    codes = {item.id: item.code for item in items.values()}
    report = LinkReport(mapped=len(mapping))
    changes: list[dict[str, Any]] = []
    touched: set[int | None] = set()
    query = (
        select(Record.id, Record.uid, Record.rel_path, Record.state, Record.inventory_item_id,
               Record.inventory_link_source, Record.meta[FOUND_KEY], Batch.name)
        .join(Batch, Batch.id == Record.batch_id)
        .order_by(Batch.name, Record.rel_path)
    )  # fmt: skip
    if batch_id is not None:
        query = query.where(Record.batch_id == batch_id)
    listing = batch_id is None
    for record_id, uid, rel_path, state, *link, found, batch in session.execute(query):
        old = (link[0], link[1])
        current = (mapping[record_id], "mapping") if record_id in mapping else old
        mapped_code = codes.get(current[0]) if current[1] == "mapping" else None
        claims = _claims(items, rel_path, found, mapped_code)
        target = _strongest(items, claims, current)
        if target != old:
            changes.append(
                {"id": record_id, "inventory_item_id": target[0],
                 "inventory_link_source": target[1]}
            )  # fmt: skip
            touched.update((old[0], target[0]))
            report.newly_linked += target[0] is not None and target[0] != old[0]
            report.unlinked += target[0] is None and old[0] is not None
        if target[0] is not None:
            report.linked += 1
        if not listing:
            continue
        if target[0] is None and state != RecordState.DUPLICATE:
            found_code = next((code for _source, code in claims), None)
            report.unregistered.append(UnregisteredRecord(uid, batch, rel_path, found_code))
        if len({code_key(code) for _source, code in claims}) > 1:
            report.conflicts.append(
                LinkConflict(uid, batch, rel_path, codes.get(target[0]), tuple(claims))
            )
    if changes:
        session.execute(update(Record), changes)
        search.index_records(session, (change["id"] for change in changes))
    summary.refresh_items(session, touched)
    if listing:
        report.unscanned = list(_unscanned(session))
    return report


def _claims(
    items: dict[str, _Item], rel_path: str, found: dict[str, Any] | None, mapped: str | None
) -> list[tuple[str, str]]:
    """(source, code) of every source that names a dossier, in LINK_SOURCES order.

    A folder name counts only when it is a registered code (most folder names are not codes);
    a code read on the page counts whatever it is, so an unregistered one can be reported.
    """
    claims = [("mapping", mapped)] if mapped else []
    folder = next((items[key] for key in dossier_codes(rel_path) if key in items), None)
    if folder is not None:
        claims.append(("folder", folder.code))
    return claims + page_claims(found)  # LINK_SOURCES order: the page's codes come last


def page_claims(found: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(source, code) of the codes read on a record's page 1 (the worker's FOUND_KEY
    metadata, sohoa.ocr.codes), in LINK_SOURCES order: a QR code before a printed one."""
    claims = [(str(seen["source"]), nfc(str(seen["code"])))
              for seen in (found, (found or {}).get("also"))
              if isinstance(seen, dict) and seen.get("code")
              and seen.get("source") in ("qr", "text")]  # fmt: skip
    return sorted(claims, key=lambda claim: LINK_SOURCES.index(claim[0]))


def _strongest(
    items: dict[str, _Item], claims: list[tuple[str, str]], current: tuple[int | None, str | None]
) -> tuple[int | None, str | None]:
    """(item id, source) a record should be linked to. A mapping link, or a link whose source
    is not recorded (made outside sohoa), is kept; the others follow the strongest claim."""
    item_id, source = current
    if source == "mapping" or (item_id is not None and source is None):
        return current
    for claim_source, code in claims:
        item = items.get(code_key(code))
        if item is not None:
            return item.id, claim_source
    return None, None


def _unscanned(session: Session) -> Iterable[UnscannedItem]:
    linked = exists().where(Record.inventory_item_id == InventoryItem.id)
    query = select(InventoryItem.code, InventoryItem.title).where(~linked)
    for code, title in session.execute(query.order_by(InventoryItem.code)):
        yield UnscannedItem(code, title)
