"""PAdES signing with pyHanko: load the identity once, check it, sign last.

Levels (ETSI EN 319 142-1): B-B a plain signature; B-T adds an RFC 3161 signature timestamp
from `tsa_url`; B-LT also embeds the certificates and revocation data (CRL/OCSP) in the
document security store (DSS); B-LTA then adds a document timestamp over everything.
Only the TSA and, for B-LT/B-LTA, the CRL/OCSP addresses named in the certificates are
contacted (the latter can be switched off with `fetch_revocation` when `crls` are given).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from PIL import Image
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import (
    AxisAlignment,
    BoxConstraints,
    InnerScaling,
    Margins,
    SimpleBoxLayoutRule,
)
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from sohoa.archive.keys import is_test_certificate
from sohoa.archive.service import RemoteSigner, ServiceAddress
from sohoa.archive.token import TokenSpec, token_signer
from sohoa.errors import SohoaError

SIGNATURE_FIELD = "SohoaDigitization"
TIMESTAMP_FIELD = "SohoaArchiveTimestamp"
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
# Times New Roman is asked for (NĐ 30/2020 Phụ lục I); Liberation Serif (Times metrics) has no
# Vietnamese letters such as ư, ờ, ế, so the stamp uses Noto Serif, which has them all.
STAMP_FONT = Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf")
STAMP_SIZE_PT = 10
STAMP_BOX_PT = (230, 34)  # width, height
STAMP_MARGIN_PT = 28  # about 1 cm from the top and right edges
POINTS_PER_MM = 72 / 25.4
SEAL_GAP_PT = 4  # between the seal and the stamp's text
# The stamp's time is Vietnam's (UTC+07:00, no daylight saving), whatever the server's zone.
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")


@dataclass(frozen=True)
class PassphraseRef:
    """Where the passphrase is, read where the key is loaded: what travels to Dask workers
    (and the scheduler's logs) names an environment variable and a file, never the secret.
    A remote worker needs the variable or the file itself."""

    env: str | None
    file: Path

    def read(self) -> bytes:
        if self.env and os.environ.get(self.env):
            return os.environ[self.env].encode()
        try:
            return self.file.read_bytes().strip()
        except OSError as exc:
            where = f"set {self.env} or " if self.env else ""
            raise SohoaError(
                f"no signing passphrase: {where}make {self.file} readable ({exc.strerror})"
            ) from exc


@dataclass(frozen=True)
class SignerSpec:
    """What a worker needs to load the signing identity. The passphrase never prints."""

    pkcs12: Path
    passphrase: bytes | PassphraseRef = field(repr=False)
    reason: str = "Số hóa tài liệu (digitized copy)"
    location: str = ""
    level: str = "B-B"
    tsa_url: str | None = None
    tsa_timeout_s: float = 10.0
    trust_roots: tuple[Path, ...] = ()  # PEM/DER, B-LT/B-LTA: where the chains must end
    other_certs: tuple[Path, ...] = ()  # PEM/DER intermediates not inside the PKCS#12 file
    crls: tuple[Path, ...] = ()  # PEM/DER CRLs known in advance (B-LT/B-LTA)
    fetch_revocation: bool = True  # B-LT/B-LTA: fetch CRL/OCSP named in the certificates
    visible_stamp: bool = False  # page 1 top-right: agency + ISO 8601 time (NĐ 30/2020)
    seal_image: Path | None = None  # PNG with transparency: the red seal, left of the text
    seal_size_mm: float = 36.0  # the seal's real width on paper; height from its proportions
    agency: str = ""  # the stamp's first line
    field_name: str = SIGNATURE_FIELD
    stamp_font: Path = STAMP_FONT
    pkcs11: TokenSpec | None = None  # the key on a token or HSM instead of the PKCS#12 file
    expiry_warning_days: int = 30  # `sohoa run` warns when the certificate ends sooner
    require_production: bool = False  # refuse the TEST certificate made by `sohoa init`
    service: ServiceAddress | None = None  # in workers: the batch's signing service (token)

    @property
    def timestamped(self) -> bool:
        return self.level != "B-B"

    @property
    def stamped(self) -> bool:
        """A visible stamp on page 1: asked for, or implied by a seal image."""
        return self.visible_stamp or self.seal_image is not None

    @property
    def long_term(self) -> bool:
        return self.level in ("B-LT", "B-LTA")


def check_spec(spec: SignerSpec) -> None:
    """Refuse a configuration that cannot produce the requested level, in one line."""
    if spec.level not in LEVELS:
        raise SohoaError(f"signing.level '{spec.level}' is unknown: use one of {', '.join(LEVELS)}")
    if spec.timestamped and not spec.tsa_url:
        raise SohoaError(
            f"signing.level {spec.level} needs a timestamp server: set signing.tsa_url"
        )
    if spec.tsa_url and not spec.tsa_url.startswith(("http://", "https://")):
        raise SohoaError(f"signing.tsa_url '{spec.tsa_url}' is not an http(s) URL")
    if spec.long_term and not spec.trust_roots:
        raise SohoaError(f"signing.level {spec.level} needs signing.trust_roots (PEM files)")
    for path in (*spec.trust_roots, *spec.other_certs, *spec.crls):
        if not Path(path).is_file():
            raise SohoaError(f"signing file {path} not found")
    if spec.stamped and not spec.stamp_font.is_file():
        raise SohoaError(f"stamp font {spec.stamp_font} not found: install fonts-noto-core")
    if spec.seal_image is not None:
        _seal(spec.seal_image)
        if not 5 <= spec.seal_size_mm <= 100:
            raise SohoaError(f"signing.seal_size_mm {spec.seal_size_mm} is not between 5 and 100")


@functools.cache
def _seal(path: Path) -> Image.Image:
    """The seal image, checked once: a PNG whose background is transparent."""
    try:
        with Image.open(path) as opened:
            kind = opened.format
            image = opened.convert("RGBA") if _has_alpha(opened) else None
    except (OSError, ValueError) as exc:
        raise SohoaError(f"signing.seal_image {path} cannot be read: {exc}") from None
    if kind != "PNG" or image is None:
        raise SohoaError(f"signing.seal_image {path} must be a PNG with a transparent background")
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


class KeptKeySigner(signers.SimpleSigner):
    """A SimpleSigner that parses its private key once per process.

    pyHanko's SimpleSigner parses the DER key again for every signature, and for RSA that
    includes OpenSSL's key consistency check: about 45 ms of CPU per record with a 2048-bit
    key, more with bigger ones - most of the signing step. The key never changes while a
    worker lives, so it is parsed on first use and kept.
    """

    @classmethod
    def from_signer(cls, loaded: signers.SimpleSigner) -> KeptKeySigner:
        return cls(
            signing_cert=loaded.signing_cert,
            signing_key=loaded.signing_key,
            cert_registry=loaded.cert_registry,
            signature_mechanism=loaded.signature_mechanism,
            prefer_pss=loaded.prefer_pss,
            embed_roots=loaded.embed_roots,
        )

    @functools.cached_property
    def private_key(self) -> object:
        return serialization.load_der_private_key(self.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:  # a mechanism asn1crypto cannot name: pyHanko's own code decides
            return super().sign_raw(data, digest_algorithm)
        key = self.private_key
        if algorithm == "rsassa_pkcs1v15":
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algorithm == "rsassa_pss":
            return key.sign(data, *process_pss_params(mechanism["parameters"]))
        if algorithm == "ecdsa":
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)  # rarer keys: parsed per signature


KEY_PROBE = b"sohoa: does the key match its certificate?"


def _check_validity(cert: x509.Certificate) -> None:
    now = dt.datetime.now(dt.UTC)
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    not_before = cert["tbs_certificate"]["validity"]["not_before"].native
    subject = cert.subject.human_friendly
    if now > not_after:
        raise SohoaError(f"signing certificate '{subject}' expired on {not_after:%Y-%m-%d}")
    if now < not_before:
        raise SohoaError(f"signing certificate '{subject}' is not valid before {not_before}")


def _check_key_matches(signer: signers.Signer) -> None:
    """Sign a probe and check it with the certificate's public key: a token holding a
    renewed certificate next to the old key must not produce files nobody can verify."""
    mechanism = signer.get_signature_mechanism_for_digest("sha256")
    signature = asyncio.run(signer.async_sign_raw(KEY_PROBE, "sha256"))
    try:
        DefaultSignatureValidator().validate_signature(
            signature, KEY_PROBE, signer.signing_cert.public_key, mechanism
        )
    except InvalidSignature:
        subject = signer.signing_cert.subject.human_friendly
        raise SohoaError(
            f"the signing key does not match its certificate '{subject}': "
            "configure the key and certificate of the same identity"
        ) from None


def _load_pkcs12(spec: SignerSpec) -> KeptKeySigner:
    if not spec.pkcs12.is_file():
        raise SohoaError(
            f"signing key {spec.pkcs12} not found: run 'sohoa init' or set signing.pkcs12"
        )
    passphrase = spec.passphrase
    if isinstance(passphrase, PassphraseRef):
        passphrase = passphrase.read()
    try:
        signer = signers.SimpleSigner.load_pkcs12(
            str(spec.pkcs12),
            ca_chain_files=[str(p) for p in spec.other_certs] or None,
            passphrase=passphrase,
        )
    except (ValueError, TypeError) as exc:
        signer = None
        cause: Exception | None = exc
    else:
        cause = None
    if signer is None:
        raise SohoaError(
            f"cannot open signing key {spec.pkcs12}: wrong passphrase or not a PKCS#12 file"
        ) from cause
    return KeptKeySigner.from_signer(signer)


@functools.cache
def load_signer(spec: SignerSpec) -> signers.Signer:
    """Load and check the identity, once per process: a wrong passphrase or PIN, a missing
    token, an expired certificate or a key that does not match it is a user error."""
    check_spec(spec)
    signer: signers.Signer
    if spec.service is not None:
        signer = RemoteSigner(spec.service)
    elif spec.pkcs11 is not None:
        signer = token_signer(spec.pkcs11)
    else:
        signer = _load_pkcs12(spec)
    _check_validity(signer.signing_cert)
    if spec.require_production and is_test_certificate(signer.signing_cert):
        raise SohoaError(
            "signing.require_production is set but the key is the TEST one made by "
            "'sohoa init': configure signing.pkcs12 or signing.pkcs11"
        )
    if spec.service is None:  # the driver checked the token's key before the batch
        _check_key_matches(signer)
    return signer


def signer_facts(spec: SignerSpec) -> dict[str, object]:
    """Who signs, for the record's metadata: `sohoa export` shows whether it was the TEST key."""
    cert = load_signer(spec).signing_cert
    return {"subject": cert.subject.human_friendly, "test_certificate": is_test_certificate(cert)}


def identity_notes(spec: SignerSpec) -> list[str]:
    """What `sohoa run` says once, at start, about the identity it signs with."""
    cert = load_signer(spec).signing_cert
    notes = []
    if is_test_certificate(cert):
        notes.append(
            "signing with the TEST certificate made by 'sohoa init': its files are not worth "
            "anything in law; configure signing.pkcs12 or signing.pkcs11"
        )
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    left = not_after - dt.datetime.now(dt.UTC)
    if left < dt.timedelta(days=spec.expiry_warning_days):
        notes.append(
            f"warning: the signing certificate '{cert.subject.human_friendly}' expires on "
            f"{not_after:%Y-%m-%d} ({left.days} days): renew it before then"
        )
    return notes


def _read_crls(path: Path) -> list[asn1_crl.CertificateList]:
    data = path.read_bytes()
    if pem.detect(data):
        return [asn1_crl.CertificateList.load(der) for _t, _h, der in pem.unarmor(data, True)]
    return [asn1_crl.CertificateList.load(data)]


def validation_context(spec: SignerSpec) -> ValidationContext:
    """Trust roots, intermediates and CRLs of the spec; revocation must be checkable."""
    return ValidationContext(
        trust_roots=[c for p in spec.trust_roots for c in load_certs_from_pemder([str(p)])],
        other_certs=[c for p in spec.other_certs for c in load_certs_from_pemder([str(p)])],
        crls=[c for p in spec.crls for c in _read_crls(p)],
        allow_fetching=spec.fetch_revocation,
        revocation_mode="hard-fail",
    )


def _metadata(spec: SignerSpec) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=spec.field_name,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=spec.reason,
        location=spec.location or None,
        embed_validation_info=spec.long_term,
        use_pades_lta=spec.level == "B-LTA",
        timestamp_field_name=TIMESTAMP_FIELD if spec.level == "B-LTA" else None,
        validation_context=validation_context(spec) if spec.long_term else None,
    )


