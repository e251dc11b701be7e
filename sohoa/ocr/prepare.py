"""Page preparation before OCR: turn the scan upright, straighten it, flag odd pages, and
clean up the grey copy that tesseract reads (see `cleanup`).

Line direction and skew are measured on a ~100 dpi grey copy (see `ink`), which way up on a
~200 dpi one; only the final 90-degree turn and the deskew rotation touch the
full-resolution colour image, once each.

Deskew keeps the page size when the margins absorb the rotation and grows the canvas,
centred and filled with the paper's colour, only as far as needed to keep all ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from sohoa.ocr.cleanup import DEFAULT_STEPS, channel, check_steps, clean
from sohoa.ocr.deskew import find_skew, upright
from sohoa.ocr.ink import FINE_DPI, WORK_DPI, Ink, downscale, find_ink, guess_dpi, work_scale
from sohoa.ocr.orientation import orient

BLANK_INK = 0.0002  # share of the page inked below which it is blank (~6 short words)
STRAIGHT_DEG = 0.15  # smaller skews (< 4.5 px across an A4 line at 200 dpi) are left alone
CONTENT_MARGIN_IN = 0.05  # keep this much paper around the ink when deciding the canvas
BORDER_PX = 16  # width of the image border that tells the paper colour, full-res px
TURNS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


@dataclass(frozen=True)
class PrepareSettings:
    min_dpi: float = 200.0
    # The OCR copy is resampled down to this resolution when the scan is finer: tesseract
    # takes ~0.45x the time at 200 dpi than at 300 and read the bench pages better.
    ocr_dpi: float = 200.0
    cleanup: tuple[str, ...] = DEFAULT_STEPS  # names from cleanup.STEPS, for the OCR copy only

    def __post_init__(self) -> None:
        check_steps(self.cleanup)
        if self.ocr_dpi <= 0:
            raise ValueError(f"ocr_dpi must be positive, not {self.ocr_dpi}")


@dataclass(frozen=True)
class PreparedPage:
    image: np.ndarray  # RGB uint8, upright and deskewed: what is archived
    ocr_image: np.ndarray  # uint8 grey, `image` at `ocr_dpi`, cleaned: what tesseract reads
    rotation: int  # 0/90/180/270: how far the scan was turned clockwise; undone here
    skew_deg: float  # measured skew (counter-clockwise positive) that was corrected
    dpi: float
    flags: tuple[str, ...]  # subset of "rotated", "blank", "low_resolution"
    ocr_dpi: float = 0.0  # resolution of `ocr_image`; 0 means `dpi`

    def __post_init__(self) -> None:
        if not self.ocr_dpi:
            object.__setattr__(self, "ocr_dpi", self.dpi)


def _measure(gray: np.ndarray, dpi: float) -> tuple[Ink, float]:
    """Ink of a grey page at working resolution, and the working-px per page-px scale."""
    scale = work_scale(dpi)
    return find_ink(downscale(gray, scale), dpi * scale), scale


def _orient(gray: np.ndarray, dpi: float, ink: Ink) -> tuple[int, float]:
    def finer() -> Ink:
        scale = work_scale(dpi, FINE_DPI)
        return find_ink(downscale(gray, scale), dpi * scale, boxes_only=True)

    return orient(ink, finer=finer if dpi > WORK_DPI else None)


def detect_orientation(gray: np.ndarray, dpi: float) -> int:
    """How far, clockwise, the scan was turned: 0, 90, 180 or 270 (0 for a blank page)."""
    ink, _ = _measure(gray, dpi)
    return 0 if ink.fraction < BLANK_INK else _orient(gray, dpi, ink)[0]


def measure_skew(gray: np.ndarray) -> float:
    """Skew in degrees, counter-clockwise positive, of an upright page's text lines."""
    ink, _ = _measure(gray, guess_dpi(gray.shape))
    xs, ys, weights = ink.coordinates()
    return 0.0 if ink.fraction < BLANK_INK else find_skew(xs, ys, weights)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"expected an RGB or grey image, got shape {image.shape}")


