"""Every pixel format a scanner or an export may produce keeps its content through ingest
and into the archived page image, or fails with a reason: issue 19, case 2."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from sohoa.errors import RecordError
from sohoa.ingest.pages import iter_pages
from sohoa.pipeline import RecordTask
from tests.test_archive import form_page
from tests.test_worker import _hash, settings  # noqa: F401 (fixture)

DPI = 100
GREY = np.asarray(Image.fromarray(form_page(DPI)).convert("L"))  # the page as 8-bit grey
HEIGHT, WIDTH = GREY.shape


def _rgb16_tiff(rgb16: np.ndarray) -> bytes:
    """An uncompressed 16-bit-per-sample RGB TIFF (little-endian), which Pillow cannot write."""
    height, width, _ = rgb16.shape
    pixels = rgb16.astype("<u2").tobytes()
    entries = [  # tag, type (3 short, 4 long), count, value or offset
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, 8), (259, 3, 1, 1),
        (262, 3, 1, 2), (273, 4, 1, 0), (277, 3, 1, 3), (278, 4, 1, height),
        (279, 4, 1, len(pixels)), (284, 3, 1, 1),
    ]  # fmt: skip
    ifd_size = 2 + 12 * len(entries) + 4
    bits_at, data_at = 8 + ifd_size, 8 + ifd_size + 6
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = {258: bits_at, 273: data_at}.get(tag, value)
        # A single short sits in the first half of the value field; anything else is 4 bytes.
        single_short = kind == 3 and count == 1
        packed = struct.pack("<HH", value, 0) if single_short else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<HHH", 16, 16, 16) + pixels


def _saved(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def _grey16() -> bytes:
    return _saved(Image.fromarray(GREY.astype(np.uint16) * 257), "TIFF")


def _rgb16() -> bytes:
    return _rgb16_tiff(np.repeat(GREY[..., None], 3, axis=2).astype(np.uint16) * 257)


def _bilevel() -> bytes:
    return _saved(Image.fromarray(GREY).point(lambda v: 255 if v > 128 else 0).convert("1"), "TIFF")


def _palette() -> bytes:
    return _saved(Image.fromarray(GREY).convert("RGB").convert("P"), "PNG")


def _grey_alpha() -> bytes:
    """Ink as opaque black, paper as fully transparent: on white it is the page again."""
    ink = 255 - GREY
    return _saved(Image.fromarray(np.dstack([np.zeros_like(GREY), ink])).convert("LA"), "PNG")


def _cmyk() -> bytes:
    return _saved(Image.fromarray(GREY).convert("RGB").convert("CMYK"), "TIFF")


def _float01() -> bytes:
    return _saved(Image.fromarray(GREY.astype(np.float32) / 255.0), "TIFF")


MODES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "grey16.tif": ("I;16", _grey16),
    "rgb16.tif": ("RGB", _rgb16),
    "bilevel.tif": ("1", _bilevel),
    "palette.png": ("P", _palette),
    "grey-alpha.png": ("LA", _grey_alpha),
    "cmyk.tif": ("CMYK", _cmyk),
    "float.tif": ("F", _float01),
}


def _difference(image: np.ndarray, reference: np.ndarray = GREY) -> float:
    """Mean absolute difference of two grey renditions compared at a common small size,
    so that the deskew and cleanup of preparation do not count."""
    def small(a: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(a).convert("L").resize((83, 117)), dtype=np.float32)
    return float(np.abs(small(image) - small(reference)).mean())


@pytest.mark.parametrize("name", sorted(MODES))
def test_each_pixel_format_is_ingested_with_its_content(tmp_path: Path, name: str) -> None:
    mode, make = MODES[name]
    path = tmp_path / name
    path.write_bytes(make())
    with Image.open(path) as opened:
        assert opened.mode == mode  # the format under test is the one Pillow sees
    [page] = iter_pages(path, name, default_dpi=DPI, max_pixels=10**8)
    assert page.image.dtype == np.uint8 and page.image.shape == (HEIGHT, WIDTH, 3)
    tolerance = 12 if mode == "1" else 2  # thresholding moves the anti-aliased edges
    assert _difference(page.image) < tolerance


def _archived_image(pdf_path: Path) -> np.ndarray:
    with pikepdf.open(pdf_path) as pdf:
        [image] = pdf.pages[0].get_images().values()
        return np.asarray(pikepdf.PdfImage(image).as_pil_image().convert("L"))


@pytest.mark.parametrize("name", sorted(MODES))
def test_the_archived_page_image_matches_the_source(settings, workdir: Path, name: str) -> None:  # noqa: F811
    from sohoa.pipeline import process_record

    folder = workdir / "scans" / "HS-MODE"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(MODES[name][1]())
    task = RecordTask(uid="hs-mode", batch="b", root=str(workdir / "scans"), rel_path="HS-MODE",
                      is_dir=True)  # fmt: skip
    outcome = process_record(task, _hash(task), settings)
    assert outcome.ok, outcome.error_message
    assert "blank" not in outcome.pages[0].flags
    assert _difference(_archived_image(Path(outcome.output_path))) < 15


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (np.array([[-1.0, 2.0e6]] * 40, dtype=np.float32).repeat(20, axis=1), "no known scale"),
        (np.array([[0.0, np.nan]] * 40, dtype=np.float32).repeat(20, axis=1), "not finite"),
    ],
)
def test_a_float_image_without_a_known_scale_fails_with_a_reason(
    tmp_path: Path, values: np.ndarray, why: str
) -> None:
    path = tmp_path / "odd.tif"
    Image.fromarray(values).save(path)
    with pytest.raises(RecordError) as failure:
        list(iter_pages(path, "odd.tif", default_dpi=DPI, max_pixels=10**8))
    assert failure.value.reason == "unsupported_image_mode"
    assert why in failure.value.message


def test_a_one_pixel_image_fails_as_too_small(tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    Image.new("RGB", (1, 1), "white").save(path)
    with pytest.raises(RecordError) as failure:
        list(iter_pages(path, "pixel.png", default_dpi=DPI, max_pixels=10**8))
    assert failure.value.reason == "too_small"
    assert "1x1 pixels" in failure.value.message


def test_a_palette_image_with_a_transparent_colour_is_laid_on_white(tmp_path: Path) -> None:
    """Paper as a transparent palette entry whose colour is black: white once laid on paper."""
    ink = GREY < 128
    image = Image.fromarray(ink.astype(np.uint8), mode="L").convert("P")
    image.putpalette([0, 0, 0, 0, 0, 0])  # entry 0 (paper) and 1 (ink) both black
    path = tmp_path / "transparent.png"
    image.save(path, transparency=0)
    [page] = iter_pages(path, "transparent.png", default_dpi=DPI, max_pixels=10**8)
    expected = np.where(ink, 0, 255).astype(np.uint8)
    assert _difference(page.image, expected) < 1
