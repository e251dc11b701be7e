"""What a worker needs to process records, built once per run from `Settings`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sohoa.archive import (
    DossierDefaults,
    SignerSpec,
    TokenSpec,
    load_signer,
    signing_service,
)
from sohoa.classify import load_catalogue
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.ocr import OcrSettings, PrepareSettings, tesseract
from sohoa.ocr.codes import CodeSettings
from sohoa.pipeline.training import ModelRef, active_model

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


def resolve_passphrase(settings: Settings, environ: dict[str, str] | None = None) -> bytes:
    """From SOHOA_SIGNING_PASSPHRASE, else signing.passphrase_file, else the TEST key's file."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get(PASSPHRASE_ENV):
        return environ[PASSPHRASE_ENV].encode()
    configured = settings.section("signing").get("passphrase_file")
    path = Path(configured) if configured else settings.keys_dir / "test-signer.pass"
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise SohoaError(
            f"no signing passphrase: set {PASSPHRASE_ENV} or signing.passphrase_file "
            f"({path} is not readable)"
        ) from exc


def _paths(values: list[str] | None) -> tuple[Path, ...]:
    return tuple(Path(value) for value in values or ())


def resolve_pin(signing: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    """From SOHOA_SIGNING_PIN, else signing.pin_file; never from config.yaml itself."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get(PIN_ENV):
        return environ[PIN_ENV]
    configured = signing.get("pin_file")
    if not configured:
        raise SohoaError(f"no token PIN: set {PIN_ENV} or signing.pin_file")
    try:
        return Path(configured).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SohoaError(
            f"no token PIN: signing.pin_file {configured} is not readable ({exc.strerror})"
        ) from exc


def _token_spec(signing: dict[str, Any]) -> TokenSpec | None:
    token = signing.get("pkcs11") or {}
    if not token.get("module"):
        return None
    if token.get("pin") or signing.get("pin"):
        raise SohoaError(
            f"a PIN in config.yaml is never read: remove it, use {PIN_ENV} or signing.pin_file"
        )
    text = {
        key: None if token.get(key) is None else str(token[key])
        for key in ("token_label", "token_serial", "key_label", "key_id", "cert_label", "cert_id")
    }
    return TokenSpec(
        module=Path(token["module"]),
        pin=resolve_pin(signing),
        sessions=int(token.get("sessions") or 1),
        **text,
    )


def signer_spec(settings: Settings, *, with_key: bool = True) -> SignerSpec:
    """The signing identity from `signing.*`: a PKCS#11 token when signing.pkcs11.module is
    set, else the PKCS#12 file. `with_key=False`: the timestamp and validation settings only
    (timestamp renewal needs no key, hence no PIN or passphrase)."""
    signing = settings.section("signing")
    agency = str(settings.section("archive").get("agency", ""))
    token = _token_spec(signing) if with_key else None
    return SignerSpec(
        pkcs12=settings.signing_pkcs12,
        passphrase=resolve_passphrase(settings) if with_key and not token else b"",
        location=agency,
        agency=agency,
        level=str(signing.get("level") or "B-B"),
        tsa_url=signing.get("tsa_url"),
        tsa_timeout_s=float(signing.get("tsa_timeout_s") or 10),
        trust_roots=_paths(signing.get("trust_roots")),
        other_certs=_paths(signing.get("other_certs")),
        crls=_paths(signing.get("crls")),
        fetch_revocation=bool(signing.get("fetch_revocation", True)),
        visible_stamp=bool(signing.get("visible_stamp", False)),
        seal_image=Path(signing["seal_image"]) if signing.get("seal_image") else None,
        seal_size_mm=float(signing.get("seal_size_mm") or 36),
        pkcs11=token,
        expiry_warning_days=int(signing.get("expiry_warning_days", 30)),
        require_production=bool(signing.get("require_production", False)),
    )


def worker_settings(settings: Settings) -> WorkerSettings:
    """Check what every record will need (tesseract languages, the signing key) before any runs."""
    ocr = OcrSettings.from_config(settings.section("ocr"))
    tesseract.check_languages(ocr.languages)
    archive = settings.section("archive")
    signer = signer_spec(settings)
    load_signer(signer)
    classify = settings.section("classify")
    return WorkerSettings(
        ocr=ocr,
        prepare=PrepareSettings(min_dpi=float(ocr.min_dpi)),
        catalogue=tuple(classify["catalogue"]),
        review_threshold=float(classify["review_threshold"]),
        archive_dir=settings.archive_dir,
        jpeg_quality=int(archive.get("jpeg_quality", 75)),
        agency=str(archive.get("agency", "")),
        language=str(archive.get("language", "vi")),
        signer=signer,
        codes=CodeSettings.from_config(settings.section("inventory")),
        dossier=DossierDefaults.from_config(archive),
        # Refuses a model trained for another catalogue version before any record runs.
        model=active_model(settings, load_catalogue(list(classify["catalogue"]))),
        model_review_threshold=float(classify.get("model_review_threshold", 0.9)),
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
