"""What the QR search of `sohoa.ocr.codes` costs per page and which labels it reads.

Usage: .venv/bin/python bench/qr_codes.py [--records N] [--seed S]

Generated dossiers (`sohoa sample`) at 200 and 300 dpi; on the first image page of each, a
QR label (cv2.QRCodeEncoder, 4-module quiet zone) of 1.2 to 3.0 cm is stuck at the top right
or bottom left, as archivists stick them on cover sheets. For each page: the CPU time of
`read_qr` on the page with no label (what every record pays when qr is on) and with each
label, and whether the label was read. One process, OpenCV single-threaded as in a worker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from sohoa.config import load_settings
from sohoa.ocr.codes import SEARCH_DPI, read_qr
from sohoa.sample import generate_sample

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the labels the tests stick

from tests.test_codes import IMAGE_SUFFIXES, qr_label, stick

SIZES_CM = (1.2, 1.5, 2.0, 2.5, 3.0)
CORNERS = ("top-right", "bottom-left")
CODE = "G09.2021.01.015"


def first_pages(folder: Path) -> list[np.ndarray]:
    """The first image page of each generated record (records made of PDFs are skipped)."""
    pages = []
    for record in sorted(p for p in folder.iterdir() if not p.name.startswith("_")):
        files = sorted(record.iterdir()) if record.is_dir() else [record]
        images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        if images:
            pages.append(np.asarray(Image.open(images[0]).convert("RGB")))
    return pages


def cpu_ms(page: np.ndarray, dpi: int) -> tuple[str | None, float]:
    start = time.process_time()
    text = read_qr(page, dpi)
    return text, (time.process_time() - start) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    catalogue = list(load_settings(environ={}).classify.catalogue)
    print(f"search copy at {SEARCH_DPI:.0f} dpi; label text {CODE!r}")
    print("dpi | pages | label | read | cpu ms median | cpu ms max")
    for dpi in (200, 300):
        folder = Path(tempfile.mkdtemp(prefix=f"sohoa-qr-{dpi}-"))
        generate_sample(folder / "scans", args.records, args.seed, catalogue, dpi=dpi)
        pages = first_pages(folder / "scans")
        for cm in (None, *SIZES_CM):
            times, read = [], 0
            for page in pages:
                for corner in CORNERS if cm else ("",):
                    shown = stick(page, qr_label(CODE, dpi, cm), corner) if cm else page
                    text, ms = cpu_ms(shown, dpi)
                    times.append(ms)
                    read += text == CODE if cm else text is not None
            label = f"{cm} cm" if cm else "none"
            outcome = f"{read}/{len(times)}" + (" (false codes)" if not cm else "")
            print(
                f"{dpi} | {len(pages)} | {label} | {outcome} | "
                f"{statistics.median(times):.1f} | {max(times):.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