def _seal_size_pt(spec: SignerSpec) -> tuple[float, float]:
    if spec.seal_image is None:
        return 0.0, 0.0
    image = _seal(spec.seal_image)
    width = spec.seal_size_mm * POINTS_PER_MM
    return width, width * image.height / image.width


def _stamp_box(spec: SignerSpec, writer: IncrementalPdfFileWriter) -> tuple[int, int, int, int]:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    *_, urx, ury = (float(v) for v in page["/MediaBox"])
    seal_width, seal_height = _seal_size_pt(spec)
    width = round(seal_width + (SEAL_GAP_PT if seal_width else 0) + STAMP_BOX_PT[0])
    height = round(max(seal_height, STAMP_BOX_PT[1]))
    right, top = int(urx - STAMP_MARGIN_PT), int(ury - STAMP_MARGIN_PT)
    return (right - width, top - height, right, top)


def _stamp_style(spec: SignerSpec) -> TextStampStyle:
    font = GlyphAccumulatorFactory(
        str(spec.stamp_font), font_size=STAMP_SIZE_PT, create_objstream_if_needed=False
    )
    text_style = TextBoxStyle(font=font, font_size=STAMP_SIZE_PT, text_color=(0.0, 0.0, 0.0))
    if spec.seal_image is None:
        return TextStampStyle(
            stamp_text="%(agency)s\n%(when)s",
            text_box_style=text_style,
            border_width=0,
            background=None,
        )
    seal_width, seal_height = _seal_size_pt(spec)
    # The seal at its real size on the left (never scaled to the box), the text right of it.
    seal = PdfImage(_seal(spec.seal_image), box=BoxConstraints(seal_width, seal_height))
    return TextStampStyle(
        stamp_text="%(agency)s\n%(when)s",
        text_box_style=text_style,
        border_width=0,
        background=seal,
        background_opacity=1.0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=AxisAlignment.ALIGN_MAX,
            margins=Margins.uniform(0),
            inner_content_scaling=InnerScaling.NO_SCALING,
        ),
        inner_content_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MIN,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins(left=int(seal_width) + SEAL_GAP_PT),
        ),
    )


