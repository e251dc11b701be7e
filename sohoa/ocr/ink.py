"""Text ink of a page at a low working resolution: the input of orientation and deskew.

Measuring on a ~100 dpi copy keeps memory and time flat whatever the scan's size, and
100 dpi still resolves body text (a 10 pt x-height is ~7 px).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WORK_DPI = 100.0
FINE_DPI = 200.0  # which way up: 100 dpi merges small or blurred letters with their marks
A4_LONG_SIDE_IN = 11.69  # to guess a resolution when the caller has none
MIN_CONTRAST = 48  # grey levels below the paper for a pixel to count as ink
MIN_AREA = 3  # px at WORK_DPI (scaled by area at other resolutions): smaller is scanner dust
# Blobs shorter than this (0.04" = 2.9 pt) are marks, dots or toner specks, never a letter of
# body text: they do not count towards the typical glyph height.
MIN_LETTER_H_IN = 0.04
MAX_GLYPH_H_IN = 0.5  # taller blobs are stamps, signatures, rules or scanner borders
MAX_GLYPH_W_IN = 1.2


@dataclass(frozen=True)
class Ink:
    glyphs: np.ndarray  # float32 darkness of text-like ink (glyph-sized blobs), 0 elsewhere
    glyph_height: float  # median height of the letter-sized glyph blobs, working px (0 if none)
    boxes: np.ndarray  # float32 (n, 4): x0, y0, x1, y1 of each glyph blob, centred on the page
    ink_boxes: np.ndarray  # the same for every blob of ink: glyphs, stamps, signatures, rules
    fraction: float  # share of the page covered by any ink

    def coordinates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, y (down positive) and darkness of the glyph pixels; x and y centred on the page."""
        ys, xs = np.nonzero(self.glyphs)
        height, width = self.glyphs.shape
        centred = (xs.astype(np.float32) - width / 2, ys.astype(np.float32) - height / 2)
        return *centred, self.glyphs[ys, xs]


def guess_dpi(shape: tuple[int, ...]) -> float:
    """The resolution an image would have if it were an A4 page."""
    return max(shape[:2]) / A4_LONG_SIDE_IN


def work_scale(dpi: float, work_dpi: float | None = None) -> float:
    return min(1.0, (work_dpi or WORK_DPI) / dpi)


def downscale(image: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _paper_and_ink(gray: np.ndarray) -> tuple[int, np.ndarray]:
    """The paper's grey level and the uint8 ink mask."""
    hist = np.bincount(gray.ravel(), minlength=256)
    paper = int(np.searchsorted(np.cumsum(hist), gray.size / 2))
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Otsu alone splits the noise of a blank page into "ink"; demand real contrast too.
    level = min(otsu, paper - MIN_CONTRAST)
    return paper, (gray < level).astype(np.uint8)


def _darkness(gray: np.ndarray, paper: int, glyph_mask: np.ndarray) -> np.ndarray:
    # Grey edge pixels around the glyphs carry where an edge falls within a pixel: weighing
    # pixels by darkness measures angles finer than the working resolution's pixel.
    near = cv2.dilate(glyph_mask, np.ones((3, 3), np.uint8))
    darkness = np.clip(paper - gray.astype(np.float32), 0, None)
    darkness[near == 0] = 0
    return darkness


def find_ink(gray: np.ndarray, dpi: float, *, boxes_only: bool = False) -> Ink:
    """Text-like ink of `gray`, a page already at working resolution `dpi`.

    `boxes_only` skips the darkness image (`glyphs` is then empty), for callers that only
    look at the blobs' boxes."""
    paper, mask = _paper_and_ink(gray)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x, y, w, h, area = (stats[:, i] for i in range(5))
    height, width = gray.shape
    inside = (x > 0) & (y > 0) & (x + w < width) & (y + h < height)  # not a scanner edge
    real = inside & (area >= MIN_AREA * (dpi / WORK_DPI) ** 2)
    real[0] = False  # label 0 is the paper
    glyph = real & (h <= MAX_GLYPH_H_IN * dpi) & (w <= MAX_GLYPH_W_IN * dpi)
    if boxes_only:
        glyphs = np.zeros((0, 0), np.float32)
    else:
        glyphs = _darkness(gray, paper, glyph[labels].view(np.uint8))
    letter = glyph & (h >= MIN_LETTER_H_IN * dpi)
    corners = np.column_stack((x, y, x + w, y + h)).astype(np.float32)
    corners -= np.array([width, height, width, height], np.float32) / 2
    return Ink(
        glyphs=glyphs,
        glyph_height=float(np.median(h[letter])) if letter.any() else 0.0,
        boxes=corners[glyph],
        ink_boxes=corners[real],
        fraction=float(area[real].sum()) / gray.size,
    )
