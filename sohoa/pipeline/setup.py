"""`sohoa init`: folders, the database schema, and a TEST signing identity when none is set."""

from __future__ import annotations

from dataclasses import dataclass

from sohoa.archive import create_test_identity
from sohoa.config import Settings
from sohoa.records import make_engine, upgrade


@dataclass(frozen=True)
class InitReport:
    revision: str
    signing_key: str
    signing_note: str  # "configured", "TEST key, made earlier", "TEST key, made now"


def initialise(settings: Settings) -> InitReport:
    """Idempotent: nothing that exists is replaced."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.archive_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    if settings.signing.pkcs12:
        return InitReport(revision, str(settings.signing_pkcs12), "configured")
    if settings.signing_pkcs12.exists():
        return InitReport(revision, str(settings.signing_pkcs12), "TEST key, made earlier")
    identity = create_test_identity(settings.keys_dir, settings.archive.agency)
    return InitReport(revision, str(identity.pkcs12), "TEST key, made now")
