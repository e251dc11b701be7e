"""Writing a BagIt 1.0 bag (RFC 8493) record by record, and checking one.

The bag is written in a hidden sibling folder (`.<name>.partial`) and renamed to its name
only once complete and valid, so a folder with the bag's name is always a whole bag. Every
file is written to a `.part` name and renamed, its SHA-256 and SHA-512 computed while it is
written, and made durable a chunk at a time (`flush`, before the caller records them: an
fsync per file cost a third of the packaging time). The caller keeps those digests (the
database, for a run that is interrupted) and hands them back to `finish`, which writes the
manifests from them without reading the payload again. The signed PDF/A is copied byte
for byte and its SHA-256 compared with the one recorded when it was archived: a copy that
differs is not put in the bag.

Payload layout:
    data/records/<record id>/<dossier code>.<order>.pdf   the signed PDF/A, as archived
    data/records/<record id>/dossier.xml                  NĐ 30/2020 dossier metadata
    data/records/<record id>/premis.xml                   PREMIS 3: the file, events, agents
    data/records/<record id>/mets.xml                     METS: the record's parts, by reference
    data/inventory.csv                                    one line per record in the bag
    data/excluded.csv                                     records left out, with the reason
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
import hashlib
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import bagit

from sohoa.transfer.mets import (
    DOSSIER_FILE,
    METS_FILE,
    PREMIS_FILE,
    dossier_document,
    mets_document,
    premis_document,
)
from sohoa.transfer.schemas import mets_problems, xml_problems
from sohoa.transfer.values import (
    Fonds,
    PackageInfo,
    PayloadFile,
    RecordWritten,
    TransferRecord,
    ValidationReport,
)

ALGORITHMS = ("sha256", "sha512")
BLOCK = 1 << 20
PART = ".part"
INVENTORY = "data/inventory.csv"
EXCLUDED = "data/excluded.csv"
IN_FLIGHT = "in-flight.txt"  # outside data/, gone before the bag is finished
INVENTORY_COLUMNS = (
    "record_id",
    "file_code",
    "title",
    "procedure",
    "procedure_code",
    "organ",
    "start_date",
    "end_date",
    "doc_total",
    "page_total",
    "maintenance",
    "rights",
    "batch",
    "source_path",
    "archived_at",
    "pdf",
    "mets",
    "premis",
    "dossier",
    "size",
    "sha256",
)
EXCLUDED_COLUMNS = ("record_id", "batch", "source_path", "reason")


def partial_path(target: Path) -> Path:
    """Where the bag is written until it is complete and valid."""
    return target.parent / f".{target.name}.partial"


class _HashingWriter:
    """A file written under a `.part` name, hashed as it is written, renamed on close."""

    def __init__(self, bag: Path, relative: str) -> None:
        self.relative = relative
        self.path = bag / relative
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.part = self.path.with_name(self.path.name + PART)
        self.stream: BinaryIO = open(self.part, "wb")  # noqa: SIM115 (closed in close())
        self.hashes = [hashlib.new(name) for name in ALGORITHMS]
        self.size = 0

    def write(self, data: bytes) -> None:
        self.stream.write(data)
        for digest in self.hashes:
            digest.update(data)
        self.size += len(data)

    def close(self) -> PayloadFile:
        self.stream.close()  # made durable with the others of its chunk: BagWriter.flush
        os.replace(self.part, self.path)
        sha256, sha512 = (digest.hexdigest() for digest in self.hashes)
        return PayloadFile(self.relative, self.size, sha256, sha512)

    def discard(self) -> None:
        self.stream.close()
        self.part.unlink(missing_ok=True)


def _write(bag: Path, relative: str, data: bytes) -> PayloadFile:
    writer = _HashingWriter(bag, relative)
    try:
        writer.write(data)
    except BaseException:
        writer.discard()
        raise
    return writer.close()


def _copy_checked(bag: Path, relative: str, source: Path, sha256: str) -> PayloadFile | str:
    """Copy `source` into the bag if its SHA-256 is the recorded one; else the reason."""
    if not source.is_file():
        return "missing: the archived file is not there"
    writer = _HashingWriter(bag, relative)
    try:
        with open(source, "rb") as stream:
            while block := stream.read(BLOCK):
                writer.write(block)
    except BaseException:
        writer.discard()
        raise
    if writer.hashes[0].hexdigest() != sha256:
        writer.discard()
        return "sha256_mismatch: the archived file differs from the one archived"
    return writer.close()


class BagWriter:
    """Writes the bag for `target` in its partial folder; resumes one left there."""

    def __init__(self, target: Path, software: str) -> None:
        self.target = target
        self.partial = partial_path(target)
        self.software = software
        self.partial.mkdir(parents=True, exist_ok=True)
        # An interrupted run leaves at most a half-written file per record in flight.
        for leftover in self.partial.rglob(f"*{PART}"):
            leftover.unlink()

    def begin_chunk(self, uids: list[str]) -> None:
        """Note which records are about to be written: if the run stops before the caller
        records them, the next run removes those the caller did not record (`in_flight`)."""
        journal = self.partial / IN_FLIGHT
        part = journal.with_name(journal.name + PART)
        part.write_text("".join(f"{uid}\n" for uid in uids), encoding="utf-8")
        os.replace(part, journal)

    def in_flight(self) -> list[str]:
        """The records of the chunk a stopped run was writing (see begin_chunk)."""
        journal = self.partial / IN_FLIGHT
        return journal.read_text(encoding="utf-8").split() if journal.is_file() else []

    def discard(self, uids: list[str]) -> None:
        """Remove these records' folders (written, but never recorded)."""
        for uid in uids:
            shutil.rmtree(self.partial / "data" / "records" / uid, ignore_errors=True)

    def end_chunk(self) -> None:
        (self.partial / IN_FLIGHT).unlink(missing_ok=True)

    def write_record(self, record: TransferRecord, now: dt.datetime) -> RecordWritten:
        folder = f"data/records/{record.uid}"
        pdf = _copy_checked(
            self.partial, f"{folder}/{record.pdf_name}", record.pdf_path, record.sha256
        )
        if isinstance(pdf, str):
            shutil.rmtree(self.partial / folder, ignore_errors=True)
            return RecordWritten(record.uid, included=False, reason=pdf, row=record.row)
        dossier = _write(self.partial, f"{folder}/{DOSSIER_FILE}", dossier_document(record))
        history = premis_document(record.premis, record.pdf_name, pdf.size)
        premis = _write(self.partial, f"{folder}/{PREMIS_FILE}", history)
        mets_bytes = mets_document(
            record,
            pdf_size=pdf.size,
            dossier_sha256=dossier.sha256,
            premis_sha256=premis.sha256,
            created=now,
            software=self.software,
        )
        mets = _write(self.partial, f"{folder}/{METS_FILE}", mets_bytes)
        row = {
            **record.row,
            "pdf": pdf.path,
            "mets": mets.path,
            "premis": premis.path,
            "dossier": dossier.path,
            "size": pdf.size,
            "sha256": pdf.sha256,
        }
        return RecordWritten(record.uid, included=True, files=(pdf, dossier, premis, mets), row=row)

    def finish(
        self,
        files: Iterable[PayloadFile],
        inventory: Iterable[dict],
        excluded: Iterable[dict],
        fonds: Fonds,
        info: PackageInfo,
    ) -> None:
        """The package files, the manifests (from `files`: the records' files as written),
        bagit.txt, bag-info.txt and the tag manifests. Streams: nothing is held per record."""
        lists = (
            _write_csv(self.partial, INVENTORY, INVENTORY_COLUMNS, inventory),
            _write_csv(self.partial, EXCLUDED, EXCLUDED_COLUMNS, excluded),
        )
        count, size = 0, 0
        manifests = {
            name: _HashingWriter(self.partial, f"manifest-{name}.txt") for name in ALGORITHMS
        }
        for entry in _chain(files, lists):
            count, size = count + 1, size + entry.size
            manifests["sha256"].write(f"{entry.sha256}  {entry.path}\n".encode())
            manifests["sha512"].write(f"{entry.sha512}  {entry.path}\n".encode())
        tags = [writer.close() for writer in manifests.values()]
        tags.append(
            _write(
                self.partial,
                "bagit.txt",
                b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
            )
        )
        tags.append(_write(self.partial, "bag-info.txt", _bag_info(fonds, info, count, size)))
        for name in ALGORITHMS:
            lines = "".join(f"{getattr(tag, name)}  {tag.path}\n" for tag in tags)
            _write(self.partial, f"tagmanifest-{name}.txt", lines.encode())

    def flush(self) -> None:
        """Everything written so far on disk, before the caller records it: one syncfs(2) of
        the bag's file system (os.sync where the C library has none)."""
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None:
            os.sync()
            return
        fd = os.open(self.partial.parent, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(self.partial))
        finally:
            os.close(fd)

    def publish(self) -> ValidationReport:
        """Validate the partial bag and, if valid, give it its name."""
        self.flush()
        report = validate_bag(self.partial)
        if report.ok:
            os.replace(self.partial, self.target)
            self.flush()
        return report


