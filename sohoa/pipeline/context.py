"""What a worker needs to process records, built once per run from `Settings`."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sohoa.archive import DossierDefaults, PassphraseRef, SignerSpec, load_signer
from sohoa.classify import load_catalogue
from sohoa.classify.registry import ModelRef
from sohoa.config import Settings
from sohoa.ocr import OcrSettings, PrepareSettings, tesseract
from sohoa.ocr.codes import CodeSettings
from sohoa.pipeline.models import active_model

PASSPHRASE_ENV = "SOHOA_SIGNING_PASSPHRASE"


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


def worker_settings(settings: Settings) -> WorkerSettings:
    """Check what every record will need (tesseract languages, the signing key) before any runs."""
    ocr = ocr_settings(settings)
    tesseract.check_languages(ocr.languages)
    archive, signing = settings.archive, settings.signing
    agency = archive.agency
    signer = SignerSpec(
        pkcs12=settings.signing_pkcs12,
        passphrase=passphrase_ref(settings),
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
    )
    load_signer(signer)
    classify = settings.classify
    return WorkerSettings(
        ocr=ocr,
        prepare=PrepareSettings(min_dpi=float(ocr.min_dpi)),
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
