"""Write page images in the formats scanners produce, and the truth and inventory manifests."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

Format = Literal["tiff", "png", "jpeg", "pdf"]
Colour = Literal["rgb", "gray", "bilevel"]
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "tiff": (".tif", ".tiff"),
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg"),
    "pdf": (".pdf",),
}
MULTI_PAGE: tuple[str, ...] = ("tiff", "pdf")
INVENTORY_FIELDS = ("code", "title", "unit", "procedure", "year", "location", "expected_pages")


@dataclass(frozen=True)
class FilePlan:
    rel_path: str  # relative to the sample root, "/"-separated
    fmt: Format
    pages: tuple[int, ...]  # indexes into the record's pages, in file order
    colour: Colour
    jpeg_quality: int  # for JPEG files and the JPEG-compressed images inside PDFs


def _as_mode(page: Image.Image, colour: Colour) -> Image.Image:
    if colour == "rgb":
        return page
    gray = page.convert("L")
    if colour == "gray":
        return gray
    # A bilevel archive scan: Otsu picks the threshold between paper and ink.
    _, binary = cv2.threshold(np.asarray(gray), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return Image.fromarray(binary).convert("1", dither=Image.Dither.NONE)


def write_file(
    path: Path, plan: FilePlan, pages: Sequence[Image.Image], dpi: int, when: date
) -> None:
    """Save `pages` (RGB) as one file; every format records the scan resolution."""
    frames = [_as_mode(p, plan.colour) for p in pages]
    first, rest = frames[0], frames[1:]
    if plan.fmt == "tiff":
        # What archive scanners write: CCITT G4 for bilevel, LZW for grey, JPEG for colour
        # (LZW on noisy colour is slow and barely smaller than raw).
        compression = {"bilevel": "group4", "gray": "tiff_lzw", "rgb": "jpeg"}[plan.colour]
        options = {"quality": plan.jpeg_quality} if plan.colour == "rgb" else {}
        first.save(
            path, "TIFF", save_all=True, append_images=rest, dpi=(dpi, dpi),
            compression=compression, **options,
        )  # fmt: skip
    elif plan.fmt == "png":
        # Noisy scans compress poorly whatever the level; a low level keeps generation fast.
        first.save(path, "PNG", dpi=(dpi, dpi), compress_level=1)
    elif plan.fmt == "jpeg":
        first.save(path, "JPEG", dpi=(dpi, dpi), quality=plan.jpeg_quality)
    else:
        # A fixed date keeps the PDF byte-identical between runs of the same seed.
        stamp = time.struct_time((when.year, when.month, when.day, 9, 0, 0, 0, 1, 0))
        first.save(
            path, "PDF", save_all=True, append_images=rest, resolution=float(dpi),
            quality=plan.jpeg_quality, title=Path(plan.rel_path).stem,
            creationDate=stamp, modDate=stamp, producer="sohoa sample generator",
        )  # fmt: skip


def write_truth(path: Path, entries: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for entry in entries:
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n")


def write_inventory(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INVENTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
