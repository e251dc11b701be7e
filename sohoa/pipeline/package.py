"""`sohoa package`: a BagIt transfer package of archived records for the historical archive.

Records are selected in chunks of CHUNK by id; for each chunk the database is read (records,
their events as PREMIS through `records.premis`), then the files are written with no
transaction open, then what was written is recorded. A run that stops (Ctrl-C, a full disk,
a crash) leaves the bag under its partial name and the recorded records in the database:
the same command continues after the last recorded record. When every selected record is
done the package files and manifests are written, the bag is validated (bagit-python and
the METS schema), renamed to its name, and each record in it gets its `transfer` event.
"""

from __future__ import annotations

import datetime as dt
import errno
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from sohoa import __version__
from sohoa.archive.dossier import safe_file_part
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.pipeline.driver import Reporter
from sohoa.records import Record, TransferPackage, coverage, database_session, packages, premis
from sohoa.records.packages import Selection
from sohoa.transfer import (
    BagWriter,
    Fonds,
    PackageInfo,
    PayloadFile,
    TransferRecord,
    ValidationReport,
    partial_path,
    validate_bag,
)

CHUNK = 200  # records read, written and recorded together
EXCLUDED_SHOWN = 20
SOFTWARE = f"sohoa {__version__}"


@dataclass(frozen=True)
class PackageRequest:
    out: Path  # the bag's folder; must not exist yet (or be this selection's, unfinished)
    selection: Selection = field(default_factory=Selection)


@dataclass(frozen=True)
class PackageReport:
    target: Path
    identifier: str
    records: int
    excluded: int
    payload_bytes: int
    resumed: bool
    excluded_sample: list[tuple[str, str, str]]  # (record id, source path, reason)
    validation: ValidationReport


def _fonds(settings: Settings, session: Session) -> Fonds:
    """config.yaml `archive.fonds`; the paper counts from the register when left empty."""
    archive = settings.archive
    total = digitized = None
    if coverage.has_register(session):
        [overall] = coverage.inventory_coverage(session)
        total, digitized = overall.items, overall.digitized
    return Fonds.from_config(
        asdict(archive.fonds),
        paper_total=total,
        paper_digital=digitized,
        language=archive.language,
    )


def _transfer_record(session: Session, record: Record, agency: str) -> TransferRecord:
    meta = record.meta or {}
    dossier = dict(meta.get("dossier") or {})
    title = str(dossier.get("Title") or meta.get("title") or record.rel_path)
    name = safe_file_part(str(meta.get("file_name") or f"{record.uid}.pdf")).replace("%", "_")
    row = {
        "record_id": record.uid,
        "file_code": dossier.get("FileCode"),
        "title": title,
        "procedure": record.procedure,
        "procedure_code": record.procedure_code,
        "organ": meta.get("organ"),
        "start_date": dossier.get("StartDate"),
        "end_date": dossier.get("EndDate"),
        "doc_total": dossier.get("DocTotal"),
        "page_total": dossier.get("PageTotal") or record.page_count,
        "maintenance": dossier.get("Maintenance"),
        "rights": dossier.get("Rights"),
        "batch": record.batch.name,
        "source_path": record.rel_path,
        "archived_at": record.archived_at and record.archived_at.isoformat(timespec="seconds"),
    }
    return TransferRecord(
        uid=record.uid,
        pdf_path=Path(record.output_path or ""),
        pdf_name=name,
        sha256=record.output_sha256 or "",
        title=title,
        agency=str(meta.get("agency") or agency),
        dossier=dossier,
        premis=premis.premis_history(session, record),
        row=row,
    )


def _open_package(
    session: Session, target: Path, selection: Selection
) -> tuple[TransferPackage, bool]:
    """The package row to write `target` with, and whether a run is being continued. A
    folder that is not this selection's unfinished package is refused."""
    found = packages.find_package(session, str(target))
    same = found is not None and found.state == packages.WRITING
    same = same and found.selection == selection.as_json()
    partial = partial_path(target)
    if target.exists() and not (same and not partial.exists()):
        raise SohoaError(f"{target} already exists: choose a new folder for the package")
    if partial.exists() and not same:
        raise SohoaError(
            f"{partial} is an unfinished package of another selection: run that command "
            "again to finish it, or remove the folder"
        )
    if found is not None and not same:
        raise SohoaError(f"a package was already written to {target}: choose a new folder")
    if found is None:
        if not packages.any_selected(session, selection):
            raise SohoaError(f"no archived record matches the selection ({selection.describe()})")
        identifier = f"sohoa-{uuid.uuid4().hex}"
        return packages.start_package(session, str(target), identifier, selection), False
    if not partial.exists() and not target.exists():
        packages.forget_items(session, found.id)  # the partial folder was removed: start over
    return found, True


