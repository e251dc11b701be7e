"""Skew of text lines by projection profiles.

Projected along the text lines, ink forms sharp-edged bands (x-height band, gaps between
lines); projected at a slight angle the edges blur. The score of a candidate angle is the
energy of the profile's derivative, which rewards sharp edges and, unlike the profile's
plain variance, is not pulled off by how neighbouring lines of different lengths overlap.
The profile is built from the coordinates of the ink pixels rather than by rotating an
image, so one candidate angle costs two `bincount`s over the ink.
"""

from __future__ import annotations

import math

import numpy as np

MAX_SKEW_DEG = 15.0
SEARCH_SAMPLE = 8000  # ink pixels enough to land within a step; the last stage uses all
# (half-width of the search window, step, bin size in working px), coarse to fine.
SEARCH_STAGES = ((MAX_SKEW_DEG, 0.5, 2.0), (0.5, 0.1, 1.0), (0.1, 0.02, 1.0))


def project(xs: np.ndarray, ys: np.ndarray, angle: float) -> np.ndarray:
    """Position across lines tilted `angle` degrees counter-clockwise (down positive)."""
    theta = math.radians(angle)
    # A line tilted counter-clockwise rises to the right: y + x*tan(angle) stays constant.
    return ys * math.cos(theta) + xs * math.sin(theta)


def profile(
    xs: np.ndarray,
    ys: np.ndarray,
    angle: float,
    weights: np.ndarray | None = None,
    bin_px: float = 1.0,
    jitter: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Ink per row across lines tilted `angle` degrees counter-clockwise (top row first)."""
    pos = (project(xs, ys, angle) + jitter) / bin_px
    radius = float(np.hypot(np.abs(xs).max(), np.abs(ys).max())) / bin_px
    pos += radius + 2.0
    index = pos.astype(np.int64)
    frac = pos - index
    size = int(2 * radius) + 6
    weights = np.ones_like(frac) if weights is None else weights
    # Linear binning keeps the score continuous in the angle, so the peak can be located
    # more finely than one bin's shift along a line.
    return np.bincount(index, weights * (1.0 - frac), size) + np.bincount(
        index + 1, weights * frac, size
    )


def _edge_energy(
    xs: np.ndarray,
    ys: np.ndarray,
    weights: np.ndarray,
    jitter: np.ndarray,
    angle: float,
    bin_px: float,
) -> float:
    edges = np.diff(profile(xs, ys, angle, weights, bin_px, jitter))
    return float(edges @ edges) / bin_px


def _parabola_peak(angles: np.ndarray, scores: np.ndarray) -> float:
    best = int(np.argmax(scores))
    if best in (0, len(scores) - 1):
        return float(angles[best])
    left, mid, right = scores[best - 1 : best + 2]
    curvature = left - 2 * mid + right
    if curvature >= 0:
        return float(angles[best])
    step = float(angles[1] - angles[0])
    return float(angles[best]) + 0.5 * step * (left - right) / curvature


def find_skew(xs: np.ndarray, ys: np.ndarray, weights: np.ndarray) -> float:
    """Skew in degrees (counter-clockwise positive) of text lines running about left to right.

    `xs`, `ys` (down positive) are ink pixel coordinates centred on the page, `weights`
    their darkness."""
    if xs.size == 0:
        return 0.0
    # Near 0 degrees every pixel of a row lands at the same offset within a bin, and how
    # that offset splits the weight biases the score; a fixed sub-pixel dither removes the
    # bias without making the result random.
    jitter = np.random.default_rng(0).random(xs.size, dtype=np.float32) - np.float32(0.5)
    centre = 0.0
    for stage, (half, step, bin_px) in enumerate(SEARCH_STAGES):
        last = stage == len(SEARCH_STAGES) - 1
        stride = 1 if last else max(1, xs.size // SEARCH_SAMPLE)
        sample = (xs[::stride], ys[::stride], weights[::stride], jitter[::stride])
        angles = centre + np.linspace(-half, half, round(2 * half / step) + 1)
        scores = np.array([_edge_energy(*sample, angle, bin_px) for angle in angles])
        centre = float(angles[int(np.argmax(scores))])
    return _parabola_peak(angles, scores)


def upright(xs: np.ndarray, ys: np.ndarray, rotation: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred coordinates as they are once a scan turned `rotation` degrees clockwise is
    turned back (y down)."""
    match rotation:
        case 0:
            return xs, ys
        case 90:
            return ys, -xs
        case 180:
            return -xs, -ys
        case 270:
            return -ys, xs
    raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")
