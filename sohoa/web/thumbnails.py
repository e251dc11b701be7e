"""Page thumbnails of a signed PDF/A, made on first request and kept on disk.

poppler's pdftoppm renders one page at THUMB_PX wide (about 60 ms for an A4 scan); the PNG
is kept under <data_dir>/cache/thumbnails, named by the file's SHA-256, so a re-signed file
gets new thumbnails and the old ones are never shown for it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

THUMB_PX = 240
RENDER_TIMEOUT_S = 60


def thumbnail(pdf: Path, digest: str, page: int, cache_dir: Path) -> bytes | None:
    """The PNG of 1-based `page` of `pdf` (a few tens of KB), None when the page cannot be
    rendered."""
    target = cache_dir / digest[:2] / f"{digest}-{page}-{THUMB_PX}.png"
    if target.is_file():
        return target.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        stem = Path(tmp) / "page"
        try:
            subprocess.run(
                ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-scale-to", str(THUMB_PX),
                 "-singlefile", str(pdf), str(stem)],
                check=True, capture_output=True, timeout=RENDER_TIMEOUT_S,
            )  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            return None
        made = stem.with_suffix(".png")
        if not made.is_file():
            return None
        os.replace(made, target)  # atomic: a reader never sees half a file
    return target.read_bytes()