@contextmanager
def _disk_errors(partial: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise SohoaError(
            f"no space left while writing {partial} (kept, unfinished): free some space "
            "and run the same command again to continue"
        ) from exc


def _write_records(
    settings: Settings,
    package_id: int,
    selection: Selection,
    writer: BagWriter,
    reporter: Reporter | None,
) -> None:
    agency = settings.archive.agency
    with database_session(settings.database_url) as session:
        after = packages.last_record_id(session, package_id)
        stale = writer.in_flight()  # written by a run that stopped before recording them
        recorded = packages.recorded_uids(session, package_id, stale)
    writer.discard([uid for uid in stale if uid not in recorded])
    writer.end_chunk()
    while True:
        with database_session(settings.database_url) as session:
            chunk = packages.selected_chunk(session, selection, after, CHUNK)
            work = [(r.id, r.page_count or 0, _transfer_record(session, r, agency)) for r in chunk]
        if not work:
            return
        writer.begin_chunk([value.uid for _, _, value in work])
        now = dt.datetime.now(dt.UTC)
        written = [
            (record_id, pages, writer.write_record(value, now)) for record_id, pages, value in work
        ]
        writer.flush()
        with database_session(settings.database_url) as session:
            for record_id, _, result in written:
                packages.add_item(
                    session,
                    package_id,
                    record_id,
                    included=result.included,
                    reason=result.reason,
                    files=[f.as_json() for f in result.files],
                    row=result.row,
                )
        writer.end_chunk()
        if reporter is not None:
            for _, pages, result in written:
                state = "ok" if result.included else "failed"
                reporter.record_done(result.row["source_path"], state, pages, result.reason or "ok")
        after = work[-1][0]


def make_package(
    settings: Settings, request: PackageRequest, reporter: Reporter | None = None
) -> PackageReport:
    target = request.out.expanduser().resolve()
    with database_session(settings.database_url) as session:
        package, resumed = _open_package(session, target, request.selection)
        package_id, identifier = package.id, package.identifier
        after = packages.last_record_id(session, package_id)
        to_do = packages.count_selected(session, request.selection, after)
    partial = partial_path(target)
    if reporter is not None:
        reporter.start(f"package {target.name}", to_do)
    try:
        with _disk_errors(partial):
            if not target.exists():
                writer = BagWriter(target, SOFTWARE)
                _write_records(settings, package_id, request.selection, writer, reporter)
                validation = _finish(settings, package_id, identifier, request.selection, writer)
            else:  # renamed by a run that stopped before recording the transfer
                validation = validate_bag(target)
    finally:
        if reporter is not None:
            reporter.close()
    if not validation.ok:
        raise SohoaError(
            f"the package did not validate, kept unfinished at {partial}: {validation.problems[0]}"
        )
    with database_session(settings.database_url) as session:
        package = session.get(TransferPackage, package_id)
        packages.complete_package(session, package)
        sample = packages.excluded_sample(session, package_id, EXCLUDED_SHOWN)
        report = PackageReport(
            target,
            identifier,
            package.records,
            package.excluded,
            package.payload_bytes,
            resumed,
            sample,
            validation,
        )
    return report


def _finish(
    settings: Settings,
    package_id: int,
    identifier: str,
    selection: Selection,
    writer: BagWriter,
) -> ValidationReport:
    with database_session(settings.database_url) as session:
        included, excluded, _ = packages.counts(session, package_id)
        info = PackageInfo(
            identifier=identifier,
            source_organization=settings.archive.agency,
            selection=selection.describe(),
            records=included,
            excluded=excluded,
            bagging_date=dt.date.today().isoformat(),
            software=SOFTWARE,
        )
        files = (PayloadFile(**f) for f in packages.payload_files(session, package_id))
        writer.finish(
            files,
            packages.inventory_rows(session, package_id),
            packages.excluded_rows(session, package_id),
            _fonds(settings, session),
            info,
        )
    return writer.publish()


def validate_package(path: Path) -> ValidationReport:
    """`sohoa package --validate`: bagit-python's validation and the METS schema."""
    if not (path / "bagit.txt").is_file():
        raise SohoaError(f"{path} is not a bag (no bagit.txt): give the package's folder")
    return validate_bag(path)