def _pdf_signer(
    spec: SignerSpec, writer: IncrementalPdfFileWriter
) -> tuple[signers.PdfSigner, dict[str, str] | None]:
    timestamper = (
        HTTPTimeStamper(spec.tsa_url, timeout=spec.tsa_timeout_s)
        if spec.timestamped and spec.tsa_url
        else None
    )
    if not spec.stamped:
        return signers.PdfSigner(_metadata(spec), load_signer(spec), timestamper=timestamper), None
    field_spec = fields.SigFieldSpec(spec.field_name, on_page=0, box=_stamp_box(spec, writer))
    pdf_signer = signers.PdfSigner(
        _metadata(spec),
        load_signer(spec),
        timestamper=timestamper,
        stamp_style=_stamp_style(spec),
        new_field_spec=field_spec,
    )
    when = dt.datetime.now(VIETNAM_TIME).replace(microsecond=0).isoformat()
    return pdf_signer, {"agency": spec.agency or spec.location, "when": when}


def sign_pdf(data: bytes, spec: SignerSpec) -> bytes:
    """Add a PAdES signature of `spec.level` as an incremental update covering the whole file."""
    check_spec(spec)
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    pdf_signer, text_params = _pdf_signer(spec, writer)
    out = io.BytesIO()
    with pyhanko_errors(spec, f"{spec.level}: signing certificate chain", f"{spec.level} signing"):
        pdf_signer.sign_pdf(writer, output=out, appearance_text_params=text_params)
    return out.getvalue()


@contextlib.contextmanager
def pyhanko_errors(spec: SignerSpec, chain: str, operation: str) -> Iterator[None]:
    """pyHanko's failures a user can fix (TSA down, chain not validated) as one line."""
    try:
        yield
    except TimestampRequestError as exc:
        raise SohoaError(f"timestamp server {spec.tsa_url} did not answer: {exc}") from exc
    except (PathBuildingError, PathValidationError) as exc:
        raise SohoaError(f"{chain} not validated: {exc}") from exc
    except SigningError as exc:
        raise SohoaError(f"{operation} failed: {exc}") from exc