def _chain(files: Iterable[PayloadFile], more: tuple[PayloadFile, ...]) -> Iterator[PayloadFile]:
    yield from files
    yield from more


def _write_csv(
    bag: Path, relative: str, columns: tuple[str, ...], rows: Iterable[dict]
) -> PayloadFile:
    """A UTF-8 CSV with a header, written row by row."""
    writer = _HashingWriter(bag, relative)
    line = io.StringIO()
    table = csv.DictWriter(line, fieldnames=columns, extrasaction="ignore")
    try:
        table.writeheader()
        for row in rows:
            table.writerow(row)
            if line.tell() > BLOCK:
                writer.write(line.getvalue().encode("utf-8"))
                line.seek(0)
                line.truncate()
        writer.write(line.getvalue().encode("utf-8"))
    except BaseException:
        writer.discard()
        raise
    return writer.close()


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _bag_info(fonds: Fonds, info: PackageInfo, count: int, size: int) -> bytes:
    lines = [
        ("Source-Organization", info.source_organization),
        ("External-Identifier", info.identifier),
        ("Internal-Sender-Description", info.selection),
        ("Bagging-Date", info.bagging_date),
        ("Bag-Software-Agent", info.software),
        ("Bag-Size", _human(size)),
        ("Payload-Oxum", f"{size}.{count}"),
        ("Record-Count", str(info.records)),
        ("Excluded-Record-Count", str(info.excluded)),
        *fonds.values,
    ]
    return "".join(f"{label}: {' '.join(value.split())}\n" for label, value in lines).encode()


def validate_bag(path: Path) -> ValidationReport:
    """bagit-python's full validation (structure, completeness, Payload-Oxum, every digest
    of every manifest), then each record's METS against the METS schema and its dossier XML
    for well-formedness."""
    problems: list[str] = []
    try:
        bag = bagit.Bag(str(path))
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        details = [str(d) for d in exc.details or []]
        return ValidationReport(path, (f"bagit: {exc.message}", *details[:20]))
    except bagit.BagError as exc:
        return ValidationReport(path, (f"bagit: {exc}",))
    mets_count = 0
    for mets in sorted((path / "data" / "records").glob(f"*/{METS_FILE}")):
        mets_count += 1
        problems.extend(f"{mets.parent.name}/{p}" for p in mets_problems(mets))
        for other in (DOSSIER_FILE, PREMIS_FILE):
            problems.extend(f"{mets.parent.name}/{p}" for p in xml_problems(mets.with_name(other)))
    payload = sum(1 for _ in bag.payload_files())
    return ValidationReport(path, tuple(problems), payload, mets_count)
