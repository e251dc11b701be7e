"""Checks of an archived file: its signatures (pyHanko) and its PDF/A claim."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sohoa.archive import verapdf


@dataclass(frozen=True)
class SignatureCheck:
    field: str
    signer: str
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the cryptography holds
    trusted: bool  # the certificate chains to a configured root
    covers_whole_file: bool  # nothing was appended after it

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted


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
    checks = []
    with path.open("rb") as handle:
        reader = PdfFileReader(handle, strict=False)
        for embedded in reader.embedded_signatures:
            status = validate_pdf_signature(embedded, context)
            checks.append(
                SignatureCheck(
                    field=embedded.field_name,
                    signer=status.signing_cert.subject.human_friendly,
                    intact=status.intact,
                    valid=status.valid,
                    trusted=status.trusted,
                    covers_whole_file=status.coverage.name == "ENTIRE_FILE",
                )
            )
    return checks


def _quick_pdfa_check(path: Path) -> PdfaCheck:
    """What can be seen without veraPDF: identification, output intent, no encryption, no JS."""
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
    except pikepdf.PdfError as exc:
        problems.append(f"unreadable: {exc}")
    return PdfaCheck("pikepdf quick check", not problems, tuple(problems))


def check_pdfa(paths: list[Path]) -> dict[Path, PdfaCheck]:
    """PDF/A-2B verdicts: veraPDF when installed, otherwise the quick pikepdf check."""
    if not verapdf.available():
        return {path: _quick_pdfa_check(path) for path in paths}
    name = f"veraPDF {verapdf.version()}"
    verdicts = verapdf.validate(paths)
    return {
        path: PdfaCheck(name, verdicts[path].compliant, verdicts[path].failures)
        if path in verdicts
        else PdfaCheck(name, False, ("no verdict from veraPDF",))
        for path in paths
    }


__all__ = ["PdfReadError", "PdfaCheck", "SignatureCheck", "check_pdfa", "verify_signatures"]
