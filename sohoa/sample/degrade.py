"""Make a clean render look scanned: paper tone, skew, rotation, uneven light, blur, noise.

Three kinds of sheet are drawn (see `choose`): clean office scans, worn paper (yellowed,
uneven lamp, a shadow along the binding) and faint photocopies (grey washed-out ink, toner
specks); any of them may have gone through a lossy JPEG on the way.

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
    contrast: float = 1.0  # share of the ink's darkness kept (faint photocopies: 0.35-0.75)
    speckle: float = 0.0  # toner specks per square inch
    shadow: float = 0.0  # darkening at the edge of the binding shadow (0 = none)
    shadow_side: int = 0  # 0 left, 1 top, 2 right, 3 bottom, of the upright page as scanned
    jpeg_quality: int = 0  # a lossy JPEG pass before the file is written (0 = none)


def choose(rng: np.random.Generator) -> Degradation:
    """Seeded per-page parameters: ~15% of pages unskewed, ~25% turned on the scanner.

    About 60% of the sheets are clean office scans, 25% worn paper and 15% faint photocopies;
    one in five went through a lossy JPEG."""
    kind = rng.random()
    worn, copy = 0.6 <= kind < 0.85, kind >= 0.85
    tint = rng.uniform(0.0, 1.0) if not copy else rng.uniform(0.0, 0.3)
    # From near-white copier paper to the yellowed sheets of older dossiers.
    paper = (
        int(250 - (12 + 18 * worn) * tint + rng.integers(-3, 4)),
        int(248 - (18 + 22 * worn) * tint + rng.integers(-3, 4)),
        int(242 - (40 + 30 * worn) * tint + rng.integers(-3, 4)),
    )
    skew = 0.0 if rng.random() < 0.15 else round(float(rng.uniform(-5.0, 5.0)), 2)
    rotation = int(rng.choice(ROTATIONS)) if rng.random() < 0.25 else 0
    blur_max = 1.6 if copy else 1.2
    return Degradation(
        paper=paper,
        skew_deg=skew,
        rotation=rotation,
        light_falloff=float(rng.uniform(0.0, 0.3 if worn else 0.12)),
        light_angle=float(rng.uniform(0.0, 2 * np.pi)),
        blur_sigma=0.0 if rng.random() < 0.3 else float(rng.uniform(0.3, blur_max)),
        noise_sigma=float(rng.uniform(1.0, 9.0 if worn or copy else 5.0)),
        seed=int(rng.integers(2**31)),
        contrast=float(rng.uniform(0.35, 0.75)) if copy else 1.0,
        speckle=float(rng.uniform(5.0, 60.0)) if copy else 0.0,
        shadow=float(rng.uniform(0.15, 0.45)) if worn and rng.random() < 0.5 else 0.0,
        shadow_side=int(rng.integers(4)),
        jpeg_quality=int(rng.integers(20, 60)) if rng.random() < 0.2 else 0,
    )


def tone(page: Image.Image, paper: tuple[int, int, int], contrast: float = 1.0) -> Image.Image:
    """Print the page on tinted paper: white becomes the paper colour and ink keeps
    `contrast` of its darkness (a faint photocopy keeps little)."""
    # One lookup table per channel (Pillow concatenates them): faded value * paper / 255.
    table = [round((255 - (255 - v) * contrast) * c / 255) for c in paper for v in range(256)]
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


def _gain(params: Degradation, width: int, height: int) -> np.ndarray | None:
    """Brightness per pixel (uint8, 255 = full): a lamp's linear falloff and the binding's
    shadow, computed on a small grid then stretched."""
    if params.light_falloff <= 0 and params.shadow <= 0:
        return None
    ys, xs = np.mgrid[0:64, 0:64].astype(np.float32) / 63.0
    ramp = xs * np.cos(params.light_angle) + ys * np.sin(params.light_angle)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    gain = 1.0 - params.light_falloff * ramp
    if params.shadow > 0:
        edge = (xs, ys, 1.0 - xs, 1.0 - ys)[params.shadow_side]
        gain *= 1.0 - params.shadow * np.exp(-edge / 0.04)
    small = np.round(gain * 255).astype(np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _speckle(array: np.ndarray, per_sq_in: float, dpi: float, seed: int) -> np.ndarray:
    """Toner specks: small dark dots scattered over a photocopy."""
    height, width = array.shape[:2]
    count = round(per_sq_in * width * height / (dpi * dpi))
    if count == 0:
        return array
    rng = np.random.default_rng(seed + 1)
    ys, xs = rng.integers(0, height - 1, count), rng.integers(0, width - 1, count)
    dark = rng.integers(40, 140, count).astype(np.uint8)[:, None]
    array = array.copy()
    big = rng.random(count) < 0.3  # some specks are 2x2 px
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        pick = slice(None) if (dy, dx) == (0, 0) else big
        rows, cols = ys[pick] + dy, xs[pick] + dx
        array[rows, cols] = np.minimum(array[rows, cols], dark[pick])
    return array


def scanner(page: Image.Image, params: Degradation, dpi: float = 200.0) -> Image.Image:
    """Uneven illumination, optics blur, sensor noise, toner specks and a lossy JPEG pass,
    in that order (all in uint8)."""
    array = np.asarray(page)
    height, width = array.shape[:2]
    gain = _gain(params, width, height)
    if gain is not None:
        array = cv2.multiply(array, cv2.merge([gain, gain, gain]), scale=1 / 255)
    if params.blur_sigma > 0:
        array = cv2.GaussianBlur(array, (0, 0), params.blur_sigma)
    array = _add_noise(array, params.noise_sigma, params.seed)
    if params.speckle > 0:
        array = _speckle(array, params.speckle, dpi, params.seed)
    if params.jpeg_quality:
        _, encoded = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality])
        array = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)  # channel order does not matter
    return Image.fromarray(array, "RGB")


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


def degrade(page: Image.Image, params: Degradation, dpi: float = 200.0) -> Image.Image:
    """Apply every degradation to a clean upright RGB render scanned at `dpi`."""
    paper = tone(page, params.paper, params.contrast)
    turned = turn(skew(paper, params.skew_deg, params.paper), params.rotation)
    return scanner(turned, params, dpi)
