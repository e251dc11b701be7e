"""Apply the paper register to archived records: the dossier code names the file
("<code>.<order number>.pdf") and the register item's title, unit and year fill its
NĐ 30/2020 metadata.

When the register is there before a run, the driver names most files at once
(sohoa.pipeline.naming). What a record learns later (a link by a code read on page 1, a
register imported or changed after archiving, a mapping CSV, a link that goes away or moves
to another item) is applied here: the stale files are planned in one transaction, rebuilt
and signed again on the workers (sohoa.pipeline.rebuild; a local Dask cluster from
PARALLEL_FROM files), and each is committed as it comes back. The old file is removed once
the database names the new one.

Order numbers: a record keeps the number its file already has under the same code; a new
one gets one more than the highest of the records linked to that item, than the numbers
planned before it in the same call, and than any file of that name left by a record since
moved to another dossier. Records are planned in batch and path order, so the numbering is
repeatable. The commit locks the item row and refuses a number another record took since the
plan (the new file is then removed and the record reported), and a worker never writes a new
name over a file that is there: two records never share a number or a file.
"""

from __future__ import annotations

import datetime as dt
import glob
import math
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import pikepdf
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sohoa import __version__
from sohoa.archive import RecordFacts, RegisterEntry, archive_file_name, record_metadata
from sohoa.archive.dossier import safe_file_part
from sohoa.classify import load_catalogue
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.pipeline.cluster import dashboard_address, map_chunks, usable_cores
from sohoa.pipeline.context import WorkerSettings, token_signing, worker_settings
from sohoa.pipeline.naming import highest_number, name_pattern, register_fields
from sohoa.pipeline.rebuild import Rebuild, Rebuilt, rebuild_files
from sohoa.pipeline.run_state import Reporter
from sohoa.records import (
    ARCHIVED_STATES,
    EventRow,
    InventoryItem,
    Record,
    open_database,
    session_scope,
    store,
)

# From this many stale files the rebuilds go to a local Dask cluster: below it, its start-up
# (a few seconds) costs more than the signing it spreads.
PARALLEL_FROM = 50
CHUNK = 20  # files per task: a progress step every few seconds


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


def apply_register(
    settings: Settings,
    batch: str | None = None,
    reporter: Reporter | None = None,
    workers: int | None = None,
) -> RegisterReport:
    """Rebuild and re-sign the archived records (of `batch`, or all) whose file does not
    match their link to the register; a record that cannot be rebuilt is reported, not fatal.
    `workers`: Dask worker processes (default: none below PARALLEL_FROM files, else the
    configured or usable cores)."""
    report = RegisterReport()
    with open_database(settings.database_url) as factory:
        with session_scope(factory) as session:
            todo = _stale(session, batch)
        if not todo:
            return report
        work = worker_settings(settings)  # the signing key is loaded only when needed
        with session_scope(factory) as session:
            plans = _plan(session, work, todo)
        if workers is None:
            many = len(plans) >= PARALLEL_FROM
            workers = (settings.pipeline.workers or usable_cores()) if many else 1
        size = max(1, min(CHUNK, math.ceil(len(plans) / workers)))
        chunks = [plans[start : start + size] for start in range(0, len(plans), size)]
        if reporter is not None:
            reporter.start("register", len(plans))
        try:
            with token_signing(work) as work:
                done = map_chunks(rebuild_files, chunks, (work.signer,), workers, None,
                                  dashboard_address(settings))  # fmt: skip
                for chunk, results in done:
                    for plan, result in zip(chunk, results, strict=True):
                        _settle(factory, work, plan, result, report, reporter)
        finally:
            if reporter is not None:
                reporter.close()
    return report


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
        named = name_pattern(item.code).fullmatch(Path(path).name)
        if carried != register_fields(item) or not named:
            found.append((batch_id, rel_path, record_id, uid))
    unlinked = session.execute(
        select(Record.batch_id, Record.rel_path, Record.id, Record.uid)
        .where(signed, Record.inventory_item_id.is_(None))
        .where(~Record.output_path.like("%/" + Record.uid + ".pdf"))
    )
    found.extend(tuple(row) for row in unlinked)
    return [(record_id, uid) for _batch, _path, record_id, uid in sorted(found)]


def _order_number(
    session: Session, record: Record, item: InventoryItem, archive: Path, planned: set[int]
) -> int:
    own = name_pattern(item.code).fullmatch(Path(record.output_path or "").name)
    if own:
        return int(own[1])
    others = session.scalars(
        select(Record.output_path).where(
            Record.inventory_item_id == item.id, Record.id != record.id
        )
    )
    number = max(highest_number(list(others), item.code), *planned, 0) + 1
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


