"""Peak memory of a sohoa worker on one A3 page scanned in colour at 600 dpi (issue 8: <= 1.5 GB).

Usage: .venv/bin/python bench/a3_rss.py [--dpi 600] [--seed S] [--keep DIR]

Two generated A4 pages side by side make one A3 landscape spread (9921 x 7016 px at 600 dpi,
70 Mpx, 209 MB as raw RGB), saved as a colour JPEG as scanners deliver it. `sohoa run
--workers 1` processes it (decode, orientation, deskew, OCR, JPEG for the archive, PDF/A,
signature) while every process of the run is sampled: the worker's peak RSS is its kernel
high-water mark (VmHWM). tesseract runs inside the worker (libtesseract), so the
worker's peak includes it; a `tesseract` process would be listed apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    MAX_PIXELS,
    cpu_probe_us,
    machine_line,
    make_corpus,
    print_table,
    read_truth,
    run_sohoa,
    source_files,
    write_json,
)

from sohoa.ingest import iter_pages

A3_MM = (420, 297)  # landscape: two A4 portrait pages side by side
TARGET_MB = 1536


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dpi", type=int, default=600)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    return parser.parse_args(argv)


def a3_spread(work: Path, dpi: int, seed: int) -> Path:
    """One colour A3 page at `dpi` in `work/batch/`, made of two generated A4 pages."""
    make_corpus(work / "a4", 3, seed, dpi=dpi, unknown_share=0.0)
    pages = []
    for rel in source_files(read_truth(work / "a4")):
        for page in iter_pages(work / "a4" / rel, rel, default_dpi=dpi, max_pixels=MAX_PIXELS):
            if page.image.shape[0] > page.image.shape[1]:  # portrait pages only
                pages.append(page.image)
            if len(pages) == 2:
                break
        if len(pages) == 2:
            break
    width, height = (round(mm / 25.4 * dpi) for mm in A3_MM)
    canvas = np.full((height, width, 3), (246, 242, 232), np.uint8)  # cream paper
    for n, image in enumerate(pages):
        h, w = min(image.shape[0], height), min(image.shape[1], width // 2)
        canvas[:h, n * (width // 2) : n * (width // 2) + w] = image[:h, :w]
    # A red round seal over the first page's signature area, as on real dossiers.
    yy, xx = np.ogrid[:height, :width]
    ring = np.abs(np.hypot(yy - height * 0.8, xx - width * 0.35) - dpi * 0.6) < dpi * 0.03
    canvas[ring] = (200, 30, 40)
    out = work / "batch" / "HS-A3-0001.jpg"
    out.parent.mkdir(parents=True)
    Image.fromarray(canvas).save(out, quality=90, dpi=(dpi, dpi))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine_line("start"))
    print(f"CPU probe: {cpu_probe_us():.1f} us per sum(range(1000))")
    with tempfile.TemporaryDirectory(prefix="sohoa-a3-") as tmp:
        work = (args.keep or Path(tmp)).resolve()
        page = a3_spread(work, args.dpi, args.seed)
        with Image.open(page) as image:
            size = image.size
        print(f"page: {page.name}, {size[0]} x {size[1]} px at {args.dpi} dpi, colour JPEG "
              f"{page.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        sohoa_dir = work / "sohoa"
        sohoa_dir.mkdir()
        # One page of 70 Mpx may take tesseract longer than the default 180 s on a busy machine.
        (sohoa_dir / "config.yaml").write_text("ocr:\n  page_timeout_s: 1800\n")
        run = run_sohoa(page.parent, sohoa_dir, batch="a3", workers=1)
    peaks = run.run.peaks_kb
    state = run.export[0]["state"] if run.export else "missing"
    rows = [
        ["record state", state, "archived/needs_review"],
        ["wall s", run.run.wall_s, ""],
        ["CPU s (all processes)", run.run.cpu_s, ""],
        ["worker peak RSS MB", peaks.get("worker", 0) / 1024, f"<= {TARGET_MB}"],
        ["tesseract peak RSS MB (own process)", peaks.get("tesseract", 0) / 1024, ""],
        ["driver peak RSS MB", peaks.get("driver", 0) / 1024, ""],
    ]
    print_table("one A3 colour page through sohoa run --workers 1", ["measure", "value", "target"],
                rows)  # fmt: skip
    if run.run.returncode != 0:
        print(run.run.stderr[-2000:])
    path = write_json("a3_rss", {"dpi": args.dpi, "size": size, "state": state,
                                 "peaks_kb": peaks, "wall_s": run.run.wall_s,
                                 "cpu_s": run.run.cpu_s})  # fmt: skip
    print(machine_line("end"))
    print(f"raw results: {path}")
    return 0 if state in ("archived", "needs_review") else 1


if __name__ == "__main__":
    raise SystemExit(main())
