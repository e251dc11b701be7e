"""tesseract in-process (libtesseract), the OCR copy at ocr.ocr_dpi, and scanned PDF pages
read from their own image."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from sohoa.errors import RecordError
from sohoa.ingest.pages import _render, iter_pages
from sohoa.ingest.pdf_image import full_page_image
from sohoa.ocr import PrepareSettings, prepare, tesseract

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = ("Cộng hòa xã hội chủ nghĩa Việt Nam", "Độc lập Tự do Hạnh phúc")


def _page(dpi: int) -> np.ndarray:
    """A short Vietnamese text on white, ~A4 width / 4 in height, at `dpi`."""
    image = Image.new("L", (round(8.27 * dpi), round(2.5 * dpi)), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, round(0.2 * dpi))
    for row, line in enumerate(LINES):
        draw.text((round(0.5 * dpi), round((0.4 + 0.6 * row) * dpi)), line, font=font, fill=0)
    return np.asarray(image)


def _words(text: str) -> list[str]:
    return unicodedata.normalize("NFC", text).split()


def test_in_process_ocr_gives_nfc_text_words_and_an_invisible_text_layer() -> None:
    gray = _page(200)
    result = tesseract.run_ocr(gray, 200, "vie", 60)
    expected = [w for line in LINES for w in _words(line)]
    assert result.text == unicodedata.normalize("NFC", result.text)
    assert [w.text for w in result.words] == expected
    assert all(w.confidence > 60 for w in result.words)
    first = result.words[0]  # "Cộng", drawn at 0.5 in, 0.4 in (the box starts at the ink)
    assert 95 <= first.left <= 110 and 80 <= first.top <= 100
    with pikepdf.open(io.BytesIO(result.text_pdf)) as pdf:
        page = pdf.pages[0]
        width, height = (float(v) for v in page.mediabox[2:])
        assert (round(width), round(height)) == (round(gray.shape[1] * 72 / 200), 180)
        operators = [str(i.operator) for i in pikepdf.parse_content_stream(page)]
        assert "Tr" in operators and "Do" not in operators  # text only, no page image
        modes = [
            int(i.operands[0])
            for i in pikepdf.parse_content_stream(page)
            if str(i.operator) == "Tr"
        ]
        assert set(modes) == {3}  # invisible


def test_a_page_past_its_deadline_fails_as_timeout() -> None:
    with pytest.raises(RecordError) as raised:
        tesseract.run_ocr(_page(300), 300, "vie", 0.001)
    assert raised.value.reason == "timeout"


def test_the_ocr_copy_is_read_at_ocr_dpi_and_the_archive_copy_keeps_the_scan() -> None:
    rgb = np.repeat(_page(300)[..., None], 3, axis=2)
    page = prepare(rgb, 300, PrepareSettings(ocr_dpi=200))
    assert page.image.shape[:2] == rgb.shape[:2] and page.dpi == 300
    assert page.ocr_dpi == 200
    assert page.ocr_image.shape == (round(rgb.shape[0] * 2 / 3), round(rgb.shape[1] * 2 / 3))
    low = prepare(rgb[::2, ::2], 150, PrepareSettings(ocr_dpi=200))
    assert low.ocr_dpi == 150 and low.ocr_image.shape == low.image.shape[:2]


def _scanned_pdf(path: Path, mode: str) -> np.ndarray:
    """A two-page PDF as scanners write it (one JPEG per page over the whole page)."""
    y, x = np.mgrid[0:300, 0:200]
    pixels = np.stack([x * 255 // 200, y * 255 // 300, ((x // 20 + y // 20) % 2) * 255], -1)
    image = Image.fromarray(pixels.astype(np.uint8)).convert(mode)
    image.save(path, "PDF", resolution=100.0, save_all=True, append_images=[image])
    return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_scanned_pdf_page_gives_its_own_image(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "scan.pdf"
    _scanned_pdf(path, mode)
    pages = list(iter_pages(path, "scan.pdf", default_dpi=300, max_pixels=10**8))
    assert [(p.index_in_file, p.dpi, p.image.shape) for p in pages] == [
        (0, 100, (300, 200, 3)),
        (1, 100, (300, 200, 3)),
    ]
    with pikepdf.open(path) as pdf:
        own = full_page_image(pdf.pages[0])
        assert own is not None
        stream = next(iter(pdf.pages[0].get_images().values()))
        assert np.array_equal(
            np.asarray(own), np.asarray(Image.open(io.BytesIO(stream.read_raw_bytes())))
        )
    rendered = _render(path, 0, 100, "scan.pdf page 1")
    # The same picture as pdftoppm's (which resamples: edges of the squares differ a little).
    assert np.abs(pages[0].image.astype(int) - rendered).mean() < 8


def test_turned_or_drawn_over_pages_are_rendered(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    _scanned_pdf(path, "RGB")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        turned, drawn = pdf.pages[0], pdf.pages[1]
        turned.obj.Rotate = 90
        drawn.contents_add(pikepdf.Stream(pdf, b"0 0 m 10 10 l S"), prepend=False)
        pdf.save(path)
    with pikepdf.open(path) as pdf:
        assert full_page_image(pdf.pages[0]) is None  # a /Rotate
        assert full_page_image(pdf.pages[1]) is None  # a stroke drawn over the scan
    pages = list(iter_pages(path, "scan.pdf", default_dpi=300, max_pixels=10**8))
    assert pages[0].image.shape == (200, 300, 3)  # rendered, turned as the page says
    assert pages[1].image.shape == (300, 200, 3)
