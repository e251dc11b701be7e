"""The archive's storage refusing a write (read-only, full) is named as such, stops the run
from wasting attempts, and a resume finishes once it is fixed: issue 19, case 3."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from sohoa.config import load_settings
from sohoa.pipeline import process_record
from sohoa.records import database_session
from sohoa.records.models import Record
from tests.conftest import invoke
from tests.test_archive import form_page
from tests.test_worker import _hash, _record, settings  # noqa: F401 (fixture)


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 512 KB tmpfs, unmounted afterwards; skipped where this machine cannot mount."""
    point = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", "size=512k", "tmpfs", str(point))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=True)


def _fill(folder: Path) -> None:
    """Write until the file system is full."""
    with (folder / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_full_disk_fails_as_disk_full_naming_the_path(settings, workdir: Path, small_fs: Path) -> None:  # noqa: F811, E501
    archive = small_fs / "archive"
    archive.mkdir()
    _fill(small_fs)
    task = _record(workdir / "scans", "HS-FULL", [(form_page(100), 100)])
    outcome = process_record(task, _hash(task), replace(settings, archive_dir=archive))
    assert (outcome.ok, outcome.error_reason) == (False, "disk_full")
    assert str(archive) in (outcome.error_message or "")
    assert not [p for p in archive.rglob("*") if p.is_file()]  # no half-written file left


def test_a_read_only_archive_fails_as_archive_unwritable(settings, workdir: Path, small_fs: Path) -> None:  # noqa: F811, E501
    assert _mount("-o", "remount,ro", str(small_fs)).returncode == 0
    task = _record(workdir / "scans", "HS-RO", [(form_page(100), 100)])
    outcome = process_record(task, _hash(task), replace(settings, archive_dir=small_fs / "a"))
    assert (outcome.ok, outcome.error_reason) == (False, "archive_unwritable")
    assert str(small_fs / "a") in (outcome.error_message or "")
    assert "Read-only file system" in (outcome.error_message or "")


def _records() -> list[tuple[str, str, int, str | None]]:
    with database_session(load_settings().database_url) as session:
        rows = session.execute(select(Record.rel_path, Record.state, Record.attempts,
                                      Record.error_reason).order_by(Record.rel_path))  # fmt: skip
        return [tuple(row) for row in rows]


@pytest.mark.slow
def test_a_full_archive_stops_the_run_and_resume_finishes_it(
    initialised, workdir: Path, small_fs: Path
) -> None:
    config = {"pipeline": {"max_in_flight_per_worker": 1}}  # two records in flight at most
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    assert invoke("sample", "scans", "--records", "5", "--seed", "5").exit_code == 0
    _fill(small_fs)
    env = {"SOHOA_ARCHIVE_DIR": str(small_fs / "archive")}
    result = invoke("run", "scans", "--batch", "full", "--workers", "1", env=env)
    assert result.exit_code == 2, result.output
    [line] = [text for text in result.output.splitlines() if "stopped" in text]
    assert "disk_full" in line and "sohoa resume --batch full" in line
    rows = _records()
    failed = [row for row in rows if row[1] == "failed"]
    assert [(state, attempts, reason) for _p, state, attempts, reason in failed] == [
        ("failed", 1, "disk_full")
    ]
    rest = [row for row in rows if row[1] != "failed"]
    assert [(state, attempts) for _p, state, attempts, _r in rest] == [("pending", 0)] * 4

    (small_fs / "filler").unlink()
    assert _mount("-o", "remount,size=64m", str(small_fs)).returncode == 0
    result = invoke("resume", "full", "--workers", "1", env=env)
    assert result.exit_code == 0, result.output
    assert {state for _p, state, _a, _r in _records()} <= {"archived", "needs_review"}
    assert not [path for path in small_fs.rglob("*.tmp")]
