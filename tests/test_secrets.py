"""No credential is stored, printed or sent to Dask: issue 19, case 1."""

from __future__ import annotations

import os
import pickle
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from sohoa.config import load_settings
from sohoa.pipeline import worker_settings
from sohoa.records import make_engine, upgrade
from sohoa.records.db import _alembic_config
from sohoa.records.models import Batch
from sohoa.redact import redact
from tests.conftest import POSTGRES_ENV, invoke

DB_PASSWORD = "Pw-" + uuid.uuid4().hex  # distinctive: a grep cannot match anything else


def test_redact_replaces_secrets_and_keeps_where_they_live() -> None:
    config = {
        "database_url": "postgresql+psycopg://clerk:s3cr%40t@db.local/sohoa",
        "signing": {"passphrase_file": "/etc/sohoa/pass", "pin": "1234", "tsa_url": "https://t"},
        "pkcs11": {"user_pin": 1234, "token_label": "HSM"},
        "classify": {"catalogue": [{"key": "khai_sinh", "keywords": ["token"]}]},
    }
    clean = redact(config)
    assert clean["database_url"] == "postgresql+psycopg://clerk:***@db.local/sohoa"
    assert clean["signing"] == {"passphrase_file": "/etc/sohoa/pass", "pin": "***",
                                "tsa_url": "https://t"}  # fmt: skip
    assert clean["pkcs11"]["user_pin"] == "***"
    assert clean["pkcs11"]["token_label"] == "HSM"  # where the secret lives, not a secret
    assert clean["classify"] == config["classify"]


@pytest.fixture
def private_postgres() -> tuple[str, str]:
    """A PostgreSQL database owned by a role whose password appears nowhere else."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_ENV} not set: run the suite with 'make test' (starts PostgreSQL)")
    suffix = uuid.uuid4().hex[:10]
    role, database = f"sohoa_clerk_{suffix}", f"sohoa_test_{suffix}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{DB_PASSWORD}'"))
        connection.execute(text(f"GRANT {role} TO CURRENT_USER"))  # to make it an owner
        connection.execute(text(f'CREATE DATABASE "{database}" OWNER {role}'))
    url = make_url(admin_url).set(username=role, password=DB_PASSWORD, database=database)
    try:
        yield url.render_as_string(hide_password=False), admin_url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _all_rows_as_text(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
            assert "batches" in tables and "events" in tables
            dumps = [
                str(connection.execute(text(f'SELECT * FROM "{table}"')).all())
                for table in tables
            ]
    finally:
        engine.dispose()
    return "\n".join(dumps)


def _files_text(folder: Path, skip: Path) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and skip not in path.parents
    }


@pytest.mark.slow
def test_no_password_or_passphrase_in_database_outputs_files_or_dask(
    workdir: Path, private_postgres: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _admin = private_postgres
    monkeypatch.setenv("SOHOA_DATABASE_URL", url)
    outputs = [invoke("init")]
    settings = load_settings()
    passphrase = (settings.keys_dir / "test-signer.pass").read_text().strip()
    assert len(passphrase) >= 24
    outputs.append(invoke("sample", "scans", "--records", "2", "--seed", "3"))
    outputs.append(invoke("run", "scans", "--batch", "secret-check", "--workers", "1"))
    assert outputs[-1].exit_code == 0, outputs[-1].output
    for args in (("status",), ("export", "--format", "jsonl"), ("verify",),
                 ("coverage", "--format", "json"), ("config", "show")):  # fmt: skip
        outputs.append(invoke(*args))
    printed = "\n".join(result.output for result in outputs)
    assert "secret-check" in printed

    stored = _all_rows_as_text(url)
    assert "secret-check" in stored and "clerk" in stored  # the snapshot is there, redacted
    files = _files_text(workdir, skip=settings.keys_dir)  # keys/ is where the secret lives
    assert any(path.suffix == ".pdf" for path in files)
    sent_to_dask = pickle.dumps(worker_settings(settings))
    for secret in (DB_PASSWORD, passphrase):
        assert secret not in stored
        assert secret not in printed
        assert [path for path, data in files.items() if secret.encode() in data] == []
        assert secret.encode() not in sent_to_dask


def test_migration_redacts_snapshots_stored_before(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        config = _alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
        leaked = {"database_url": f"postgresql+psycopg://clerk:{DB_PASSWORD}@h/db", "ocr": {}}
        with Session(engine) as session, session.begin():
            session.add(Batch(name="old", source="/x", config=leaked))
        upgrade(engine)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT config FROM batches")).scalar_one()
    finally:
        engine.dispose()
    assert DB_PASSWORD not in str(stored)
    assert "clerk:***@h/db" in str(stored)
