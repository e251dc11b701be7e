"""OCR: page preparation (orientation, deskew, flags) and one tesseract pass per page."""

from sohoa.ocr import tesseract
from sohoa.ocr.prepare import (
    PreparedPage,
    PrepareSettings,
    detect_orientation,
    measure_skew,
    prepare,
)
from sohoa.ocr.recognize import OcrSettings, PageText, recognize

__all__ = [
    "OcrSettings",
    "PageText",
    "PrepareSettings",
    "PreparedPage",
    "detect_orientation",
    "measure_skew",
    "prepare",
    "recognize",
    "tesseract",
]
