"""Apply the paper register to archived records: the dossier code names the file
("<code>.<order number>.pdf") and the register item's title, unit and year fill its
NĐ 30/2020 metadata.

A record learns its register item when it is linked (`sohoa inventory import`, `sohoa link`,
and the link at the end of every run), which is after its worker wrote and signed the file.
So the file is made again here, without OCR: its first revision (the PDF/A as built, before
any signature) gets a new XMP packet, is signed again and replaces the old file, which is
removed once the database names the new one. A record whose link later goes away or moves
to another item is rebuilt the same way.

Order numbers: a record keeps the number its file already has under the same code; a new
one gets one more than the highest of the records linked to that item (and than any file of
that name left by a record since moved to another dossier). Numbers are given inside the
transaction that commits the new file, with the item row locked, so two records never share
one, and records are taken in batch and path order, so the numbering is repeatable. Only the
committed file name holds the number: a crash before the commit leaves nothing given out.
"""

from __future__ import annotations

import datetime as dt
import glob
import re
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import pikepdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa import __version__
from sohoa.archive import (
    RecordFacts,
    RecordMetadata,
    RegisterEntry,
    archive_file_name,
    original_revision,
    record_metadata,
    sign_pdf,
    with_metadata,
)
from sohoa.archive.dossier import safe_file_part
from sohoa.classify import load_catalogue
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.ingest import sha256_bytes
from sohoa.pipeline.context import WorkerSettings, worker_settings
from sohoa.pipeline.outputs import write_atomically
from sohoa.records import (
    ARCHIVED_STATES,
    EventRow,
    InventoryItem,
    Record,
    open_database,
    session_scope,
    store,
)


@dataclass
class RegisterReport:
    updated: list[tuple[str, str]] = field(default_factory=list)  # (record id, new file)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (record id, what is wrong)


def register_entry(meta: dict[str, Any]) -> RegisterEntry | None:
    """The register item and order number a record's file carries now (its metadata)."""
    item, order = meta.get("register"), meta.get("order_number")
    if not item or order is None:
        return None
    return RegisterEntry(order_number=int(order), **item)


def apply_register(settings: Settings, batch: str | None = None) -> RegisterReport:
    """Rebuild and re-sign the archived records (of `batch`, or all) whose file does not
    match their link to the register; a record that cannot be rebuilt is reported, not fatal."""
    report = RegisterReport()
    with open_database(settings.database_url) as factory:
        with session_scope(factory) as session:
            todo = _stale(session, batch)
        if not todo:
            return report
        work = worker_settings(settings)  # the signing key is loaded only when needed
        for record_id, uid in todo:
            try:
                with session_scope(factory) as session:
                    old, new = _rebuild(session, work, record_id)
            except SohoaError as exc:
                report.problems.append((uid, str(exc)))
                continue
            if old != new:
                Path(old).unlink(missing_ok=True)  # only once the database names the new file
            report.updated.append((uid, new))
    return report


def _register_fields(item: InventoryItem | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"code": item.code, "title": item.title, "unit": item.unit, "year": item.year,
            "expected_pages": item.expected_pages}  # fmt: skip


def _name_pattern(code: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(safe_file_part(code))}\.(\d+)\.pdf")


def _stale(session: Session, batch: str | None) -> list[tuple[int, str]]:
    """Archived records whose file says something else than their link, in batch and path
    order: linked records whose file lacks their item's fields or code name, and unlinked
    records whose file is still named by a code."""
    signed = Record.state.in_(ARCHIVED_STATES) & Record.output_path.is_not(None)
    if batch is not None:
        signed &= Record.batch_id == store.find_batch(session, batch).id
    found: list[tuple[int, str, int, str]] = []
    linked = session.execute(
        select(Record.batch_id, Record.rel_path, Record.id, Record.uid, Record.output_path,
               Record.meta["register"], InventoryItem)
        .join(InventoryItem, InventoryItem.id == Record.inventory_item_id)
        .where(signed)
    )  # fmt: skip
    for batch_id, rel_path, record_id, uid, path, carried, item in linked:
        named = _name_pattern(item.code).fullmatch(Path(path).name)
        if carried != _register_fields(item) or not named:
            found.append((batch_id, rel_path, record_id, uid))
    unlinked = session.execute(
        select(Record.batch_id, Record.rel_path, Record.id, Record.uid)
        .where(signed, Record.inventory_item_id.is_(None))
        .where(~Record.output_path.like("%/" + Record.uid + ".pdf"))
    )
    found.extend(tuple(row) for row in unlinked)
    return [(record_id, uid) for _batch, _path, record_id, uid in sorted(found)]


