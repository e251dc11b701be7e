"""Any pixel format Pillow opens, as the RGB uint8 array the pipeline works on, with its
content kept - or a RecordError `unsupported_image_mode`, never a silently blank page.

`Image.convert("RGB")` clips 16-bit and float values (a 16-bit grey scan comes out all
white) and drops transparency onto black; here deep values are scaled to 8 bits and
transparent pixels are laid on white paper."""

from __future__ import annotations

import numpy as np
from PIL import Image

from sohoa.errors import RecordError

# Modes whose convert("RGB") keeps the content as it is.
_EIGHT_BIT = {"1", "L", "RGB", "RGBX", "CMYK", "YCbCr"}
_WITH_ALPHA = {"LA", "La", "PA", "RGBA", "RGBa"}
_DEEP_INTEGER = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
PAPER = 255  # transparent pixels are shown on white


def to_rgb(frame: Image.Image, where: str) -> np.ndarray:
    """The frame as an RGB uint8 array of its size."""
    mode = frame.mode
    if mode in _EIGHT_BIT:
        return np.asarray(frame.convert("RGB"))
    if mode == "P":
        has_alpha = "transparency" in frame.info or frame.palette.mode == "RGBA"
        return _on_paper(frame.convert("RGBA")) if has_alpha else np.asarray(frame.convert("RGB"))
    if mode in _WITH_ALPHA:
        return _on_paper(frame.convert("RGBA"))
    if mode in _DEEP_INTEGER:
        return _grey(_scale_deep(np.asarray(frame), where, mode))
    if mode == "F":
        return _grey(_scale_float(np.asarray(frame), where))
    raise _unsupported(where, mode, "no conversion to RGB that keeps the content is known")


def _on_paper(rgba: Image.Image) -> np.ndarray:
    pixels = np.asarray(rgba).astype(np.float32)
    alpha = pixels[..., 3:4] / 255.0
    return np.rint(pixels[..., :3] * alpha + PAPER * (1.0 - alpha)).astype(np.uint8)


def _scale_deep(values: np.ndarray, where: str, mode: str) -> np.ndarray:
    """16-bit samples (also 32-bit integers holding 16-bit values, as some readers give
    them) to 8 bits: 65535 -> 255."""
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 65535:
        raise _unsupported(where, mode, f"values {low}..{high} are outside 16 bits")
    return np.rint(values.astype(np.float32) / 257.0)


def _scale_float(values: np.ndarray, where: str) -> np.ndarray:
    """Float samples: 0..1 (the usual convention) or, when larger, 0..255 or 0..65535."""
    if not np.isfinite(values).all():
        raise _unsupported(where, "F", "some values are not finite numbers")
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 65535:
        raise _unsupported(where, "F", f"values {low:g}..{high:g} have no known scale")
    scale = 255.0 if high <= 1.0 else 1.0 if high <= 255.0 else 1 / 257.0
    return np.rint(values.astype(np.float64) * scale)


def _grey(values: np.ndarray) -> np.ndarray:
    grey = np.clip(values, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., np.newaxis], 3, axis=2)


def _unsupported(where: str, mode: str, why: str) -> RecordError:
    return RecordError(
        "unsupported_image_mode",
        f"{where}: pixel format {mode} ({why}); save the scan as 8-bit grey or RGB",
    )
