"""OCR of a prepared page: text, word confidences, the text layer, and quality flags."""

from __future__ import annotations

from dataclasses import dataclass

from sohoa.ocr import tesseract
from sohoa.ocr.prepare import PreparedPage


@dataclass(frozen=True)
class OcrSettings:
    languages: str = "vie"
    default_dpi: float = 300.0
    min_dpi: float = 200.0
    ocr_dpi: float = 200.0  # used by preparation (PrepareSettings); kept here as configured
    low_confidence: float = 60.0
    page_timeout_s: float = 180.0
    max_pixels: int = 200_000_000


@dataclass(frozen=True)
class PageText:
    text: str
    mean_confidence: float | None  # mean word confidence 0..100; None when no word was read
    word_count: int
    text_pdf: bytes  # the invisible text layer for the archive copy
    flags: tuple[str, ...]  # the page's flags plus "low_confidence" when it applies


def recognize(page: PreparedPage, settings: OcrSettings) -> PageText:
    result = tesseract.run_ocr(
        page.ocr_image, page.ocr_dpi, settings.languages, settings.page_timeout_s
    )
    confidences = [word.confidence for word in result.words]
    mean = sum(confidences) / len(confidences) if confidences else None
    flags = list(page.flags)
    if "blank" not in flags and (mean is None or mean < settings.low_confidence):
        flags.append("low_confidence")
    return PageText(
        text=result.text,
        mean_confidence=mean,
        word_count=len(result.words),
        text_pdf=result.text_pdf,
        flags=tuple(flags),
    )
