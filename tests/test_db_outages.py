"""The database away, replaced or damaged: retried, stopped with one line, never a
traceback or commits into a deleted file: issue 19, case 6."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from sohoa.config import load_settings
from sohoa.errors import SohoaError
from sohoa.records import db as sohoa_db
from sohoa.records import open_database, session_scope
from tests.conftest import invoke


@pytest.fixture
def sqlite_db(workdir: Path) -> Path:
    assert invoke("init").exit_code == 0
    return load_settings().data_dir / "sohoa.db"


@pytest.mark.parametrize("command", [("status",), ("export",), ("run", "scans"), ("init",)])
def test_a_damaged_sqlite_file_is_one_line_for_every_command(
    sqlite_db: Path, workdir: Path, command: tuple[str, ...]
) -> None:
    (workdir / "scans").mkdir()
    for leftover in sqlite_db.parent.glob("sohoa.db-*"):  # WAL and shared memory
        leftover.unlink()
    sqlite_db.write_bytes(b"this is no SQLite file " * 200)
    result = invoke(*command)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "damaged" in line and "restore it from the last backup" in line


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_sqlite_file_deleted_or_replaced_while_open_stops_the_writes(
    sqlite_db: Path, how: str
) -> None:
    with open_database(f"sqlite:///{sqlite_db}") as factory:
        with session_scope(factory) as session:
            session.execute(text("SELECT count(*) FROM records"))
        if how == "deleted":
            sqlite_db.unlink()
        else:
            copy = sqlite_db.with_name("copy.db")
            shutil.copy(sqlite_db, copy)
            copy.replace(sqlite_db)
        with pytest.raises(SohoaError, match=f"was {how}"), session_scope(factory) as session:
            session.execute(text("SELECT count(*) FROM records"))


def _done(status_json: str) -> int:
    """Records archived (or in review) by the batch; none left pending or processing."""
    counts = json.loads(status_json)["counts"]
    assert counts["pending"] == counts["processing"] == counts["failed"] == 0, counts
    return counts["archived"] + counts["needs_review"]


def _hold_write_lock(db: Path, seconds: float, held: threading.Event) -> None:
    """Take SQLite's write lock once a record is being processed, keep it `seconds`."""
    connection = sqlite3.connect(db, isolation_level=None, timeout=60)
    try:
        while not connection.execute(
            "SELECT count(*) FROM records WHERE state = 'processing'"
        ).fetchone()[0]:
            time.sleep(0.2)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@pytest.fixture
def short_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sohoa_db, "SQLITE_BUSY_MS", 2_000)


def _run_under_lock(workdir: Path, db: Path, hold_s: float, retry_s: float):
    """`sohoa run` while another connection holds the write lock `hold_s` seconds; SQLite's
    busy timeout is 2 s here instead of 30, so that the lock outlasts it in a short test."""
    (workdir / "config.yaml").write_text(yaml.safe_dump({"pipeline": {"db_retry_s": retry_s}}))
    assert invoke("sample", "scans", "--records", "2", "--seed", "9").exit_code == 0
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db, hold_s, held), daemon=True)
    holder.start()
    result = invoke("run", "scans", "--batch", "locked", "--workers", "1")
    holder.join()
    assert held.is_set()  # the lock was really taken mid-run
    return result


@pytest.mark.slow
def test_a_write_lock_held_past_the_busy_timeout_is_waited_out(sqlite_db: Path, workdir: Path, short_busy: None) -> None:  # noqa: E501
    # Longer than SQLite's own busy_timeout (30 s in use, 2 s here), which alone ended in a
    # traceback.
    result = _run_under_lock(workdir, sqlite_db, hold_s=6, retry_s=120)
    assert result.exit_code == 0, result.output
    assert _done(invoke("status", "locked", "--format", "json").output) == 2


@pytest.mark.slow
def test_a_lock_held_past_db_retry_s_stops_with_one_line(
    sqlite_db: Path, workdir: Path, short_busy: None
) -> None:
    result = _run_under_lock(workdir, sqlite_db, hold_s=6, retry_s=1)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "pipeline.db_retry_s" in errors[0], result.output
    assert "Traceback" not in result.output


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Callable[[str], None]]]:
    """A PostgreSQL cluster of this test's own on port 5439, dropped afterwards: stopping it
    disturbs no other user of the machine's cluster. Yields its URL and `pg_ctlcluster`."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*"), key=lambda p: int(p.name))
    if not versions or shutil.which("pg_createcluster") is None:
        pytest.skip("PostgreSQL server is not installed (make system-deps)")
    version, name, port = versions[-1].name, f"sohoa_outage_{os.getpid()}", "5439"
    created = subprocess.run(["pg_createcluster", version, name, "-p", port, "--start"],
                             capture_output=True, text=True)  # fmt: skip
    if created.returncode != 0:
        pytest.skip(f"cannot create a PostgreSQL cluster here: {created.stderr.strip()}")

    def control(action: str) -> None:
        fast = ["-m", "fast"] if action == "stop" else []
        subprocess.run(["pg_ctlcluster", version, name, action, *fast], check=True)

    try:
        sql = "CREATE ROLE outage LOGIN SUPERUSER PASSWORD 'outage'"
        subprocess.run(["su", "postgres", "-c", f'psql -q -p {port} -c "{sql}"'], check=True)
        yield f"postgresql+psycopg://outage:outage@127.0.0.1:{port}/postgres", control
    finally:
        subprocess.run(["pg_dropcluster", version, name, "--stop"], capture_output=True)


def _outage(url: str, control: Callable[[str], None], seconds: float, down: threading.Event) -> None:  # noqa: E501
    engine = create_engine(url)
    try:
        while True:
            with engine.connect() as connection:
                busy = connection.execute(
                    text("SELECT count(*) FROM records WHERE state = 'processing'")
                ).scalar_one()
            if busy:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    control("stop")
    down.set()
    try:
        time.sleep(seconds)
    finally:
        control("start")


@pytest.mark.slow
def test_postgresql_down_for_seconds_mid_run_is_waited_out(
    workdir: Path, own_postgres: tuple[str, Callable[[str], None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, control = own_postgres
    monkeypatch.setenv("SOHOA_DATABASE_URL", url)
    (workdir / "config.yaml").write_text(yaml.safe_dump({"pipeline": {"db_retry_s": 120}}))
    assert invoke("init").exit_code == 0
    assert invoke("sample", "scans", "--records", "3", "--seed", "4").exit_code == 0
    down = threading.Event()
    outage = threading.Thread(target=_outage, args=(url, control, 8, down), daemon=True)
    outage.start()
    result = invoke("run", "scans", "--batch", "outage", "--workers", "1")
    outage.join()
    assert down.is_set()
    assert result.exit_code == 0, result.output
    assert _done(invoke("status", "outage", "--format", "json").output) == 3
