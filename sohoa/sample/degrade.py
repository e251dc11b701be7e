"""Make a clean render look scanned: paper tone, skew, rotation, uneven light, blur, noise.

Geometry conventions (other modules rely on them):
- `skew_deg` is the angle the content was rotated counter-clockwise (positive = CCW, as in
  Pillow's `Image.rotate` and OpenCV's `getRotationMatrix2D`), applied to the upright page
  first, keeping its size, with the paper colour filling the corners.
- `rotation` (0/90/180/270) is how far the whole page was turned clockwise on the scanner,
  applied after the skew and expanding the canvas.
Undoing them: rotate counter-clockwise by `rotation`, then by `-skew_deg`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import cv2
import numpy as np
from PIL import Image

ROTATIONS = (90, 180, 270)


@dataclass(frozen=True)
class Degradation:
    paper: tuple[int, int, int]  # RGB of the blank sheet
    skew_deg: float
    rotation: int
    light_falloff: float  # fraction of brightness lost across the page (uneven lamp)
    light_angle: float  # direction of the falloff, radians
    blur_sigma: float  # pixels; 0 means sharp
    noise_sigma: float  # grey levels
    seed: int  # noise pattern


def choose(rng: np.random.Generator) -> Degradation:
    """Seeded per-page parameters: ~20% of pages unskewed, ~25% turned on the scanner."""
    tint = rng.uniform(0.0, 1.0)
    # From near-white copier paper to the yellowed sheets of older dossiers.
    paper = (
        int(250 - 12 * tint + rng.integers(-3, 4)),
        int(248 - 18 * tint + rng.integers(-3, 4)),
        int(242 - 40 * tint + rng.integers(-3, 4)),
    )
    skew = 0.0 if rng.random() < 0.2 else round(float(rng.uniform(-3.0, 3.0)), 2)
    rotation = int(rng.choice(ROTATIONS)) if rng.random() < 0.25 else 0
    return Degradation(
        paper=paper,
        skew_deg=skew,
        rotation=rotation,
        light_falloff=float(rng.uniform(0.0, 0.12)),
        light_angle=float(rng.uniform(0.0, 2 * np.pi)),
        blur_sigma=0.0 if rng.random() < 0.3 else float(rng.uniform(0.4, 1.1)),
        noise_sigma=float(rng.uniform(1.5, 5.0)),
        seed=int(rng.integers(2**31)),
    )


def tone(page: Image.Image, paper: tuple[int, int, int]) -> Image.Image:
    """Print the page on tinted paper: ink keeps its darkness, white becomes the paper colour."""
    # One lookup table per channel (Pillow concatenates them): value * paper / 255.
    table = [round(v * c / 255) for c in paper for v in range(256)]
    return page.point(table)


def skew(page: Image.Image, angle: float, fill: tuple[int, int, int]) -> Image.Image:
    """Rotate the content `angle` degrees counter-clockwise about the centre, same canvas.

    OpenCV's warp is several times faster than Pillow's bicubic rotate and uses the same
    sense of angle; the centre is Pillow's too, so undo() with Pillow inverts it.
    """
    if angle == 0:
        return page
    width, height = page.size
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    array = cv2.warpAffine(
        np.asarray(page), matrix, (width, height), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=fill,
    )  # fmt: skip
    return Image.fromarray(array, "RGB")


def turn(page: Image.Image, rotation: int) -> Image.Image:
    """Turn the page `rotation` degrees clockwise (exact: multiples of 90 are transposes)."""
    return page.rotate(-rotation, expand=True) if rotation % 360 else page


def undo(
    page: Image.Image, rotation: int, skew_deg: float, fill: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """The inverse of turn(skew(page)), for tests and as the documented recipe."""
    upright = page.rotate(rotation, expand=True) if rotation % 360 else page
    if skew_deg:
        upright = upright.rotate(
            -skew_deg, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=fill
        )
    return upright


def scanner(page: Image.Image, params: Degradation) -> Image.Image:
    """Uneven illumination, optics blur and sensor noise, in that order (all in uint8)."""
    array = np.asarray(page)
    height, width = array.shape[:2]
    if params.light_falloff > 0:
        # A linear ramp along light_angle, computed on a small grid then stretched.
        ys, xs = np.mgrid[0:32, 0:32].astype(np.float32) / 31.0
        ramp = xs * np.cos(params.light_angle) + ys * np.sin(params.light_angle)
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        gain = np.round((1.0 - params.light_falloff * ramp) * 255).astype(np.uint8)
        gain = cv2.resize(gain, (width, height), interpolation=cv2.INTER_LINEAR)
        array = cv2.multiply(array, cv2.merge([gain, gain, gain]), scale=1 / 255)
    if params.blur_sigma > 0:
        array = cv2.GaussianBlur(array, (0, 0), params.blur_sigma)
    return Image.fromarray(_add_noise(array, params.noise_sigma, params.seed), "RGB")


@lru_cache(maxsize=64)
def _noise_tables(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Map a uniform byte to a Gaussian sample, split into its positive and negative parts.

    Drawing bytes and looking them up is several times faster than Gaussian floats, and the
    split lets OpenCV's saturating uint8 add/subtract do the clipping.
    """
    normal = NormalDist(0.0, sigma)
    values = np.array([round(normal.inv_cdf((i + 0.5) / 256)) for i in range(256)])
    positive = np.clip(values, 0, 255).astype(np.uint8)
    negative = np.clip(-values, 0, 255).astype(np.uint8)
    return positive, negative


def _add_noise(array: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    positive, negative = _noise_tables(round(sigma, 1))
    uniform = np.random.default_rng(seed).integers(0, 256, size=array.shape, dtype=np.uint8)
    array = cv2.add(array, cv2.LUT(uniform, positive))
    return cv2.subtract(array, cv2.LUT(uniform, negative))


def degrade(page: Image.Image, params: Degradation) -> Image.Image:
    """Apply every degradation to a clean upright RGB render."""
    paper = tone(page, params.paper)
    return scanner(turn(skew(paper, params.skew_deg, params.paper), params.rotation), params)