def _order_number(session: Session, record: Record, item: InventoryItem, archive: Path) -> int:
    pattern = _name_pattern(item.code)
    own = pattern.fullmatch(Path(record.output_path or "").name)
    if own:
        return int(own[1])
    others = session.scalars(
        select(Record.output_path).where(
            Record.inventory_item_id == item.id, Record.id != record.id
        )
    )
    taken = [pattern.fullmatch(Path(path).name) for path in others if path]
    number = max((int(match[1]) for match in taken if match), default=0) + 1
    name = safe_file_part(item.code)
    # A file of this name whose record has since moved to another dossier keeps its number.
    while any(archive.glob(f"*/{glob.escape(name)}.{number:03d}.pdf")):
        number += 1
    return number


def _facts(record: Record, procedure_name: str) -> RecordFacts:
    meta = record.meta or {}
    digitized = meta.get("digitized_at")
    return RecordFacts(
        record_id=record.uid,
        batch=record.batch.name,
        source_path=record.rel_path,
        source_sha256=record.content_hash or "",
        procedure=record.procedure or "",
        procedure_code=record.procedure_code,
        procedure_name=procedure_name,
        page_texts=tuple(page.text for page in record.pages),
        digitized_at=dt.datetime.fromisoformat(digitized) if digitized else record.archived_at,
        ocr_engine=str(meta.get("ocr_engine") or "unknown"),
    )


def _procedure_name(work: WorkerSettings, record: Record) -> str:
    catalogue = load_catalogue(list(work.catalogue))
    known = {procedure.key: procedure.name for procedure in catalogue.procedures}
    return known.get(record.procedure or "") or str(record.meta.get("procedure_name") or "")


def _rebuild(session: Session, work: WorkerSettings, record_id: int) -> tuple[str, str]:
    """Give the record a file that matches its link; returns (old path, new path)."""
    record = session.get(Record, record_id)
    assert record is not None and record.output_path
    item = None
    if record.inventory_item_id is not None:
        # Locked until the commit: one order number per record, whoever else links now.
        item = session.scalars(
            select(InventoryItem).where(InventoryItem.id == record.inventory_item_id)
            .with_for_update()
        ).one()  # fmt: skip
    old = Path(record.output_path)
    try:
        signed_before = old.read_bytes()
    except OSError as exc:
        raise SohoaError(f"cannot read {old}: {exc.strerror}") from exc
    if sha256_bytes(signed_before) != record.output_sha256:
        raise SohoaError(f"{old} changed since it was archived: run 'sohoa verify'")
    register = None
    if item is not None:
        number = _order_number(session, record, item, work.archive_dir)
        register = RegisterEntry(order_number=number, **_register_fields(item))
    meta = record_metadata(
        _facts(record, _procedure_name(work, record)),
        work.dossier,
        register,
        producer=f"sohoa {__version__}",
        metadata_date=dt.datetime.now(dt.UTC),
    )
    try:
        unsigned = with_metadata(original_revision(signed_before), meta)
    except (ValueError, pikepdf.PdfError) as exc:
        raise SohoaError(f"{old} cannot be rebuilt: {exc}") from exc
    signed = sign_pdf(unsigned, work.signer)
    new = old.parent / archive_file_name(record.uid, meta.dossier)
    write_atomically(new, signed)
    _commit(session, record, meta, new, signed, work)
    return str(old), str(new)


def _commit(
    session: Session,
    record: Record,
    meta: RecordMetadata,
    output: Path,
    signed: bytes,
    work: WorkerSettings,
) -> None:
    previous = record.output_path
    record.output_path = str(output)
    record.output_sha256 = sha256_bytes(signed)
    # Other keys (e.g. a dossier code the worker read on page 1) stay as they are.
    record.meta = {**(record.meta or {}), **meta.as_json()}
    events = (
        EventRow(
            "pdfa",
            tool="pikepdf",
            tool_version=pikepdf.__version__,
            detail={"action": "register metadata", "dossier": meta.dossier.nd30(),
                    "sources": meta.dossier.sources},
        ),
        EventRow(
            "sign",
            tool="pyHanko",
            tool_version=package_version("pyHanko"),
            detail={"level": f"PAdES-{work.signer.level}", "output": str(output),
                    "previous": previous},
        ),
    )  # fmt: skip
    for row in events:
        store.add_event(session, row, batch_id=record.batch_id, record_id=record.id)
