"""Operators' guarantees, with real processes: a driver killed with SIGKILL, Ctrl-C, two runs
of one batch at once. Afterwards every record is archived exactly once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sohoa.sample import generate_sample
from tests.conftest import CATALOGUE, invoke

pytestmark = pytest.mark.slow
RECORDS = 6
SAFETY_S = 600  # a hung child must not hang CI; no assertion is made on elapsed time


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "scans"
    generate_sample(out, RECORDS, seed=11, catalogue=CATALOGUE, dpi=150)
    return out


@pytest.fixture
def scans(corpus: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOHOA_DATABASE_URL", f"sqlite:///{workdir / 'sohoa.db'}")
    assert invoke("init").exit_code == 0
    return Path(shutil.copytree(corpus, workdir / "scans"))


def _start(*args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "sohoa.cli", *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _query(workdir: Path, sql: str) -> list[tuple]:
    engine = create_engine(f"sqlite:///{workdir / 'sohoa.db'}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SAFETY_S
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "safety limit reached"
        time.sleep(0.2)


def _archived(workdir: Path) -> int:
    return _query(
        workdir, "SELECT count(*) FROM records WHERE state IN ('archived','needs_review')"
    )[0][0]


def _assert_each_record_archived_once(workdir: Path) -> None:
    states = dict(_query(workdir, "SELECT state, count(*) FROM records GROUP BY state"))
    assert states.get("archived", 0) + states.get("needs_review", 0) == RECORDS, states
    outputs = [row[0] for row in _query(workdir, "SELECT output_path FROM records")]
    files = sorted(str(p) for p in (workdir / "sohoa-data" / "archive").rglob("*") if p.is_file())
    assert sorted(outputs) == files  # one file per record, no temporaries, no strays


def test_driver_killed_with_sigkill_then_resumed(scans: Path, workdir: Path) -> None:
    driver = _start("run", str(scans), "--batch", "night", "--workers", "2")
    _wait_for(lambda: _archived(workdir) >= 1, driver)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its workers: a power cut
    driver.wait()
    assert 1 <= _archived(workdir) < RECORDS
    assert _query(workdir, "SELECT lock_owner FROM batches")[0][0] is not None

    resumed = invoke("resume", "night", "--workers", "2")
    assert resumed.exit_code == 0, resumed.output
    _assert_each_record_archived_once(workdir)
    owners = _query(workdir, "SELECT detail FROM events WHERE kind = 'takeover'")
    assert len(owners) == 1 and str(driver.pid) in owners[0][0]
    handed_out = _query(
        workdir, "SELECT count(*) FROM events WHERE kind = 'state' AND detail LIKE '%worker%'"
    )[0][0]
    assert handed_out > RECORDS  # records that were in flight at the kill were handed out again


def test_ctrl_c_puts_in_flight_records_back_and_exits_130(scans: Path, workdir: Path) -> None:
    driver = _start("run", str(scans), "--batch", "evening", "--workers", "2")
    _wait_for(lambda: _archived(workdir) >= 1, driver)
    driver.send_signal(signal.SIGINT)
    _out, err = driver.communicate(timeout=SAFETY_S)
    assert driver.returncode == 130, err
    assert "sohoa resume --batch evening" in err
    states = dict(_query(workdir, "SELECT state, count(*) FROM records GROUP BY state"))
    assert "processing" not in states, states
    assert _query(workdir, "SELECT lock_owner FROM batches")[0][0] is None
    assert invoke("resume", "evening").exit_code == 0
    _assert_each_record_archived_once(workdir)


def test_sigterm_twice_leaves_no_signed_file_without_its_record(scans: Path, workdir: Path) -> None:
    driver = _start("run", str(scans), "--batch", "stopping", "--workers", "2")
    _wait_for(lambda: _archived(workdir) >= 1, driver)
    driver.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    driver.send_signal(signal.SIGTERM)  # during the clean-up the first one started
    _out, err = driver.communicate(timeout=SAFETY_S)
    assert driver.returncode == 130, err
    states = dict(_query(workdir, "SELECT state, count(*) FROM records GROUP BY state"))
    assert "processing" not in states, states
    assert invoke("resume", "stopping").exit_code == 0
    _assert_each_record_archived_once(workdir)
    assert invoke("verify", "--orphans").exit_code == 0  # every signed file has its record


def test_a_second_run_of_a_running_batch_is_refused(scans: Path, workdir: Path) -> None:
    first = _start("run", str(scans), "--batch", "box", "--workers", "2")
    _wait_for(
        lambda: bool(_query(workdir, "SELECT 1 FROM batches WHERE lock_owner IS NOT NULL")), first
    )
    second = _start("run", str(scans), "--batch", "box", "--workers", "2")
    _out, err = second.communicate(timeout=SAFETY_S)
    assert second.returncode == 1 and "running already" in err
    assert first.wait(timeout=SAFETY_S) == 0, first.communicate()
    _assert_each_record_archived_once(workdir)
    signed = _query(
        workdir, "SELECT record_id, count(*) FROM events WHERE kind='sign' GROUP BY record_id"
    )
    assert len(signed) == RECORDS and all(n == 1 for _r, n in signed)
    status = json.loads(invoke("status", "box", "--format", "json").output)
    assert status["counts"]["processing"] == 0


def _worker_processes(parent: int) -> list[int]:
    """Dask's worker processes: the driver's children started by multiprocessing.spawn."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_a_worker_killed_mid_batch_is_survived(scans: Path, workdir: Path) -> None:
    driver = _start("run", str(scans), "--batch", "flaky", "--workers", "2")
    _wait_for(lambda: _archived(workdir) >= 1 and len(_worker_processes(driver.pid)) == 2, driver)
    os.kill(_worker_processes(driver.pid)[0], signal.SIGKILL)
    _out, err = driver.communicate(timeout=SAFETY_S)
    assert driver.returncode == 0, err
    _assert_each_record_archived_once(workdir)
    [(deaths,)] = _query(workdir, "SELECT count(*) FROM events WHERE kind = 'worker_lost'")
    assert deaths >= 1  # the death is in the trail, not only survived


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_a_stop_of_the_whole_group_leaves_no_traceback(
    scans: Path, workdir: Path, signum: int
) -> None:
    # A terminal's Ctrl-C (and a service manager's stop) reach the worker processes too.
    driver = _start("run", str(scans), "--batch", "stopped", "--workers", "2")
    _wait_for(lambda: _archived(workdir) >= 1, driver)
    os.killpg(driver.pid, signum)
    _out, err = driver.communicate(timeout=SAFETY_S)
    assert driver.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("interrupted: in-flight records went back")
