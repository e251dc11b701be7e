"""sohoa.external and the wrappers built on it (tesseract, veraPDF): a missing program
is one line naming what to install, a version is asked once per process, and a program
that does not say its version is one clear error. Real programs, on a PATH made here."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sohoa.archive import verapdf
from sohoa.errors import SohoaError
from sohoa.external import Program
from sohoa.ocr import tesseract


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one empty folder (the scripts put there name their shell by its full path)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_version_is_asked_once_and_parsed(bare_path: Path) -> None:
    calls = bare_path / "calls"
    _script(
        bare_path, "fakeocr", f'echo x >> {calls}; echo "warning: noise"; echo "fakeocr v4.1.2"'
    )
    program = Program("fakeocr", install="apt-get install fakeocr")
    assert program.locate() == str(bare_path / "fakeocr")
    assert [program.version(), program.version()] == ["4.1.2", "4.1.2"]
    assert calls.read_text().count("x") == 1


def test_missing_program_names_the_package(bare_path: Path) -> None:
    program = Program("nothere", install="run 'make system-deps' (Debian package nothere)")
    assert not program.available()
    with pytest.raises(SohoaError) as caught:
        program.version()
    assert str(caught.value) == (
        "nothere is not installed: run 'make system-deps' (Debian package nothere)"
    )


def test_a_program_that_does_not_say_its_version_is_one_clear_error(bare_path: Path) -> None:
    _script(bare_path, "mute", 'echo "no digits here" >&2; exit 3')
    with pytest.raises(SohoaError) as caught:
        Program("mute", install="apt-get install mute").version()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("mute did not say its version (")
    assert "exited with 3" in message and "no digits here" in message


def test_the_wrappers_find_the_real_programs() -> None:
    assert tesseract.PROGRAM.version() == tesseract.version()
    assert Path(tesseract.PROGRAM.locate()).name == "tesseract"


def test_missing_tesseract_names_its_debian_packages(bare_path: Path) -> None:
    with pytest.raises(SohoaError, match=r"^tesseract is not installed: .*tesseract-ocr-vie"):
        tesseract.languages.__wrapped__()


def test_missing_verapdf_jars_say_make_verapdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(verapdf.LIB_ENV, str(tmp_path))  # no jars in it
    assert not verapdf.available()
    with pytest.raises(SohoaError, match=r"^veraPDF is not installed: run 'make verapdf'"):
        verapdf.validate([tmp_path / "a.pdf"])
