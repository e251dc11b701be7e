"""qpdf (Debian package `qpdf`, installed by `make system-deps`): `qpdf --check` reads every
object and stream of a file and says whether its structure is sound, a second opinion next to
pyHanko (signatures) and veraPDF (PDF/A rules).

Exit codes of `qpdf --check`: 0 no problem, 2 errors, 3 warnings only (qpdf had to repair
something, e.g. a damaged cross-reference table): for an archived file both are problems.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sohoa.external import Program

TIMEOUT_S = 120.0
_BOILERPLATE = (
    "checking ",
    "PDF Version:",
    "File is not encrypted",
    "File is not linearized",
    "No syntax or stream encoding errors",
    "errors that qpdf cannot detect",
)


@dataclass(frozen=True)
class QpdfCheck:
    ok: bool
    messages: tuple[str, ...]  # qpdf's warnings and errors, without the file name


PROGRAM = Program(
    "qpdf",
    install="run 'make system-deps' (Debian package qpdf)",
    version_pattern=r"^qpdf version (\S+)",
)


def available() -> bool:
    return PROGRAM.available()


def version() -> str:
    """qpdf's version, e.g. '11.3.0'."""
    return PROGRAM.version()


def _message(line: str, path: Path) -> str:
    """ "WARNING: /x/a.pdf: file is damaged" -> "file is damaged": the caller knows the file."""
    for prefix in ("WARNING: ", "ERROR: ", "qpdf: "):
        line = line.removeprefix(prefix)
    return line.replace(f"open {path}: ", "cannot open: ").replace(f"{path}: ", "").strip()


def check(path: Path, timeout_s: float = TIMEOUT_S) -> QpdfCheck:
    """`qpdf --check` on one file; a missing or unreadable file is a failed check."""
    try:
        done = subprocess.run(
            PROGRAM.command("--check", str(path)),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return QpdfCheck(False, (f"qpdf --check did not finish in {timeout_s:.0f} s",))
    lines = [*done.stderr.splitlines(), *done.stdout.splitlines()]
    messages = tuple(
        _message(line, path) for line in lines if line.strip() and not line.startswith(_BOILERPLATE)
    )
    if done.returncode == 0:
        return QpdfCheck(True, messages)
    return QpdfCheck(False, messages or (f"qpdf --check exited with {done.returncode}",))
