"""A dossier code on a record's first page: a QR code, or a code printed in its text.

Archives often stick a QR label (or print "Mã hồ sơ: ...") on the cover sheet of each
dossier. What is found goes into the record's metadata and `sohoa link` uses it when the
folder name is not a registered code (folder name and mapping CSV come first).

The QR search looks at a copy of the page shrunk to 120 dpi, with OpenCV's ArUco-based QR
detector (`cv2.QRCodeDetectorAruco`), and decodes each code it finds from its region of the
full-resolution page with `cv2.QRCodeDetector`. Measured on generated 200 and 300 dpi forms
(bench/qr_codes.py): labels of 1.5 cm and more are all read, none is invented; smaller ones
are missed. `cv2.QRCodeDetector` alone, or a 100 dpi copy, missed labels up to 2.2 cm.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from sohoa.errors import SohoaError

# Resolution of the copy the QR search looks at: a 1.5 cm label of 21 modules (and its quiet
# zone) keeps about 2.5 pixels per module, the least the detector finds reliably.
SEARCH_DPI = 120.0
# Margin around a found code when it is decoded at full resolution, as a share of its size.
CROP_MARGIN = 0.25
METADATA_KEY = "dossier_code_found"  # read by sohoa.records.inventory (FOUND_KEY)


@dataclass(frozen=True)
class CodeSettings:
    """config.yaml `inventory`: qr (look for a QR code) and code_pattern (a regular
    expression for the code in the text; its first group, if it has one, is the code)."""

    qr: bool = True
    pattern: re.Pattern[str] | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> CodeSettings:
        text = section.get("code_pattern")
        try:
            pattern = re.compile(str(text)) if text else None
        except re.error as exc:
            raise SohoaError(f"inventory.code_pattern {text!r} is not a regular expression: "
                             f"{exc}") from exc  # fmt: skip
        return cls(qr=bool(section.get("qr", True)), pattern=pattern)

    @property
    def enabled(self) -> bool:
        return self.qr or self.pattern is not None


@dataclass(frozen=True)
class FoundCode:
    code: str
    source: str  # "qr" or "text"


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def read_qr(image: np.ndarray, dpi: float, search_dpi: float = SEARCH_DPI) -> str | None:
    """The text of the first readable QR code on the page (RGB or grayscale), or None."""
    gray = _gray(image)
    scale = min(1.0, search_dpi / dpi) if dpi > 0 else 1.0
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale,
                                                 interpolation=cv2.INTER_AREA)  # fmt: skip
    found, points = cv2.QRCodeDetectorAruco().detectMulti(small)
    if not found:
        return None
    decoder = cv2.QRCodeDetector()
    for corners in points:
        text, _, _ = decoder.detectAndDecode(_region(gray, corners.reshape(-1, 2) / scale))
        if text:
            return text
    return None


def _region(gray: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The part of the page around a code's corners, with a margin for its quiet zone."""
    low, high = corners.min(axis=0), corners.max(axis=0)
    margin = (high - low) * CROP_MARGIN
    x0, y0 = np.maximum(low - margin, 0).astype(int)
    x1, y1 = (high + margin).astype(int)
    return np.ascontiguousarray(gray[y0:y1, x0:x1])


def find_in_text(text: str, pattern: re.Pattern[str]) -> str | None:
    """The first match of `pattern` in the page text (its first group when it has one)."""
    match = pattern.search(unicodedata.normalize("NFC", text))
    if match is None:
        return None
    found = match.group(1) if pattern.groups else match.group(0)
    return found.strip() or None


def find_codes(image: np.ndarray, dpi: float, text: str, settings: CodeSettings) -> list[FoundCode]:
    """Codes on the first page, QR first; the text's code only when it says something else."""
    found: list[FoundCode] = []
    if settings.qr:
        qr = read_qr(image, dpi)
        if qr and qr.strip():
            found.append(FoundCode(unicodedata.normalize("NFC", qr).strip(), "qr"))
    if settings.pattern is not None:
        printed = find_in_text(text, settings.pattern)
        if printed and all(printed.casefold() != f.code.casefold() for f in found):
            found.append(FoundCode(printed, "text"))
    return found


def as_metadata(found: list[FoundCode]) -> dict[str, Any]:
    """{METADATA_KEY: {code, source[, also: {code, source}]}} for the record's metadata, or
    {} when nothing was found. `also` keeps a disagreeing second code for `sohoa link`."""
    if not found:
        return {}
    first, *rest = found
    entry: dict[str, Any] = {"code": first.code, "source": first.source}
    if rest:
        entry["also"] = {"code": rest[0].code, "source": rest[0].source}
    return {METADATA_KEY: entry}
