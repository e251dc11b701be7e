"""Make an archived file again with new metadata, without OCR: its first revision (the PDF/A
as built, before any signature) gets the new XMP packet and is signed again. Runs on the
workers; the register step (sohoa.pipeline.register) plans what to rebuild and commits it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pikepdf

from sohoa.archive import RecordMetadata, SignerSpec, original_revision, sign_pdf, with_metadata
from sohoa.errors import SohoaError
from sohoa.ingest import sha256_bytes
from sohoa.pipeline.outputs import write_atomically


@dataclass(frozen=True)
class Rebuild:
    """One archived file to make again: where it is, what it must still be, what it gets."""

    record_id: int
    uid: str
    rel_path: str
    old: str
    old_sha256: str
    meta: RecordMetadata
    new: str  # the same as `old` when only the metadata changes, not the name


@dataclass(frozen=True)
class Rebuilt:
    uid: str
    sha256: str | None = None  # of the new signed file, written at `Rebuild.new`
    problem: str | None = None  # why it could not be rebuilt; nothing was written


def rebuild_files(items: list[Rebuild], signer: SignerSpec) -> list[Rebuilt]:
    """Rebuild each file of `items`; one that cannot be rebuilt is reported, not fatal."""
    results = []
    for item in items:
        try:
            results.append(Rebuilt(item.uid, sha256=_rebuild(item, signer)))
        except SohoaError as exc:
            results.append(Rebuilt(item.uid, problem=str(exc)))
    return results


def _rebuild(item: Rebuild, signer: SignerSpec) -> str:
    old = Path(item.old)
    try:
        signed_before = old.read_bytes()
    except OSError as exc:
        raise SohoaError(f"cannot read {old}: {exc.strerror}") from exc
    if sha256_bytes(signed_before) != item.old_sha256:
        raise SohoaError(f"{old} changed since it was archived: run 'sohoa verify'")
    try:
        unsigned = with_metadata(original_revision(signed_before), item.meta)
    except (ValueError, pikepdf.PdfError) as exc:
        raise SohoaError(f"{old} cannot be rebuilt: {exc}") from exc
    signed = sign_pdf(unsigned, signer)
    try:
        # A new name never replaces a file that is there: another record's, or one left by an
        # earlier attempt that did not commit (listed by 'sohoa verify --orphans').
        write_atomically(Path(item.new), signed, exclusive=item.new != item.old)
    except FileExistsError as exc:
        raise SohoaError(f"{item.new} exists already: run 'sohoa link' again") from exc
    except OSError as exc:
        raise SohoaError(f"cannot write {item.new}: {exc.strerror}") from exc
    return sha256_bytes(signed)
