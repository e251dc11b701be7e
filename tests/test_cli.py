"""What a user sees when something is wrong: one line on stderr, the documented exit code,
never a traceback; and the read-only auditor role on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    _one_line_error(invoke("init"), "colour: unknown setting")


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


def _register_without_code(folder: Path) -> str:
    path = folder / "register.csv"
    path.write_text("title,unit\nA,B\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "NO_SUCH_DIR"], "Directory 'NO_SUCH_DIR' does not exist"),
        (["run", "config.yaml"], "is a file"),
        (["coverage", "--since", "2020-13-01"], "'2020-13-01' does not match"),
        (["inventory", "import", "MISSING.csv"], "File 'MISSING.csv' does not exist"),
        (["status", "--format", "xml"], "'xml' is not one of"),
        (["no-such-command"], "No such command"),
    ],
)
def test_usage_errors_exit_1_in_one_line(workdir: Path, args: list[str], needle: str) -> None:
    # click's own exit code for these is 2, which means "the batch finished with failures".
    assert invoke("init").exit_code == 0
    Path("config.yaml").write_text("{}\n")
    _one_line_error(invoke(*args), needle)


def test_a_register_without_a_code_column_is_a_usage_error(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    result = invoke("inventory", "import", _register_without_code(workdir))
    _one_line_error(result, "the header has no 'code' column")


def _sohoa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """sohoa in its own interpreter: what a terminal shows, library loggers included."""
    environ = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "sohoa.cli", *args],
        capture_output=True, text=True, env=environ, timeout=300, check=False,
    )  # fmt: skip


def test_wrong_passphrase_is_one_line_and_pyhanko_speaks_only_with_v(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    Path("scans").mkdir()
    env = {"SOHOA_SIGNING_PASSPHRASE": "not-the-passphrase"}
    quiet = _sohoa("run", "scans", env=env)
    assert quiet.returncode == 1
    assert quiet.stderr.strip().splitlines() == [
        f"error: cannot open signing key {workdir}/sohoa-data/keys/test-signer.p12: wrong "
        "passphrase or not a PKCS#12 file"
    ]
    verbose = _sohoa("-v", "run", "scans", env=env)
    assert verbose.returncode == 1
    assert "pyhanko" in verbose.stderr and "Could not load key material" in verbose.stderr


def test_quiet_and_verbose_together_are_refused(workdir: Path) -> None:
    _one_line_error(invoke("-q", "-v", "status"), "choose -q or -v")


HEAVY = ("dask", "distributed", "cv2", "pyhanko", "sklearn", "pikepdf", "numpy", "ocrmypdf",
         "alembic", "sohoa.records.search", "fastapi", "starlette", "uvicorn", "jinja2", "argon2",
         "pydantic", "sohoa.web.app")  # fmt: skip
LOADED = """
import sys
from sohoa.cli import main
try:
    main({args!r})
except SystemExit as stop:
    assert stop.code == 0, stop.code
print("loaded:", *(name for name in {heavy!r} if name in sys.modules))
"""


@pytest.mark.parametrize("args", [["--help"], ["status"], ["config", "show"]])
def test_quick_commands_do_not_import_the_heavy_libraries(workdir: Path, args: list[str]) -> None:
    # What makes 'sohoa --help' and 'sohoa status' start in well under a second.
    assert invoke("init").exit_code == 0
    code = LOADED.format(args=args, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=300)  # fmt: skip
    assert done.stdout.splitlines()[-1] == "loaded:"
