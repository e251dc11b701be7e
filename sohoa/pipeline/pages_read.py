"""Read a record's pages on a worker: decode, prepare, OCR and encode each page for the
PDF/A, one page in memory at a time; or a part of them, when a big record is spread over the
workers (`pipeline.pages_per_task`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sohoa.archive import ArchivePage, encode_page
from sohoa.errors import RecordError
from sohoa.ingest import RecordSource
from sohoa.ocr import prepare, recognize
from sohoa.ocr.codes import as_metadata, find_codes
from sohoa.pipeline.context import WorkerSettings
from sohoa.records import PageRow


@dataclass
class PagesRead:
    """Pages of a record, read: OCR rows and archive pages, ready for the PDF/A."""

    rows: list[PageRow]
    archive: list[ArchivePage]
    seconds: dict[str, float]
    codes: dict = field(default_factory=dict)  # a dossier code read on page 1 (ocr.codes)

    @classmethod
    def joined(cls, parts: list[PagesRead]) -> PagesRead:
        """The parts of one record, in page order, as if read in one go."""
        seconds: dict[str, float] = {}
        for part in parts:
            for step, value in part.seconds.items():
                seconds[step] = seconds.get(step, 0.0) + value
        codes = next((part.codes for part in parts if part.codes), {})
        rows = [row for part in parts for row in part.rows]
        return cls(rows, [page for part in parts for page in part.archive], seconds, codes)


def read_pages(
    source: RecordSource, settings: WorkerSettings, only: range | None = None
) -> PagesRead:
    """Every page of the record, or those whose index is in `only`; the step times summed."""
    pages = PagesRead([], [], {"decode": 0.0, "prepare": 0.0, "ocr": 0.0, "encode": 0.0})
    clock = time.perf_counter()
    for index, page in enumerate(
        source.pages(default_dpi=settings.ocr.default_dpi, max_pixels=settings.ocr.max_pixels,
                     only=only),
        start=only.start if only else 0,
    ):
        decoded = time.perf_counter()
        prepared = prepare(page.image, page.dpi, settings.prepare)
        ready = time.perf_counter()
        text = recognize(prepared, settings.ocr)
        read = time.perf_counter()
        pages.archive.append(
            encode_page(prepared.image, prepared.dpi, text.text_pdf, quality=settings.jpeg_quality)
        )
        encoded = time.perf_counter()
        if index == 0 and settings.codes.enabled:  # for `sohoa link`: QR or printed code
            found = find_codes(prepared.image, prepared.dpi, text.text, settings.codes)
            pages.codes = as_metadata(found)
            pages.seconds["codes"] = time.perf_counter() - encoded
        height, width = prepared.image.shape[:2]
        pages.rows.append(
            PageRow(
                index=index,
                source_file=page.file,
                index_in_file=page.index_in_file,
                rotation=prepared.rotation,
                skew_deg=round(prepared.skew_deg, 3),
                ocr_confidence=None
                if text.mean_confidence is None
                else round(text.mean_confidence, 2),
                width=width,
                height=height,
                dpi=prepared.dpi,
                flags=text.flags,
                text=text.text,
            )
        )
        for step, start, end in (
            ("decode", clock, decoded),
            ("prepare", decoded, ready),
            ("ocr", ready, read),
            ("encode", read, encoded),
        ):
            pages.seconds[step] += end - start
        clock = time.perf_counter()
    if not pages.rows:
        raise RecordError("no_pages", f"{source.rel_path} has no readable page")
    return pages
