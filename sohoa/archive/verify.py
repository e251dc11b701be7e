"""Checks of an archived file: its signatures (pyHanko) and its PDF/A claim."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pikepdf
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import ModificationInfo
from pyhanko_certvalidator import ValidationContext

from sohoa.archive import structure, verapdf
from sohoa.archive.keys import is_test_certificate
from sohoa.ingest.fixity import sha256_file


@dataclass(frozen=True)
class SignatureCheck:
    field: str
    signer: str
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the cryptography holds
    trusted: bool  # the certificate chains to a configured root
    covers_whole_file: bool  # nothing was appended after it
    kind: str = "signature"  # or "timestamp" (a PAdES B-LTA document timestamp)
    timestamp_ok: bool | None = None  # its RFC 3161 signature timestamp; None: there is none
    # pyHanko's difference analysis of what was appended after it: NONE, LTA_UPDATES (DSS,
    # document timestamps), FORM_FILLING (e.g. a later signature), ANNOTATIONS or OTHER.
    modification: str = "NONE"
    # /Info entries and XMP properties that differ between the revision it signed and the
    # file: pyHanko rates any metadata update as LTA_UPDATES, a changed title included.
    changed_metadata: tuple[str, ...] = ()
    test_certificate: bool = False  # made with a TEST identity of `sohoa init`

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.timestamp_ok is not False


@dataclass(frozen=True)
class PdfaCheck:
    validator: str  # "veraPDF 1.28.2" or "pikepdf quick check"
    compliant: bool
    failures: tuple[str, ...]


def verify_signatures(path: Path, trust_roots: Iterable[Path]) -> list[SignatureCheck]:
    """Validate every signature in `path`; an unreadable file raises `PdfReadError`."""
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(root)) for root in trust_roots],
        allow_fetching=False,
    )
    data = path.read_bytes()
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    return [
        replace(_check(embedded, context), changed_metadata=_metadata_changes(data, embedded))
        for embedded in reader.embedded_signatures
    ]


# What every revision pyHanko appends (the DSS, a document timestamp, a later signature)
# rewrites: the modification dates and the producer.
_BOOKKEEPING = {
    "/ModDate", "/Producer",
    "{http://ns.adobe.com/xap/1.0/}ModifyDate", "{http://ns.adobe.com/xap/1.0/}MetadataDate",
    "{http://ns.adobe.com/pdf/1.3/}Producer",
}  # fmt: skip


def _metadata(pdf: pikepdf.Pdf) -> dict[str, str]:
    info = pdf.trailer.get("/Info")
    entries = {key: str(value) for key, value in info.items()} if info is not None else {}
    return {**entries, **{key: str(value) for key, value in pdf.open_metadata().items()}}


def _metadata_changes(data: bytes, embedded: EmbeddedPdfSignature) -> tuple[str, ...]:
    """The metadata entries (bookkeeping aside) the revisions after `embedded` changed."""
    _start, _length, second, second_length = embedded.byte_range
    end = second + second_length
    if end >= len(data):
        return ()
    try:
        with pikepdf.open(io.BytesIO(data[:end])) as signed, pikepdf.open(io.BytesIO(data)) as now:
            before, after = _metadata(signed), _metadata(now)
    except pikepdf.PdfError:
        return ("the signed revision cannot be read apart",)
    keys = (before.keys() | after.keys()) - _BOOKKEEPING
    return tuple(sorted(key for key in keys if before.get(key) != after.get(key)))


def _modification(status: ModificationInfo) -> str:
    level = status.modification_level
    return (level or ModificationLevel.OTHER).name


def _check(embedded: EmbeddedPdfSignature, context: ValidationContext) -> SignatureCheck:
    if embedded.sig_object_type == "/DocTimeStamp":
        status = validate_pdf_timestamp(embedded, context)
        return _as_check(embedded, status, kind="timestamp", timestamp_ok=None)
    status = validate_pdf_signature(embedded, context)
    tst = status.timestamp_validity
    timestamp_ok = None if tst is None else tst.intact and tst.valid and tst.trusted
    return _as_check(embedded, status, kind="signature", timestamp_ok=timestamp_ok)


def _as_check(
    embedded: EmbeddedPdfSignature, status: Any, *, kind: str, timestamp_ok: bool | None
) -> SignatureCheck:
    """pyHanko's status of a signature or a document timestamp, as sohoa's verdict."""
    return SignatureCheck(
        field=embedded.field_name,
        signer=status.signing_cert.subject.human_friendly,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        covers_whole_file=status.coverage.name == "ENTIRE_FILE",
        kind=kind,
        timestamp_ok=timestamp_ok,
        modification=_modification(status),
        test_certificate=is_test_certificate(status.signing_cert),
    )


# After the last signature only validation data (DSS, document timestamps) may follow; after an
# earlier one also the later signatures themselves.
_ALLOWED_AFTER_LAST = {"NONE", "LTA_UPDATES"}
_ALLOWED_AFTER_EARLIER = {"NONE", "LTA_UPDATES", "FORM_FILLING"}


def signature_problems(checks: list[SignatureCheck]) -> list[str]:
    """The `sohoa verify` words for what the checks of one file found."""
    if not checks:
        return ["unsigned: no signature found"]
    problems = []
    for n, check in enumerate(checks):
        if not check.intact:
            problems.append(f"signature_broken: {check.field} no longer matches the file")
        elif not check.valid:
            problems.append(f"signature_invalid: {check.field}")
        elif not check.trusted:
            problems.append(f"untrusted: {check.field} signed by {check.signer}")
        elif check.timestamp_ok is False:
            problems.append(f"timestamp_invalid: {check.field}")
        allowed = _ALLOWED_AFTER_LAST if n == len(checks) - 1 else _ALLOWED_AFTER_EARLIER
        if check.intact and check.modification not in allowed:
            problems.append(
                f"modified_after_signing: {check.modification} changes after {check.field}"
            )
        elif check.intact and check.changed_metadata:
            changed = ", ".join(check.changed_metadata)
            problems.append(
                f"modified_after_signing: metadata {changed} changed after {check.field}"
            )
    return problems


@dataclass(frozen=True)
class FileCheck:
    """What `sohoa verify` finds in one archived file, PDF/A and structure aside."""

    problems: list[str]
    test_certificate: bool | None  # a TEST certificate made a signature; None: unreadable


def check_file(path: Path, expected_sha256: str | None, roots: list[Path]) -> FileCheck:
    """Fixity and every signature of one archived file, from one reading of its signatures."""
    if not path.is_file():
        return FileCheck(["missing: the archived file is not there"], None)
    problems = []
    if expected_sha256 is not None and sha256_file(path) != expected_sha256:
        problems.append("sha256_mismatch: the file differs from the one archived")
    try:
        checks = verify_signatures(path, roots)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        return FileCheck([*problems, f"unreadable: {exc}"], None)
    test = any(c.test_certificate for c in checks if c.kind == "signature")
    return FileCheck([*problems, *signature_problems(checks)], test)


def file_problems(path: Path, expected_sha256: str | None, roots: list[Path]) -> list[str]:
    """Everything `sohoa verify` reports for one archived file, PDF/A aside (see check_pdfa)."""
    return check_file(path, expected_sha256, roots).problems


def structure_problems(path: Path) -> list[str]:
    """libqpdf's verdict on the file's structure (see `structure`), as `sohoa verify` words."""
    found = structure.check(path)
    return [] if found.ok else ["pdf_structure: " + "; ".join(found.messages[:3])]


QUICK_CHECK = "pikepdf quick check"


def _resources(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every resource dictionary the pages draw with: pages, their form XObjects (nested),
    and annotation appearances (a visible signature's stamp)."""
    streams: list[pikepdf.Object] = []
    for page in pdf.pages:
        streams.append(page.obj)
        for annot in page.obj.get("/Annots", []):
            appearance = annot.get("/AP")
            if appearance is not None:
                streams.extend(v for v in appearance.values() if isinstance(v, pikepdf.Stream))
    seen: set[tuple[int, int]] = set()
    while streams:
        holder = streams.pop()
        if holder.is_indirect:
            if holder.objgen in seen:
                continue
            seen.add(holder.objgen)
        resources = holder.get("/Resources")
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        yield resources
        for xobject in (resources.get("/XObject") or {}).values():
            if xobject.get("/Subtype") == "/Form":
                streams.append(xobject)


