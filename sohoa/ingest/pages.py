"""Open the pages of one source file (TIFF, PNG, JPEG, PDF) as RGB arrays, lazily."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pikepdf
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError
from PIL import Image, ImageSequence, UnidentifiedImageError

from sohoa.errors import RecordError
from sohoa.ingest.modes import to_rgb
from sohoa.ingest.pdf_image import full_page_image

# File types by their first bytes: extensions lie more often than magic numbers.
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"%PDF", "pdf"),
)
SCAN_SUFFIXES = {".tif": "TIFF", ".tiff": "TIFF", ".png": "PNG", ".jpg": "JPEG",
                 ".jpeg": "JPEG", ".pdf": "PDF"}  # fmt: skip
MIN_PLAUSIBLE_DPI = 10  # below this a declared resolution is a placeholder, not a measurement
# Smaller than this on a side is no scanned page (a tracking pixel, an icon), and would break
# the image operations of preparation and OCR.
MIN_PAGE_SIDE_PX = 32


@dataclass(frozen=True)
class SourcePage:
    image: np.ndarray  # RGB uint8, as scanned
    dpi: float
    file: str  # path relative to the batch root
    index_in_file: int


def sniff_type(path: Path) -> str:
    """The file's type from its first bytes: png, jpeg, tiff or pdf; RecordError otherwise."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise RecordError("empty_file", f"{path.name} is empty (0 bytes)")
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    claimed = SCAN_SUFFIXES.get(path.suffix.lower())
    if claimed:  # a scan whose bytes were damaged (or never written), not another kind of file
        raise RecordError(
            "corrupt_image", f"{path.name} is named a {claimed} file but its content is not one"
        )
    raise RecordError(
        "unsupported_type",
        f"{path.name} is not a TIFF, PNG, JPEG or PDF file (suffix {path.suffix or 'none'})",
    )


def iter_pages(
    path: Path, rel_file: str, *, default_dpi: float, max_pixels: int, only: range | None = None
) -> Iterator[SourcePage]:
    """Yield every page of `path`, or those whose index in the file is in `only` (the others
    are not decoded); one decoded page in memory at a time."""
    kind = sniff_type(path)
    read = _pdf_pages if kind == "pdf" else _image_pages
    yield from read(path, rel_file, default_dpi=default_dpi, max_pixels=max_pixels,
                    only=only or range(2**31))  # fmt: skip


def count_pages(path: Path) -> int | None:
    """Pages in `path` without decoding any; None when the file cannot say (it is damaged or
    no scan: reading its pages says why)."""
    try:
        kind = sniff_type(path)
        if kind == "pdf":
            with pikepdf.open(path) as pdf:
                return len(pdf.pages)
        if kind == "tiff":
            with Image.open(path) as image:
                return int(getattr(image, "n_frames", 1))
        return 1
    except (RecordError, pikepdf.PdfError, pikepdf.PasswordError, Image.DecompressionBombError,
            OSError, ValueError, SyntaxError):  # fmt: skip
        return None


def _check_size(width: float, height: float, max_pixels: int, where: str) -> None:
    if min(width, height) < MIN_PAGE_SIDE_PX:
        raise RecordError(
            "too_small",
            f"{where}: {int(width)}x{int(height)} pixels is no scanned page "
            f"(at least {MIN_PAGE_SIDE_PX} pixels a side)",
        )
    if width * height > max_pixels:
        raise RecordError(
            "too_large",
            f"{where}: {int(width)}x{int(height)} pixels is over the limit of {max_pixels} "
            "(ocr.max_pixels); split or rescan the page",
        )


def _declared_dpi(image: Image.Image, default_dpi: float) -> float:
    dpi = image.info.get("dpi")
    if not dpi:
        return default_dpi
    value = float(dpi[0]) if isinstance(dpi, tuple) else float(dpi)
    # PNG stores pixels per metre: 200 dpi comes back as 199.9996, which must not count as
    # below a 200 dpi minimum. Scanners declare whole numbers.
    value = float(round(value))
    return value if value >= MIN_PLAUSIBLE_DPI else default_dpi


def _image_pages(
    path: Path, rel_file: str, *, default_dpi: float, max_pixels: int, only: range
) -> Iterator[SourcePage]:
    try:
        with warnings.catch_warnings():
            # Our own limit (max_pixels) decides; Pillow's bomb warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                for index, frame in enumerate(ImageSequence.Iterator(image)):
                    if index not in only:
                        continue
                    where = f"{rel_file} page {index + 1}"
                    _check_size(*frame.size, max_pixels, where)
                    rgb = to_rgb(frame, where)
                    yield SourcePage(rgb, _declared_dpi(frame, default_dpi), rel_file, index)
    except Image.DecompressionBombError as exc:
        raise RecordError("too_large", f"{rel_file}: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RecordError("corrupt_image", f"{rel_file} cannot be decoded: {exc}") from exc


def _native_dpi(page: pikepdf.Page, default_dpi: float) -> float:
    """Resolution of the largest image on a scanned PDF page, relative to the page width."""
    width_in = float(page.mediabox[2] - page.mediabox[0]) / 72
    widest = 0
    for image in page.get_images().values():
        widest = max(widest, int(image.get("/Width", 0)))
    if widest == 0 or width_in <= 0:
        return default_dpi
    return round(widest / width_in)


def _pdf_pages(
    path: Path, rel_file: str, *, default_dpi: float, max_pixels: int, only: range
) -> Iterator[SourcePage]:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise RecordError("encrypted_pdf", f"{rel_file} is encrypted; supply an open copy") from exc
    except pikepdf.PdfError as exc:
        raise RecordError("corrupt_pdf", f"{rel_file} is not a readable PDF: {exc}") from exc
    with pdf:
        try:
            pages = list(pdf.pages)
            sizes = []
            for page in pages:
                box = page.mediabox
                dpi = _native_dpi(page, default_dpi)
                sizes.append((dpi, float(box[2] - box[0]), float(box[3] - box[1])))
        except pikepdf.PdfError as exc:
            raise RecordError("corrupt_pdf", f"{rel_file} is not a readable PDF: {exc}") from exc
        if not sizes:
            raise RecordError("no_pages", f"{rel_file} is a PDF with no pages")
        for index, (dpi, width_pt, height_pt) in enumerate(sizes):
            if index not in only:
                continue
            where = f"{rel_file} page {index + 1}"
            _check_size(width_pt / 72 * dpi, height_pt / 72 * dpi, max_pixels, where)
            try:
                own = full_page_image(pages[index])
            except pikepdf.PdfError:
                own = None  # the renderer says whether the page is readable at all
            if own is not None:  # the scan itself: no second decode and resample
                _check_size(*own.size, max_pixels, where)
                yield SourcePage(to_rgb(own, where), dpi, rel_file, index)
                continue
            yield SourcePage(_render(path, index, dpi, where), dpi, rel_file, index)


def _render(path: Path, index: int, dpi: float, where: str) -> np.ndarray:
    try:
        rendered = convert_from_path(
            path, dpi=dpi, first_page=index + 1, last_page=index + 1, fmt="ppm"
        )
    except (PDFPageCountError, PDFSyntaxError) as exc:
        raise RecordError("corrupt_pdf", f"{where} cannot be rendered: {exc}") from exc
    if not rendered:
        raise RecordError("corrupt_pdf", f"{where} rendered to nothing")
    return np.asarray(rendered[0].convert("RGB"))
