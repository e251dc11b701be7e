"""Scale-out: usable cores, one thread per worker, and a real Dask cluster losing a worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sohoa.ocr import tesseract
from sohoa.pipeline import cluster, usable_cores
from tests.conftest import invoke

VENV_BIN = Path(sys.executable).parent
DEADLINE_S = 900  # a whole batch on a loaded 2-core machine; never a timing assertion


# --- usable cores ---------------------------------------------------------------------------


def _cgroup(tmp_path: Path, limits: dict[str, str], membership: str) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for folder, cpu_max in limits.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "cpu.max").write_text(f"{cpu_max}\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(membership)
    return root, proc


@pytest.fixture
def eight_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)))


def test_cgroup_v2_quota_of_own_group_caps_the_affinity(tmp_path: Path, eight_cpus: None) -> None:
    root, proc = _cgroup(tmp_path, {".": "max 100000", "box/job": "250000 100000"}, "0::/box/job\n")
    assert usable_cores(root, proc) == 2  # 2.5 cores of quota: two whole workers


def test_cgroup_v2_tightest_parent_wins(tmp_path: Path, eight_cpus: None) -> None:
    limits = {"box": "300000 100000", "box/job": "max 100000"}
    root, proc = _cgroup(tmp_path, limits, "0::/box/job\n")
    assert usable_cores(root, proc) == 3


def test_no_quota_means_the_affinity(tmp_path: Path, eight_cpus: None) -> None:
    root, proc = _cgroup(tmp_path, {"job": "max 100000"}, "0::/job\n")
    assert usable_cores(root, proc) == 8
    assert usable_cores(tmp_path / "absent", tmp_path / "absent-proc") == 8  # no cgroup info


def test_fractional_quota_below_one_core_still_gives_one_worker(
    tmp_path: Path, eight_cpus: None
) -> None:
    root, proc = _cgroup(tmp_path, {"job": "50000 100000"}, "0::/job\n")
    assert usable_cores(root, proc) == 1


def test_cgroup_v1_quota(tmp_path: Path, eight_cpus: None) -> None:
    root = tmp_path / "cgroup"
    (root / "cpu").mkdir(parents=True)
    (root / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("4:cpu,cpuacct:/docker/abc\n")
    assert usable_cores(root, proc) == 4
    (root / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # no limit
    assert usable_cores(root, proc) == 8


def test_affinity_limits_without_cgroup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {3})  # taskset -c 3
    root, proc = _cgroup(tmp_path, {"job": "400000 100000"}, "0::/job\n")
    assert usable_cores(root, proc) == 1


def test_this_machine() -> None:
    assert 1 <= usable_cores() <= len(os.sched_getaffinity(0))


# --- one thread per worker ------------------------------------------------------------------


def test_tesseract_runs_single_threaded() -> None:
    assert tesseract._env()["OMP_THREAD_LIMIT"] == "1"
    assert cluster.SINGLE_THREAD_ENV["OMP_THREAD_LIMIT"] == "1"
    assert cluster.DASK_CONFIG["distributed.nanny.pre-spawn-environ"] == cluster.SINGLE_THREAD_ENV


@pytest.mark.slow  # a fresh interpreter importing OpenCV and Dask: seconds, more when busy
def test_pin_threads_caps_blas_opencv_and_children() -> None:
    """In a fresh process whose environment asks for many threads, as a hand-started worker's
    might: after pin_threads, OpenBLAS, OpenCV and child programs get one thread."""
    probe = (
        "import json, os, cv2, numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "from sohoa.threads import pin_threads\n"
        "pin_threads()\n"
        "print(json.dumps({'pools': [p['num_threads'] for p in threadpool_info()],\n"
        "  'cv2': cv2.getNumThreads(), 'omp': os.environ['OMP_THREAD_LIMIT']}))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "4", "OMP_THREAD_LIMIT": "4"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout)
    assert seen["pools"] and set(seen["pools"]) == {1}
    assert seen["cv2"] == 1
    assert seen["omp"] == "1"


# --- big batches ----------------------------------------------------------------------------


def _tiny_records(root: Path, count: int) -> None:
    root.mkdir()
    for n in range(count):
        (root / f"HS-{n:03d}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + n.to_bytes(4, "big"))
    (root / "HS-folder").mkdir()
    (root / "HS-folder" / "p1.png").write_bytes(b"\x89PNG\r\n\x1a\nfolder")


def test_discovery_registers_in_chunks_as_it_streams(
    initialised, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sohoa.pipeline import driver
    from sohoa.records import open_database, session_scope, store

    _tiny_records(workdir / "scans", 6)
    chunks: list[int] = []
    real = store.register_records

    def counted(session, batch_id, found):
        found = list(found)
        chunks.append(len(found))
        return real(session, batch_id, found)

    monkeypatch.setattr(driver, "REGISTER_CHUNK", 3)
    monkeypatch.setattr(store, "register_records", counted)
    with open_database(initialised.database_url) as factory:
        with session_scope(factory) as session:
            batch = store.get_or_create_batch(session, "b", str(workdir / "scans"), {})
            batch_id = batch.id
        driver._register(factory, batch_id, "b", workdir / "scans")
        driver._register(factory, batch_id, "b", workdir / "scans")  # again: nothing new
        with session_scope(factory) as session:
            todo = store.records_to_do(session, batch_id, max_attempts=3, retry_all=False)
    assert chunks == [3, 3, 1, 3, 3, 1]
    assert [path for _id, _uid, path in todo] == [*(f"HS-{n:03d}.png" for n in range(6)),
                                                  "HS-folder"]  # fmt: skip


def test_engine_option_is_labelled_benchmark_only() -> None:
    result = invoke("run", "--help")
    assert "--engine [tesseract|null]" in result.output
    assert "BENCHMARK ONLY" in result.output


@pytest.mark.slow
def test_null_engine_goes_through_driver_dask_and_database_without_files(
    initialised, workdir: Path
) -> None:
    _tiny_records(workdir / "scans", 5)
    (workdir / "scans" / "HS-twin.png").write_bytes((workdir / "scans" / "HS-000.png").read_bytes())
    result = invoke("run", "scans", "--engine", "null", "--workers", "1")
    assert result.exit_code == 0, result.output
    engine = create_engine(initialised.database_url)
    try:
        with engine.connect() as connection:
            states = dict(connection.execute(text("SELECT rel_path, state FROM records")).all())
            kinds = connection.execute(
                text("SELECT kind, count(*) FROM events GROUP BY kind")
            ).all()
    finally:
        engine.dispose()
    assert states.pop("HS-twin.png") == "duplicate"  # the digest step ran for real
    assert set(states.values()) == {"needs_review"} and len(states) == 6
    assert dict(kinds)["null_engine"] == 6
    assert not any(p.is_file() for p in initialised.archive_dir.rglob("*"))


# --- a real cluster loses a worker ----------------------------------------------------------


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_for(what: str, check, deadline: float, proc: subprocess.Popen | None = None):
    """Poll `check` until it returns something truthy; fail clearly at the deadline."""
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"sohoa run ended (exit {proc.returncode}) while waiting for {what}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, as an operator starts
    them: no sohoa environment, one thread each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "OMP_", "DASK_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    scheduler_file = tmp_path / "scheduler.json"
    procs = [
        _start(
            [str(VENV_BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(scheduler_file)],
            tmp_path / "scheduler.log", env,
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        _wait_for("the scheduler file", lambda: scheduler_file.is_file(), deadline)
        address = json.loads(scheduler_file.read_text())["address"]
        for n in (1, 2):
            procs.append(
                _start(
                    [str(VENV_BIN / "dask"), "worker", address, "--nthreads", "1",
                     "--nworkers", "1", "--no-dashboard", "--name", f"w{n}",
                     "--local-directory", str(tmp_path / f"w{n}")],
                    tmp_path / f"worker{n}.log", env,
                )
            )  # fmt: skip
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=300)
        yield address, procs
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _committed(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM records WHERE state IN ('archived', 'needs_review')")
            ).scalar_one()
    finally:
        engine.dispose()


def _busy_with_a_record(client) -> tuple[str, str] | None:
    """(worker address, task key) of a worker processing a record right now."""
    for worker, keys in client.processing().items():
        for key in keys:
            if str(key).startswith("process-"):
                return worker, str(key)
    return None


def _times_started(client, key: str) -> int:
    def story(dask_scheduler, key=key) -> list:
        return [list(entry[:3]) for entry in dask_scheduler.story(key)]

    return sum(
        1 for _key, _start, finish in client.run_on_scheduler(story) if finish == "processing"
    )


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_worker_killed_mid_batch_every_record_archived_exactly_once(
    initialised, workdir: Path, database_url: str, dask_cluster
) -> None:
    from distributed import Client

    address, _procs = dask_cluster
    assert invoke("sample", "scans", "--records", "6", "--seed", "8", "--dpi", "150").exit_code == 0
    env = {**os.environ, "SOHOA_DATABASE_URL": database_url}
    run = subprocess.Popen(
        [str(VENV_BIN / "sohoa"), "run", "scans", "--batch", "cluster", "--scheduler", address],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + DEADLINE_S
    try:
        with Client(address, timeout="60s") as client:
            # Deterministic: the kill comes once a first record is committed and while a
            # worker is in the middle of another record.
            _wait_for("a first committed record", lambda: _committed(database_url), deadline, run)
            victim, key = _wait_for(
                "a worker busy with a record", lambda: _busy_with_a_record(client), deadline, run
            )
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            output, _ = run.communicate(timeout=max(1, deadline - time.monotonic()))
            restarts = _times_started(client, key)
            pinned = client.run(lambda: os.environ.get("OMP_THREAD_LIMIT"))
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, output
    assert restarts >= 2, f"{key} was not started again after its worker was killed"
    assert set(pinned.values()) == {"1"}  # hand-started workers pinned by the plugin

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            records = connection.execute(
                text("SELECT id, uid, state, output_path, output_sha256 FROM records")
            ).all()
            sign_events = text(
                "SELECT record_id, count(*) FROM events WHERE kind = 'sign' GROUP BY record_id"
            )
            signs = dict(connection.execute(sign_events).all())
    finally:
        engine.dispose()
    assert len(records) == 6
    assert {state for _id, _uid, state, _path, _sha in records} <= {"archived", "needs_review"}
    assert all(signs.get(record_id) == 1 for record_id, *_ in records), signs
    outputs = {Path(path) for _id, _uid, _state, path, _sha in records}
    assert len(outputs) == 6  # one file per record
    archive = initialised.archive_dir
    on_disk = {p for p in archive.rglob("*") if p.is_file()}
    assert on_disk == outputs, "a second copy or a leftover temporary is on disk"
    from sohoa.ingest import sha256_bytes

    for _id, _uid, _state, path, sha in records:
        assert sha256_bytes(Path(path).read_bytes()) == sha


# --- the dashboard ----------------------------------------------------------------------------


def _listening_address(port: int) -> str:
    import psutil

    [address] = {
        conn.laddr.ip
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
    }
    return address


def test_the_local_dashboard_listens_on_loopback_only(workdir: Path) -> None:
    from sohoa.config import load_settings

    address = cluster.dashboard_address(load_settings())
    assert address == "127.0.0.1:0"
    with cluster.dask_client(1, None, address) as client:
        port = client.scheduler_info()["services"]["dashboard"]
        assert _listening_address(port) == "127.0.0.1"