def _plan(session: Session, work: WorkerSettings, todo: list[tuple[int, str]]) -> list[Rebuild]:
    """What each stale record's file becomes: its register entry and order number, its new
    metadata and name."""
    catalogue = load_catalogue(list(work.catalogue))
    names = {procedure.key: procedure.name for procedure in catalogue.procedures}
    planned: dict[int, set[int]] = {}  # item id -> order numbers planned in this call
    now = dt.datetime.now(dt.UTC)
    plans = []
    for record_id, uid in todo:
        record = session.get(Record, record_id)
        assert record is not None and record.output_path and record.output_sha256
        linked = record.inventory_item_id
        item = session.get(InventoryItem, linked) if linked is not None else None
        register = None
        if item is not None:
            given = planned.setdefault(item.id, set())
            number = _order_number(session, record, item, work.archive_dir, given)
            given.add(number)
            register = RegisterEntry(order_number=number, **register_fields(item))
        name = names.get(record.procedure or "") or str(record.meta.get("procedure_name") or "")
        meta = record_metadata(_facts(record, name), work.dossier, register,
                               producer=f"sohoa {__version__}", metadata_date=now)  # fmt: skip
        old = Path(record.output_path)
        new = old.parent / archive_file_name(uid, meta.dossier)
        plans.append(Rebuild(record_id, uid, record.rel_path, str(old), record.output_sha256,
                             meta, str(new)))  # fmt: skip
    return plans


def _settle(
    factory: sessionmaker[Session],
    work: WorkerSettings,
    plan: Rebuild,
    result: Rebuilt,
    report: RegisterReport,
    reporter: Reporter | None,
) -> None:
    """Commit a rebuilt file, or report why not; the file the database does not name goes."""
    problem = result.problem
    if problem is None:
        try:
            with session_scope(factory) as session:
                _commit(session, plan, result, work)
        except SohoaError as exc:
            problem = str(exc)
            if plan.new != plan.old:
                Path(plan.new).unlink(missing_ok=True)  # written, never committed
    if problem is None:
        if plan.new != plan.old:
            Path(plan.old).unlink(missing_ok=True)  # only once the database names the new file
        report.updated.append((plan.uid, plan.new))
    else:
        report.problems.append((plan.uid, problem))
    if reporter is not None:
        state, note = ("failed", problem) if problem else ("archived", Path(plan.new).name)
        reporter.record_done(plan.rel_path, state, 0, note)


def _commit(session: Session, plan: Rebuild, result: Rebuilt, work: WorkerSettings) -> None:
    record = session.get(Record, plan.record_id)
    assert record is not None and result.sha256 is not None
    if (record.output_path, record.output_sha256) != (plan.old, plan.old_sha256):
        raise SohoaError(f"{plan.old} was replaced while it was rebuilt: run 'sohoa link' again")
    register = plan.meta.register
    if register is not None and record.inventory_item_id is not None:
        # Locked until the commit: one order number per record, whoever else links now.
        session.scalars(
            select(InventoryItem.id).where(InventoryItem.id == record.inventory_item_id)
            .with_for_update()
        ).one()  # fmt: skip
        others = session.scalars(
            select(Record.output_path).where(
                Record.inventory_item_id == record.inventory_item_id, Record.id != record.id
            )
        )
        if any(path and Path(path).name == Path(plan.new).name for path in others):
            taken = f"order number {register.order_number} of {register.code}"
            raise SohoaError(f"{taken} was given to another record meanwhile: run 'sohoa link'")
    record.output_path = plan.new
    record.output_sha256 = result.sha256
    # Other keys (e.g. a dossier code the worker read on page 1) stay as they are.
    record.meta = {**(record.meta or {}), **plan.meta.as_json()}
    events = (
        EventRow(
            "pdfa",
            tool="pikepdf",
            tool_version=pikepdf.__version__,
            detail={"action": "register metadata", "dossier": plan.meta.dossier.nd30(),
                    "sources": plan.meta.dossier.sources},
        ),
        EventRow(
            "sign",
            tool="pyHanko",
            tool_version=package_version("pyHanko"),
            detail={"level": f"PAdES-{work.signer.level}", "output": plan.new,
                    "previous": plan.old},
        ),
    )  # fmt: skip
    for row in events:
        store.add_event(session, row, batch_id=record.batch_id, record_id=record.id)
