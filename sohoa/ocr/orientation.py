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

Line direction and skew come from the ~100 dpi working copy. Up or down needs finer detail:
at 100 dpi small, thin (display faces) or blurred type merges letters with their marks and
toner specks pass for marks, and the vote went wrong on about 1 page in 20 of the generated
corpus; a finer copy (the caller's, at ~200 dpi) decides it when it is offered.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from sohoa.ocr.deskew import find_skew, profile, project, upright
from sohoa.ocr.ink import Ink

SMALL_GLYPH = 0.6  # blobs shorter than this share of the median glyph are marks or dots
MARK_OFFSET = 0.6  # typical distance from a mark to its line's middle, in glyph heights
MARK_REACH = 1.2  # a mark is at most this far from the middle of its letter, in glyph heights
MARK_PRIOR = 30  # marks' vote = sum of their signs / (their number + this)
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
    votes = np.sign(density[at + reach] - density[at - reach])
    # Marks with no line on either side (toner specks, dust in the margins) do not vote.
    near = (density[at + reach] > 0) | (density[at - reach] > 0)
    # A handful of marks (commas, a stray speck) is a weak vote: shrink it towards zero.
    count = int(near.sum())
    return float(votes[near].sum()) / (count + MARK_PRIOR)


def _over_or_under_letters(
    marks: np.ndarray, letters: np.ndarray, middles: np.ndarray, left: np.ndarray,
    right: np.ndarray, reach: float,
) -> np.ndarray:  # fmt: skip
    """Which `marks` share a column with a letter of their line, as diacritics and i-dots
    do; the dots of a leader line ("Họ tên: ........") and toner specks do not."""
    keep = np.zeros(marks.size, bool)
    centres = (left[marks] + right[marks]) / 2
    for start in range(0, marks.size, 512):  # bounded memory: 512 marks x letters at a time
        part = slice(start, start + 512)
        cx, mid = centres[part, None], middles[marks][part, None]
        hit = (left[letters] <= cx) & (cx <= right[letters])
        hit &= np.abs(middles[letters] - mid) <= reach
        keep[part] = hit.any(axis=1)
    return marks[keep]


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
    left, right = np.minimum(xa, xb), np.maximum(xa, xb)
    marks = _over_or_under_letters(
        np.nonzero(~letters)[0], np.nonzero(letters)[0], middles, left, right,
        MARK_REACH * ink.glyph_height,
    )  # fmt: skip
    marks_vote = _marks_above(middles[letters], middles[marks], ink.glyph_height)
    return baseline_vote + marks_vote


def _half_turn(ink: Ink, rotation: int, skew: float) -> int:
    """`rotation` or `rotation` + 180, whichever reads upright."""
    # Both ways are scored, rather than trusting the sign of one score, because binning
    # makes the score only nearly antisymmetric.
    up, down = upright_score(ink, rotation, skew), upright_score(ink, rotation + 180, skew)
    return rotation + 180 if down > up else rotation


def orient(ink: Ink, finer: Callable[[], Ink] | None = None) -> tuple[int, float]:
    """The clockwise rotation of the scan and the skew of its upright text lines.

    `finer` gives the same page's ink at a higher resolution, to tell upright from upside
    down; without it (or when it finds too few glyphs) `ink` decides."""
    if len(ink.boxes) < MIN_GLYPHS:
        return 0, 0.0
    xs, ys, weights = ink.coordinates()
    quarter = 90 if lines_are_vertical(ink) else 0
    skew = find_skew(*upright(xs, ys, quarter), weights)
    # Half a turn keeps the lines' angle: only which way up is left to decide.
    fine = finer() if finer is not None else ink
    return _half_turn(fine if len(fine.boxes) >= MIN_GLYPHS else ink, quarter, skew), skew
