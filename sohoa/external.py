"""External programs (tesseract, veraPDF): find them, ask their version once per
process, and say precisely what to install when one is missing.

The stage that wraps a program keeps its own knowledge (arguments, output parsing); this
module holds what every wrapper needs alike.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from sohoa.errors import SohoaError

VERSION_TIMEOUT_S = 60.0  # a JVM start (veraPDF) takes seconds on a busy machine
_VERSION = r"(\d+(?:\.\d+)+)"

_versions: dict[tuple[str, ...], str] = {}  # version command -> version, per process


@dataclass(frozen=True)
class Program:
    """A program sohoa runs, and how a missing one is installed."""

    name: str  # as the user knows it: "tesseract", "veraPDF"
    install: str  # what to do: "run 'make system-deps' (Debian package tesseract-ocr)"
    executable: str = ""  # looked up on PATH; default: `name`
    version_args: tuple[str, ...] = ("--version",)
    # The version is the first group of the first line this matches (anywhere in the line).
    version_pattern: str = _VERSION

    def missing(self) -> SohoaError:
        return SohoaError(f"{self.name} is not installed: {self.install}")

    def locate(self) -> str:
        """The program's absolute path; SohoaError naming what to install when it is absent."""
        found = shutil.which(self.executable or self.name)
        if found is None:
            raise self.missing()
        return found

    def available(self) -> bool:
        return shutil.which(self.executable or self.name) is not None

    def command(self, *args: str) -> list[str]:
        """The command line running the program with `args`."""
        return [self.locate(), *args]

    def version(self) -> str:
        """The program's version, probed once per process and command line."""
        command = tuple(self.command(*self.version_args))
        if command not in _versions:
            _versions[command] = self._probe(command)
        return _versions[command]

    def remember_version(self, version: str) -> None:
        """A version learnt from other output (a report naming it): no probe needed."""
        _versions.setdefault(tuple(self.command(*self.version_args)), version)

    def _probe(self, command: tuple[str, ...]) -> str:
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=VERSION_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SohoaError(f"{self.name} does not start ({exc}): {self.install}") from exc
        output = f"{done.stdout}\n{done.stderr}"
        if done.returncode == 0:
            for line in output.splitlines():
                match = re.search(self.version_pattern, line)
                if match:
                    return match.group(1)
        first = next((line.strip() for line in output.splitlines() if line.strip()), "")
        raise SohoaError(
            f"{self.name} did not say its version ('{' '.join(command)}' exited with "
            f"{done.returncode}: {first[:200]!r}): {self.install}"
        )