def _unembedded_fonts(pdf: pikepdf.Pdf) -> list[str]:
    """Names of the fonts drawn with but without an embedded font program (PDF/A-2 6.2.11.4)."""
    missing = []
    for resources in _resources(pdf):
        for font in (resources.get("/Font") or {}).values():
            if font.get("/Subtype") == "/Type3":  # glyphs are content streams
                continue
            if font.get("/Subtype") == "/Type0":
                font = font.DescendantFonts[0]
            descriptor = font.get("/FontDescriptor")
            if descriptor is None or not any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                missing.append(str(font.get("/BaseFont", "?")).lstrip("/"))
    return missing


def _quick_pdfa_check(path: Path) -> PdfaCheck:
    """What can be seen without veraPDF: identification, output intent, fonts embedded, no
    encryption, no JavaScript."""
    problems = []
    try:
        with pikepdf.open(path) as pdf:
            meta = pdf.open_metadata()
            if meta.get("pdfaid:part") != "2" or meta.get("pdfaid:conformance") != "B":
                problems.append("XMP does not claim PDF/A-2B")
            if "/OutputIntents" not in pdf.Root:
                problems.append("no OutputIntent")
            if pdf.is_encrypted:
                problems.append("encrypted")
            if "/Names" in pdf.Root and "/JavaScript" in pdf.Root.Names:
                problems.append("contains JavaScript")
            missing = _unembedded_fonts(pdf)
            if missing:
                problems.append("fonts not embedded: " + ", ".join(sorted(set(missing))))
    except pikepdf.PdfError as exc:
        problems.append(f"unreadable: {exc}")
    return PdfaCheck(QUICK_CHECK, not problems, tuple(problems))


def check_pdfa(paths: list[Path]) -> dict[Path, PdfaCheck]:
    """PDF/A-2B verdicts: veraPDF when installed, otherwise the quick pikepdf check."""
    if not verapdf.available():
        return {path: _quick_pdfa_check(path) for path in paths}
    if not paths:
        return {}
    verdicts = verapdf.validate(paths)
    name = f"veraPDF {verapdf.version()}"  # from the report: no second Java start
    return {
        path: PdfaCheck(name, verdicts[path].compliant, verdicts[path].failures)
        if path in verdicts
        else PdfaCheck(name, False, ("no verdict from veraPDF",))
        for path in paths
    }


__all__ = [
    "FileCheck",
    "PdfReadError",
    "PdfaCheck",
    "SignatureCheck",
    "check_file",
    "check_pdfa",
    "file_problems",
    "signature_problems",
    "structure_problems",
    "verify_signatures",
]
