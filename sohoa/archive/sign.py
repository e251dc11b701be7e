"""PAdES signing with pyHanko: load the identity once, check it, sign last."""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass, field
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter

from sohoa.errors import SohoaError

SIGNATURE_FIELD = "SohoaDigitization"


@dataclass(frozen=True)
class SignerSpec:
    """What a worker needs to load the signing identity. The passphrase never prints."""

    pkcs12: Path
    passphrase: bytes = field(repr=False)
    reason: str = "Số hóa tài liệu (digitized copy)"
    location: str = ""


@functools.cache
def load_signer(spec: SignerSpec) -> signers.SimpleSigner:
    """Load and check the identity; a wrong passphrase or expired certificate is a user error."""
    if not spec.pkcs12.is_file():
        raise SohoaError(
            f"signing key {spec.pkcs12} not found: run 'sohoa init' or set signing.pkcs12"
        )
    try:
        signer = signers.SimpleSigner.load_pkcs12(str(spec.pkcs12), passphrase=spec.passphrase)
    except (ValueError, TypeError) as exc:
        raise SohoaError(
            f"cannot open signing key {spec.pkcs12}: wrong passphrase or not a PKCS#12 file"
        ) from exc
    if signer is None:
        raise SohoaError(
            f"cannot open signing key {spec.pkcs12}: wrong passphrase or not a PKCS#12 file"
        )
    cert = signer.signing_cert
    now = dt.datetime.now(dt.UTC)
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    not_before = cert["tbs_certificate"]["validity"]["not_before"].native
    subject = cert.subject.human_friendly
    if now > not_after:
        raise SohoaError(f"signing certificate '{subject}' expired on {not_after:%Y-%m-%d}")
    if now < not_before:
        raise SohoaError(f"signing certificate '{subject}' is not valid before {not_before}")
    return signer


def sign_pdf(data: bytes, spec: SignerSpec) -> bytes:
    """Add a PAdES baseline signature as an incremental update covering the whole file."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=spec.reason,
        location=spec.location or None,
    )
    out = io.BytesIO()
    signers.sign_pdf(writer, meta, signer=load_signer(spec), output=out)
    return out.getvalue()
