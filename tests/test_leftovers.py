"""What a killed process leaves is cleared: issue 19, case 7."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from sohoa.config import Settings
from sohoa.ocr import tesseract
from sohoa.pipeline.quarantine import set_aside_for_resume
from sohoa.records import Record, database_session
from tests import pdfa_audit
from tests.conftest import invoke
from tests.test_tamper import archive_copies


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_ocr_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f"{tesseract.TEMP_PREFIX}{_dead_pid()}-abc"
    live = tmp_path / f"{tesseract.TEMP_PREFIX}{os.getpid()}-def"
    foreign = tmp_path / "sohoa-ocr-notapid"
    for folder in (dead, live, foreign):
        folder.mkdir()
        (folder / "page.pgm").write_bytes(b"P5 personal data")
    assert tesseract.remove_dead_temporaries(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and foreign.exists()


def test_a_page_killed_mid_ocr_leaves_a_folder_named_by_its_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL runs no cleanup: the folder stays, named so that the sweep can take it."""
    script = (
        "import os, signal, tempfile, numpy as np\n"
        f"tempfile.tempdir = {str(tmp_path)!r}\n"
        "from sohoa.ocr import libtesseract, tesseract\n"
        "def killed(*a, **k): os.kill(os.getpid(), signal.SIGKILL)\n"
        "libtesseract.Engine.read = killed\n"
        "tesseract.run_ocr(np.full((64, 64), 255, np.uint8), 300, 'eng', 10)\n"
    )
    child = subprocess.run([sys.executable, "-c", script], env={**os.environ}, check=False)
    assert child.returncode == -9
    [left] = tmp_path.glob(f"{tesseract.TEMP_PREFIX}*")
    assert left.is_dir()
    monkeypatch.setattr(tesseract.tempfile, "tempdir", str(tmp_path))
    assert tesseract.remove_dead_temporaries() == [left]
    assert not list(tmp_path.iterdir())


def test_verify_lists_orphans_and_resume_sets_them_and_damaged_copies_aside(
    initialised: Settings, unsigned_pdf: bytes
) -> None:
    settings = initialised
    (kept, kept_path), (changed, changed_path), (lost, lost_path) = archive_copies(
        settings, unsigned_pdf, 3
    )
    pdfa_audit.exclude(changed_path)
    changed_path.write_bytes(changed_path.read_bytes() + b"%%EOF\n")  # tampered
    with database_session(settings.database_url) as session:  # a run stopped before recording
        record = session.scalar(select(Record).where(Record.uid == lost))
        record.output_path = record.output_sha256 = None
        record.state = "processing"
    assert invoke("verify", "--workers", "1").exit_code == 2  # `changed` becomes damaged

    listed = invoke("verify", "--orphans", "--format", "json")
    assert listed.exit_code == 2
    assert json.loads(listed.output) == [{"orphan": str(lost_path)}]

    tampered = changed_path.read_bytes()
    with database_session(settings.database_url) as session:
        batch_id = session.scalar(select(Record.batch_id).where(Record.uid == kept))
        moved = set_aside_for_resume(session, settings, batch_id)
    assert {(m.uid, m.reason) for m in moved} == {(changed, "damaged"), (lost, "orphan")}
    quarantine = settings.quarantine_dir
    assert all(quarantine in m.target.parents and m.target.is_file() for m in moved)
    [evidence] = [m.target for m in moved if m.uid == changed]
    assert evidence.read_bytes() == tampered  # the evidence, unchanged
    assert not changed_path.exists() and not lost_path.exists() and kept_path.exists()
    events = json.loads(invoke("events", "--record", changed, "--format", "json").output)
    assert events[-1]["kind"] == "quarantine" and events[-1]["detail"]["to"] == str(evidence)
    assert invoke("verify", "--orphans").exit_code == 0
