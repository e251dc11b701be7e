"""What a user sees when something is wrong: one line on stderr, the documented exit code,
never a traceback; and the read-only auditor role on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from tests.conftest import invoke


def _one_line_error(result, needle: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines
    assert "Traceback" not in result.output


def test_unreachable_database_is_one_clear_line(workdir: Path) -> None:
    env = {"SOHOA_DATABASE_URL": "postgresql+psycopg://u:secret@127.0.0.1:1/none"}
    result = invoke("status", env=env)
    _one_line_error(result, "cannot reach the database 127.0.0.1:1/none")
    assert "secret" not in result.output


def test_database_not_initialised_says_run_init(workdir: Path) -> None:
    _one_line_error(invoke("coverage"), "run 'sohoa init'")


def test_bad_config_files_are_named(workdir: Path) -> None:
    Path("config.yaml").write_text("ocr: [unclosed\n")
    _one_line_error(invoke("init"), "config.yaml is not valid YAML")
    Path("config.yaml").write_text("colour: red\n")
    _one_line_error(invoke("init"), "unknown setting(s) colour")


def test_unknown_batch_and_grouping_are_user_errors(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    _one_line_error(invoke("status", "nope"), "no batch named 'nope'")
    _one_line_error(invoke("coverage", "--by", "unit"), "needs the paper register")


def test_wrong_passphrase_stops_a_run_before_any_record(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    Path("scans").mkdir()
    env = {"SOHOA_SIGNING_PASSPHRASE": "not-the-passphrase"}
    result = invoke("run", "scans", env=env)
    _one_line_error(result, "wrong passphrase")
    assert "not-the-passphrase" not in result.output


def test_sample_refuses_a_folder_that_is_not_empty(workdir: Path) -> None:
    Path("scans").mkdir()
    Path("scans/keep.txt").write_text("x")
    _one_line_error(invoke("sample", "scans"), "is not empty")


def test_auditor_role_reads_but_cannot_write(
    workdir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOHOA_DATABASE_URL", database_url)
    assert invoke("init").exit_code == 0
    role = f"auditor_{uuid.uuid4().hex[:8]}"
    result = invoke("db", "grant-auditor", role, "--password", "pw-1")
    if database_url.startswith("sqlite"):
        _one_line_error(result, "auditor roles need PostgreSQL")
        return
    assert result.exit_code == 0, result.output
    url = make_url(database_url).set(username=role, password="pw-1")
    as_auditor = url.render_as_string(hide_password=False)
    try:
        assert (
            invoke("coverage", "--format", "json", env={"SOHOA_DATABASE_URL": as_auditor}).exit_code
            == 0
        )
        assert invoke("status", env={"SOHOA_DATABASE_URL": as_auditor}).exit_code == 0
        # An auditor may search: the search is logged under the auditor's role.
        assert invoke("search", "hồ sơ", env={"SOHOA_DATABASE_URL": as_auditor}).exit_code == 0
        log = invoke("search", "--log", "--format", "json", env={"SOHOA_DATABASE_URL": as_auditor})
        assert [row["database_role"] for row in json.loads(log.output)] == [role]
        engine = create_engine(as_auditor)
        with engine.connect() as connection, pytest.raises(ProgrammingError, match="permission"):
            connection.execute(text("DELETE FROM records"))
        engine.dispose()
    finally:
        _drop_role(database_url, role)


def _drop_role(database_url: str, role: str) -> None:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    database = make_url(database_url).database
    with admin.connect() as connection:
        for statement in (
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM "{role}"',
            f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"',
            f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"',
            f'REVOKE USAGE ON SCHEMA public FROM "{role}"',
            f'REVOKE CONNECT ON DATABASE "{database}" FROM "{role}"',
            f'DROP ROLE "{role}"',
        ):
            connection.execute(text(statement))
    admin.dispose()
