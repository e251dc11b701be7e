"""tesseract: version probe, language check, and one OCR pass per page.

One pass (in this process, see `libtesseract`) yields three renderings of one recognition:
a text-only PDF page with the invisible text at the word positions, a TSV of words with
confidences, and plain text.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sohoa.errors import RecordError, SohoaError
from sohoa.external import Program
from sohoa.ocr import libtesseract
from sohoa.threads import single_thread_env

PACKAGES = "tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng"
PROGRAM = Program("tesseract", install=f"run 'make system-deps' (Debian packages {PACKAGES})")
# Each page's image and text pass through a temporary folder (personal data): named
# sohoa-ocr-<pid>-..., so that what a killed process left can be told from a live one's.
TEMP_PREFIX = "sohoa-ocr-"


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0..100
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class TesseractResult:
    text: str  # NFC
    words: tuple[Word, ...]
    text_pdf: bytes  # one page, text only (render mode 3), sized to the image at its dpi


def _env() -> dict[str, str]:
    # One thread per process: workers already run one page per core.
    return single_thread_env()


def version() -> str:
    """tesseract's version, e.g. '5.3.0'."""
    return PROGRAM.version()


@functools.cache
def languages() -> frozenset[str]:
    out = subprocess.run(
        PROGRAM.command("--list-langs"), capture_output=True, text=True, check=True, env=_env()
    )
    return frozenset(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())


def check_languages(spec: str) -> None:
    """Fail early, with the package to install, when a language pack is missing."""
    missing = [lang for lang in spec.split("+") if lang not in languages()]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        raise SohoaError(f"tesseract language(s) {', '.join(missing)} missing: install {packages}")


def _parse_tsv(tsv: str) -> tuple[Word, ...]:
    words = []
    rows = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in rows:
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        words.append(
            Word(
                text=unicodedata.normalize("NFC", text),
                confidence=max(0.0, float(row["conf"])),
                left=int(row["left"]),
                top=int(row["top"]),
                width=int(row["width"]),
                height=int(row["height"]),
            )
        )
    return tuple(words)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_dead_temporaries(folder: Path | None = None) -> list[Path]:
    """Remove the OCR folders of processes of this machine that are gone (SIGKILL, a worker
    lost, a power cut); returns what was removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        pid = path.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@functools.cache
def _swept_once() -> None:
    remove_dead_temporaries()


def run_ocr(gray: np.ndarray, dpi: float, langs: str, timeout_s: float) -> TesseractResult:
    """OCR one grayscale page in this process; past `timeout_s` the record fails as
    `timeout`. Only the text-only PDF page passes through a temporary folder."""
    _swept_once()  # the first page of each process clears what dead ones left
    engine = libtesseract.engine(langs)
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as tmp:
        try:
            reading = engine.read(gray, round(dpi), timeout_s, Path(tmp) / "out")
        except libtesseract.Timeout as exc:
            raise RecordError(
                "timeout", f"tesseract did not finish a page within {timeout_s:g} s"
            ) from exc
        except SohoaError as exc:
            raise RecordError("ocr_failed", str(exc)) from exc
    return TesseractResult(
        text=unicodedata.normalize("NFC", reading.text).strip(),
        words=_parse_tsv(reading.tsv),
        text_pdf=reading.text_pdf,
    )
