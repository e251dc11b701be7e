"""Cleanup of the grey copy that tesseract reads; the archived colour image is never touched.

Each step is one function, named in `STEPS`, so that bench/prepare_accuracy.py can measure
the character error rate with and without it; `DEFAULT_STEPS` holds the ones that helped
(numbers in that script's docstring and the README).

- red: the grey copy is the scan's red channel rather than its luminance. Seals are red
  and vanish against the paper in that channel; black print and blue signatures stay dark.
- flatten: divide by an estimate of the paper's brightness (uneven lamp, yellowed sheet,
  the shadow of a binding), so that one global threshold - tesseract's Otsu - fits the
  whole page.
- denoise: a 3x3 median: removes sensor noise and toner specks smaller than a stroke.
- leaders: erase the dotted leader lines of pre-printed forms ("Họ tên: ........"), which
  tesseract otherwise reads as punctuation or as garbage that swallows the whole line.
- binarise: Otsu black and white (measured; tesseract already does this itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import cv2
import numpy as np

BACKGROUND_DPI = 25.0  # the paper's brightness varies slowly: estimate it on a coarse copy
TEXT_REACH_IN = 0.12  # a max filter this wide removes any stroke from the background estimate
DOT_MAX_IN = 0.03  # leader dots are at most this wide and high (a 12 pt period is ~0.02")
DOT_GAP_IN = 0.12  # the next dot of a leader is at most this far, centre to centre
LEADER_DOTS = 6  # fewer dots in a row may be an ellipsis or diacritics: leave them


def channel(rgb: np.ndarray, red: bool) -> np.ndarray:
    """The grey copy: red channel (seals vanish) or luminance."""
    if red:
        return np.ascontiguousarray(rgb[..., 0])
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def flatten(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Divide by the paper's brightness: paper goes to white, ink keeps its contrast."""
    scale = min(1.0, BACKGROUND_DPI / dpi)
    size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    reach = max(3, 2 * round(TEXT_REACH_IN * BACKGROUND_DPI / 2) + 1)
    paper = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach)))
    paper = cv2.blur(paper, (reach, reach))
    paper = cv2.resize(paper, grey.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return cv2.divide(grey, np.maximum(paper, 1), scale=255)


def denoise(grey: np.ndarray, dpi: float) -> np.ndarray:
    return cv2.medianBlur(grey, 3)


def _leader_chains(cx: np.ndarray, cy: np.ndarray, dot: float, gap: float) -> list[np.ndarray]:
    """Index arrays of dots that follow one another along a row, `LEADER_DOTS` or more."""
    order = np.lexsort((cx, np.round(cy / dot)))
    chains, current = [], [order[0]] if order.size else []
    for prev, index in pairwise(order):
        same_row = abs(cy[index] - cy[prev]) <= dot / 2
        if same_row and 0 < cx[index] - cx[prev] <= gap:
            current.append(index)
            continue
        if len(current) >= LEADER_DOTS:
            chains.append(np.array(current))
        current = [index]
    if len(current) >= LEADER_DOTS:
        chains.append(np.array(current))
    return chains


def remove_leaders(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Paint dotted leader lines white: rows of small, evenly spaced dots with nothing else
    in their band (diacritics and i-dots always have a letter next to them)."""
    _, mask = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    dot = max(2.0, DOT_MAX_IN * dpi)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    small = (w <= dot) & (h <= dot) & (np.arange(count) > 0)
    ids = np.nonzero(small)[0]
    if ids.size < LEADER_DOTS:
        return grey
    cx, cy = centroids[ids, 0], centroids[ids, 1]
    out = grey
    for chain in _leader_chains(cx, cy, dot, DOT_GAP_IN * dpi):
        gaps = np.diff(cx[chain])
        if gaps.std() > 0.25 * gaps.mean():  # leaders are evenly spaced
            continue
        members = ids[chain]
        x0 = int(stats[members, cv2.CC_STAT_LEFT].min())
        x1 = int((stats[members, cv2.CC_STAT_LEFT] + w[members]).max())
        y0 = max(0, int(cy[chain].mean() - dot))
        y1 = int(cy[chain].mean() + dot) + 1
        band = labels[y0:y1, x0:x1]
        if not np.isin(band, np.append(members, 0)).all():
            continue  # some other ink shares the band: letters, not a leader
        if out is grey:
            out = grey.copy()
        region = out[y0:y1, x0:x1]
        region[np.isin(band, members)] = 255
    return out


def binarise(grey: np.ndarray, dpi: float) -> np.ndarray:
    _, black_white = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return black_white


Step = Callable[[np.ndarray, float], np.ndarray]
# In the order they run; "red" is not a function of the grey copy but picks how it is made.
STEPS: dict[str, Step | None] = {
    "red": None,
    "flatten": flatten,
    "denoise": denoise,
    "leaders": remove_leaders,
    "binarise": binarise,
}
DEFAULT_STEPS: tuple[str, ...] = ("red", "flatten", "leaders")


def check_steps(steps: Sequence[str]) -> None:
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown cleanup step(s) {unknown}: choose from {list(STEPS)}")


def clean(grey: np.ndarray, dpi: float, steps: Sequence[str]) -> np.ndarray:
    """`grey` (made by `channel`, upright and straight) through the grey-level `steps`."""
    for name, step in STEPS.items():
        if step is not None and name in steps:
            grey = step(grey, dpi)
    return grey
