"""What a worker needs to process records, built once per run from `Settings`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sohoa.archive import (
    DossierDefaults,
    PassphraseRef,
    SignerSpec,
    TokenSpec,
    load_signer,
    signing_service,
)
from sohoa.classify import load_catalogue
from sohoa.classify.registry import ModelRef
from sohoa.config import Settings, SigningConfig
from sohoa.errors import SohoaError
from sohoa.ocr import OcrSettings, PrepareSettings, tesseract
from sohoa.ocr.codes import CodeSettings
from sohoa.pipeline.models import active_model

PASSPHRASE_ENV = "SOHOA_SIGNING_PASSPHRASE"
PIN_ENV = "SOHOA_SIGNING_PIN"


@dataclass(frozen=True)
class WorkerSettings:
    ocr: OcrSettings
    prepare: PrepareSettings
    catalogue: tuple[dict[str, Any], ...]
    review_threshold: float
    archive_dir: Path
    jpeg_quality: int
    agency: str
    language: str
    signer: SignerSpec
    dossier: DossierDefaults  # NĐ 30/2020 dossier fields from config (archive.*)
    model: ModelRef | None = None  # the active classifier model; None: the rules alone
    model_review_threshold: float = 0.9  # for confidences of rules + model (probabilities)
    codes: CodeSettings = field(default_factory=CodeSettings)  # dossier code on page 1 (link)
    engine: str = "tesseract"  # "null": benchmarks of the driver only (no OCR, no file)


def record_uid(batch: str, rel_path: str) -> str:
    """Stable public id of a record: the same batch and path give the same id on every run."""
    digest = hashlib.sha256(f"{batch}\0{rel_path}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def passphrase_ref(settings: Settings) -> PassphraseRef:
    """SOHOA_SIGNING_PASSPHRASE, else signing.passphrase_file, else the TEST key's file; read
    where the key is loaded, so that the secret itself is never sent to Dask."""
    configured = settings.signing.passphrase_file
    path = Path(configured) if configured else settings.keys_dir / "test-signer.pass"
    return PassphraseRef(PASSPHRASE_ENV, path)


def _paths(values: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(Path(value) for value in values)


def ocr_settings(settings: Settings) -> OcrSettings:
    return OcrSettings(**asdict(settings.ocr))


def resolve_pin(pin_file: str | None, environ: dict[str, str] | None = None) -> str:
    """From SOHOA_SIGNING_PIN, else signing.pin_file; never from config.yaml itself (the
    configuration refuses a `pin` key)."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get(PIN_ENV):
        return environ[PIN_ENV]
    if not pin_file:
        raise SohoaError(f"no token PIN: set {PIN_ENV} or signing.pin_file")
    try:
        return Path(pin_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SohoaError(
            f"no token PIN: signing.pin_file {pin_file} is not readable ({exc.strerror})"
        ) from exc


def _token_spec(signing: SigningConfig) -> TokenSpec | None:
    token = signing.pkcs11
    if not token.module:
        return None
    return TokenSpec(
        module=Path(token.module),
        pin=resolve_pin(signing.pin_file),
        sessions=token.sessions,
        token_label=token.token_label,
        token_serial=token.token_serial,
        key_label=token.key_label,
        key_id=token.key_id,
        cert_label=token.cert_label,
        cert_id=token.cert_id,
    )


def signer_spec(settings: Settings, *, with_key: bool = True) -> SignerSpec:
    """The signing identity from `signing.*`: a PKCS#11 token when signing.pkcs11.module is
    set, else the PKCS#12 file. `with_key=False`: the timestamp and validation settings only
    (timestamp renewal needs no key, hence no PIN or passphrase)."""
    signing = settings.signing
    agency = settings.archive.agency
    token = _token_spec(signing) if with_key else None
    return SignerSpec(
        pkcs12=settings.signing_pkcs12,
        passphrase=passphrase_ref(settings) if with_key and not token else b"",
        location=agency,
        agency=agency,
        level=signing.level,
        tsa_url=signing.tsa_url,
        tsa_timeout_s=signing.tsa_timeout_s,
        trust_roots=_paths(signing.trust_roots),
        other_certs=_paths(signing.other_certs),
        crls=_paths(signing.crls),
        fetch_revocation=signing.fetch_revocation,
        visible_stamp=signing.visible_stamp,
        seal_image=Path(signing.seal_image) if signing.seal_image else None,
        seal_size_mm=signing.seal_size_mm,
        pkcs11=token,
        expiry_warning_days=signing.expiry_warning_days,
        require_production=signing.require_production,
    )


def worker_settings(settings: Settings) -> WorkerSettings:
    """Check what every record will need (tesseract languages, the signing key) before any runs."""
    ocr = ocr_settings(settings)
    tesseract.check_languages(ocr.languages)
    archive = settings.archive
    signer = signer_spec(settings)
    load_signer(signer)
    classify = settings.classify
    return WorkerSettings(
        ocr=ocr,
        prepare=PrepareSettings(min_dpi=float(ocr.min_dpi), ocr_dpi=float(ocr.ocr_dpi)),
        catalogue=classify.catalogue,
        review_threshold=classify.review_threshold,
        archive_dir=settings.archive_dir,
        jpeg_quality=archive.jpeg_quality,
        agency=archive.agency,
        language=archive.language,
        signer=signer,
        codes=CodeSettings.from_config(asdict(settings.inventory)),
        dossier=DossierDefaults.from_config(asdict(archive)),
        # Refuses a model trained for another catalogue version before any record runs.
        model=active_model(settings, load_catalogue(list(classify.catalogue))),
        model_review_threshold=classify.model_review_threshold,
    )


@contextmanager
def token_signing(work: WorkerSettings) -> Iterator[WorkerSettings]:
    """With a PKCS#11 token: the batch's signing service in this process, and worker settings
    that send it their digests (no PIN, no module). Otherwise the settings as they are."""
    spec = work.signer
    if spec.pkcs11 is None or work.engine == "null":
        yield work
        return
    with signing_service(spec.pkcs11, load_signer(spec)) as service:
        yield replace(work, signer=replace(spec, pkcs11=None, service=service.address))
