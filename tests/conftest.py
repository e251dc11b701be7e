"""Shared fixtures: a data folder with an initialised database, generated scans, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner, Result
from PIL import Image
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from sohoa.archive import build_pdfa, encode_page
from sohoa.cli import main
from sohoa.config import Settings, load_settings
from sohoa.ocr import tesseract
from sohoa.records import Event, Record, database_session, make_engine, upgrade
from tests import softhsm
from tests.pki import Pki, running_pki

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = yaml.safe_load((REPO / "sohoa" / "config.yaml").read_text(encoding="utf-8"))[
    "classify"
]["catalogue"]
POSTGRES_ENV = "SOHOA_TEST_POSTGRES_URL"
# veraPDF over every PDF/A the session produced, in one Java start at its end.
pytest_plugins = ["tests.pdfa_audit"]


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A new empty database: SQLite in `folder`, or PostgreSQL (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'test.db'}"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_ENV} not set: run the suite with 'make test' (starts PostgreSQL)")
    name = f"sohoa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend; the PostgreSQL one is dropped afterwards."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated database of each backend."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(migrated_engine: Engine) -> sessionmaker:
    """A session factory on a fresh, migrated database of each backend."""
    return sessionmaker(migrated_engine, expire_on_commit=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with SOHOA_* variables cleared, as a new user would have."""
    for var in list(os.environ):
        if var.startswith("SOHOA_") and var != POSTGRES_ENV:
            monkeypatch.delenv(var)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def events_per_record(settings: Settings, kind: str) -> dict[str, int]:
    """{record uid: how many `kind` events it has}, records without one left out."""
    with database_session(settings.database_url) as session:
        rows = session.execute(
            select(Record.uid, func.count()).join(Event, Event.record_id == Record.id)
            .where(Event.kind == kind).group_by(Record.uid)
        )  # fmt: skip
        return {uid: int(n) for uid, n in rows}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def initialised(workdir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`sohoa init` done in `workdir`, on each database backend."""
    monkeypatch.setenv("SOHOA_DATABASE_URL", database_url)
    result = invoke("init")
    assert result.exit_code == 0, result.output
    return load_settings()


@pytest.fixture(scope="session")
def unsigned_pdf() -> bytes:
    """A one-page PDF/A-2b with a real tesseract text layer, not yet signed."""
    from tests.test_archive import form_page, metadata

    image = form_page()
    ocr = tesseract.run_ocr(np.asarray(Image.fromarray(image).convert("L")), 150, "vie", 120)
    return build_pdfa([encode_page(image, 150, ocr.text_pdf, quality=75)], metadata())


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    """A root -> issuing CA PKI with a timestamp server and CRLs on 127.0.0.1."""
    # The server's watchdog must outlive the whole session: tests that use the TSA run from
    # the first module that needs the PKI (test_certificates) to the last (test_token).
    with running_pki(tmp_path_factory.mktemp("pki"), lifetime_s=3 * 3600) as running:
        yield running


@pytest.fixture(scope="session")
def tokens(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, softhsm.SoftToken]:
    """SoftHSM2 tokens (made before this process first loads the module): 'signer' holds the
    test PKI's signer, 'reviewer' the reviewer (a key change), 'mismatch' the signer's key
    with the reviewer's certificate, 'expired' the expired signer; 'pulled' and 'resumed'
    hold the signer again, for the tests that take them out."""
    if not softhsm.available():
        pytest.skip("softhsm2 or opensc not installed: run 'make setup'")
    folder = tmp_path_factory.mktemp("softhsm")
    softhsm.configure(folder)
    p12 = {
        "signer": pki.signer_p12,
        "pulled": pki.signer_p12,  # taken out of its slot by a test
        "resumed": pki.signer_p12,  # taken out in the middle of a batch
        "reviewer": pki.reviewer_p12,
        "expired": pki.expired_p12,
    }
    made = {
        name: softhsm.make_token(folder, name, path, pki.passphrase) for name, path in p12.items()
    }
    made["mismatch"] = softhsm.make_token(
        folder, "mismatch", pki.signer_p12, pki.passphrase, cert_from=pki.reviewer_p12
    )
    return made
