"""What a killed process leaves is cleared: issue 19, case 7."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sohoa.ocr import tesseract


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
        "from sohoa.ocr import tesseract\n"
        "real = tesseract.subprocess.run\n"
        "def killed(*a, **k): os.kill(os.getpid(), signal.SIGKILL)\n"
        "tesseract.subprocess.run = killed\n"
        "tesseract.run_ocr(np.full((64, 64), 255, np.uint8), 300, 'eng', 10)\n"
    )
    child = subprocess.run([sys.executable, "-c", script], env={**os.environ}, check=False)
    assert child.returncode == -9
    [left] = tmp_path.glob(f"{tesseract.TEMP_PREFIX}*")
    assert (left / "page.pgm").is_file()
    monkeypatch.setattr(tesseract.tempfile, "tempdir", str(tmp_path))
    assert tesseract.remove_dead_temporaries() == [left]
    assert not list(tmp_path.iterdir())
