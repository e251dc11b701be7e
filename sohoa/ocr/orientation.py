"""Which way up a scan is: 0, 90, 180 or 270 degrees turned clockwise.

Two cheap cues, no OCR:
- line direction: blurred at about a glyph's height, the glyphs of a line merge into a
  band, so ink edges run along the lines; the dominant gradient of the blurred glyph mask
  is across the lines. Measured locally, it does not care about the shape of the text
  block (a tall narrow column of short lines still reads as horizontal lines).
- up or down: letters sit on a common baseline while their tops vary (x-height,
  ascenders, capitals, attached marks), so glyph bottoms line up better than tops; and
  in Vietnamese most separate marks (tone marks, circumflexes, i-dots) sit above their
  line, few (the dot below, commas) below it. Upside down, both votes change sign.
  Capitals-only lines get their vote from the marks, lines without marks from the baseline.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from sohoa.ocr.deskew import find_skew, profile, project, upright
from sohoa.ocr.ink import Ink

SMALL_GLYPH = 0.6  # blobs shorter than this share of the median glyph are marks or dots
MARK_OFFSET = 0.6  # typical distance from a mark to its line's middle, in glyph heights
MIN_GLYPHS = 3  # fewer glyph blobs than this tell nothing: leave the page as it is


def lines_are_vertical(ink: Ink) -> bool:
    """True when the text lines run up and down the page (a quarter turn)."""
    # Half the working resolution is plenty for a blur of half a glyph, and 4x cheaper.
    half = cv2.resize(ink.glyphs, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(half, (0, 0), max(1.0, 0.25 * ink.glyph_height))
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    # Direction of the dominant gradient (structure tensor), 0 = horizontal: skew up to
    # 45 degrees does not flip the answer.
    direction = 0.5 * math.degrees(math.atan2(2 * jxy, jxx - jyy))
    return abs(direction) < 45.0


def _alignment(xs: np.ndarray, ys: np.ndarray, skew: float) -> float:
    counts = profile(xs, ys, skew)
    return float(counts @ counts)


def _marks_above(letters: np.ndarray, marks: np.ndarray, glyph_height: float) -> float:
    """Share of marks with their line below them minus share with their line above them.

    `letters` and `marks` are positions across the lines (down positive)."""
    if letters.size == 0 or marks.size == 0:
        return 0.0
    reach = max(1, round(MARK_OFFSET * glyph_height))
    origin = min(letters.min(), marks.min()) - 2 * reach
    size = int(max(letters.max(), marks.max()) - origin) + 2 * reach + 2
    density = np.bincount((letters - origin).astype(np.int64), minlength=size).astype(np.float32)
    density = cv2.blur(density[:, None], (1, reach)).ravel()
    at = (marks - origin).astype(np.int64)
    return float(np.mean(np.sign(density[at + reach] - density[at - reach])))


def upright_score(ink: Ink, rotation: int, skew: float) -> float:
    """> 0 when the page, turned back by `rotation`, reads upright.

    Two votes: glyph bottoms line up better than tops (the baseline), and diacritics and
    i-dots sit above their line more often than below it."""
    x0, y0, x1, y1 = ink.boxes.T
    # The glyph boxes in the upright frame: a quarter turn swaps which edge is the bottom.
    xa, ya = upright(x0, y0, rotation)
    xb, yb = upright(x1, y1, rotation)
    tops, bottoms = np.minimum(ya, yb), np.maximum(ya, yb)
    centres = (xa + xb) / 2
    letters = bottoms - tops >= SMALL_GLYPH * ink.glyph_height
    on_baseline = _alignment(centres[letters], bottoms[letters], skew)
    on_topline = _alignment(centres[letters], tops[letters], skew)
    total = on_baseline + on_topline
    baseline_vote = (on_baseline - on_topline) / total if total else 0.0
    middles = project(centres, (tops + bottoms) / 2, skew)
    marks_vote = _marks_above(middles[letters], middles[~letters], ink.glyph_height)
    return baseline_vote + marks_vote


def orient(ink: Ink) -> tuple[int, float]:
    """The clockwise rotation of the scan and the skew of its upright text lines."""
    if len(ink.boxes) < MIN_GLYPHS:
        return 0, 0.0
    xs, ys, weights = ink.coordinates()
    rotation = 90 if lines_are_vertical(ink) else 0
    skew = find_skew(*upright(xs, ys, rotation), weights)
    # Half a turn keeps the lines' angle. Both ways are scored, rather than trusting the
    # sign of one score, because binning makes the score only nearly antisymmetric.
    if upright_score(ink, rotation + 180, skew) > upright_score(ink, rotation, skew):
        rotation += 180
    return rotation, skew