def _paper_colour(image: np.ndarray) -> tuple[int, ...]:
    """Median colour of the image's border: the paper, unless scanner edges dominate it."""
    border = np.concatenate(
        [
            image[:BORDER_PX:2, ::4].reshape(-1, 3),
            image[-BORDER_PX::2, ::4].reshape(-1, 3),
            image[::4, :BORDER_PX:2].reshape(-1, 3),
            image[::4, -BORDER_PX::2].reshape(-1, 3),
        ]
    )
    return tuple(int(v) for v in np.median(border, axis=0))


def _ink_corners(ink: Ink, rotation: int, scale: float, dpi: float) -> np.ndarray:
    """Corners (n, 2) of the ink blobs' boxes, grown by a margin, in the upright page's
    full-resolution pixels centred on the page."""
    x0, y0, x1, y1 = ink.ink_boxes.T.astype(np.float64)
    xs = np.concatenate((x0, x1, x1, x0))
    ys = np.concatenate((y0, y0, y1, y1))
    corners = np.column_stack(upright(xs, ys, rotation)) / scale
    return corners + np.sign(corners) * CONTENT_MARGIN_IN * dpi


def _straighten(image: np.ndarray, skew: float, corners: np.ndarray) -> np.ndarray:
    """Rotate by -skew about the centre, growing the canvas only if ink would fall off."""
    height, width = image.shape[:2]
    theta = math.radians(skew)
    # Where the ink corners land, centred, once rotated clockwise by `skew` (y down).
    cos, sin = math.cos(theta), math.sin(theta)
    landed = corners @ np.array([[cos, sin], [-sin, cos]])
    new_width = max(width, math.ceil(2 * np.abs(landed[:, 0]).max(initial=0)))
    new_height = max(height, math.ceil(2 * np.abs(landed[:, 1]).max(initial=0)))
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -skew, 1.0)
    matrix[:, 2] += ((new_width - width) / 2, (new_height - height) / 2)
    # Straight on the RGB image: the same pixels as going through RGBA (checked), faster
    # with single-threaded OpenCV here (38 against 47 ms CPU on an A4 300 dpi page), and
    # without two full-size RGBA copies (280 MB each on an A3 600 dpi page).
    return cv2.warpAffine(
        image,
        matrix,
        (new_width, new_height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_paper_colour(image),
    )


def _for_ocr(grey: np.ndarray, dpi: float, ocr_dpi: float) -> tuple[np.ndarray, float]:
    """The grey page resampled (area average) down to `ocr_dpi`, and its resolution; a
    scan at or below it is read as it is."""
    if dpi <= ocr_dpi:
        return grey, dpi
    height, width = grey.shape
    size = (max(1, round(width * ocr_dpi / dpi)), max(1, round(height * ocr_dpi / dpi)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), ocr_dpi


def prepare(
    image: np.ndarray, dpi: float, settings: PrepareSettings = PrepareSettings()
) -> PreparedPage:
    """Turn the scan upright and straighten it; `image` itself is never modified."""
    rgb = _as_rgb(image)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # reused as the OCR image unless resampled
    ink, scale = _measure(grey, dpi)
    flags = []
    blank = ink.fraction < BLANK_INK
    rotation, skew = (0, 0.0) if blank else _orient(grey, dpi, ink)
    if abs(skew) < STRAIGHT_DEG:
        skew = 0.0
    page = cv2.rotate(rgb, TURNS[rotation]) if rotation else rgb
    if skew:
        page = _straighten(page, skew, _ink_corners(ink, rotation, scale, dpi))
    red = "red" in settings.cleanup
    if skew or red:
        ocr = channel(page, red)
    else:
        ocr = cv2.rotate(grey, TURNS[rotation]) if rotation else grey
    ocr, ocr_dpi = _for_ocr(ocr, dpi, settings.ocr_dpi)
    ocr = clean(ocr, ocr_dpi, settings.cleanup)
    if rotation:
        flags.append("rotated")
    if blank:
        flags.append("blank")
    if dpi < settings.min_dpi:
        flags.append("low_resolution")
    return PreparedPage(
        image=page,
        ocr_image=ocr,
        rotation=rotation,
        skew_deg=skew,
        dpi=dpi,
        flags=tuple(flags),
        ocr_dpi=ocr_dpi,
    )
