"""The structure of an archived file, checked in this process by libqpdf through pikepdf:
the steps of `qpdf --check` (cross-reference table, document structures, every stream's
filters decoded, every page's content stream parsed), with its warnings as problems, since a
warning means libqpdf had to repair something (e.g. a damaged cross-reference table).

Why not the `qpdf` program: `qpdf --check` decodes every JPEG page image and deflates the
raw pixels into a pipeline that discards them. That deflate was 97% of its time (perf):
1.6 CPU-s for a 3-page A4 300 dpi file, against 0.1-0.2 CPU-s here for the same steps, and
no process to start per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pikepdf

VALIDATOR = f"libqpdf {pikepdf.__libqpdf_version__}"  # through pikepdf, in this process


@dataclass(frozen=True)
class StructureCheck:
    ok: bool
    messages: tuple[str, ...]  # libqpdf's warnings and errors, without the file name


def _message(line: str, path: Path) -> str:
    """ "WARNING: /x/a.pdf: file is damaged" -> "file is damaged": the caller knows the file."""
    for prefix in ("WARNING: ", "ERROR: "):
        line = line.removeprefix(prefix)
    return line.replace(f"{path}: ", "").replace(f"{path}", "").strip()


def check(path: Path) -> StructureCheck:
    """The structure verdict on one file; a missing or unreadable file is a failed check."""
    try:
        with pikepdf.open(path) as pdf:
            found = pdf.check_pdf_syntax()
    except FileNotFoundError:
        return StructureCheck(False, ("cannot open: No such file or directory",))
    except (pikepdf.PdfError, OSError) as exc:
        return StructureCheck(False, (_message(str(exc), path) or type(exc).__name__,))
    return StructureCheck(not found, tuple(_message(line, path) for line in found))
