"""Page preparation on generated pages: known rotation and skew in, both undone out."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from sohoa.ocr.prepare import (
    PreparedPage,
    PrepareSettings,
    detect_orientation,
    measure_skew,
    prepare,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
DPI = 200
A4_IN = (8.27, 11.69)
PAPER = (246, 243, 232)
INK = (25, 25, 35)
STAMP_RED = (200, 30, 40)
FORM = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "TỜ KHAI ĐĂNG KÝ KHAI SINH",
    "Kính gửi: Ủy ban nhân dân xã Quảng Phú, huyện Quảng Điền",
    "Họ, chữ đệm, tên người yêu cầu: Nguyễn Thị Hồng",
    "Nơi cư trú: thôn Đông Yên, xã Quảng Phú, tỉnh Thừa Thiên Huế",
    "Giấy tờ tùy thân: căn cước công dân số 046187000123",
    "Quan hệ với người được khai sinh: mẹ đẻ",
    "Họ, chữ đệm, tên: Lê Nguyễn Minh Khôi",
    "Ngày, tháng, năm sinh: 12/03/2024, ghi bằng chữ: ngày mười hai",
    "Giới tính: Nam       Dân tộc: Kinh       Quốc tịch: Việt Nam",
    "Nơi sinh: Trạm y tế xã Quảng Phú, huyện Quảng Điền",
    "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật,",
    "được sự thỏa thuận nhất trí của các bên liên quan theo quy định pháp luật.",
    "Làm tại: xã Quảng Phú, ngày 15 tháng 04 năm 2024",
    "Người yêu cầu (ký, ghi rõ họ, chữ đệm, tên)",
)
SHORT = ("TỜ KHAI", "Số: 12/2024", "Họ tên: Lê Văn An")


def render_page(
    lines: tuple[str, ...] = FORM,
    *,
    dpi: int = DPI,
    margin_in: float = 1.0,
    size_pt: float = 12.0,
    stamp: bool = False,
) -> Image.Image:
    """An upright A4 form: `lines` of text from the top-left margin, optionally a red seal."""
    width, height = round(A4_IN[0] * dpi), round(A4_IN[1] * dpi)
    page = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, round(size_pt * dpi / 72))
    pitch = 1.6 * size_pt * dpi / 72
    for i, line in enumerate(lines):
        draw.text((margin_in * dpi, margin_in * dpi + i * pitch), line, font=font, fill=INK)
    if stamp:
        cx, cy, r = 0.7 * width, 0.75 * height, 0.6 * dpi
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=STAMP_RED, width=dpi // 40)
        small = ImageFont.truetype(FONT, round(8 * dpi / 72))
        draw.text((cx - 0.8 * r, cy - 0.1 * r), "ỦY BAN NHÂN DÂN", font=small, fill=STAMP_RED)
    return page


def scan(page: Image.Image, skew_deg: float, rotation: int) -> np.ndarray:
    """The sample generator's convention: skew the content counter-clockwise by `skew_deg`,
    then turn the whole sheet clockwise by `rotation`."""
    skewed = page.rotate(skew_deg, resample=Image.BICUBIC, expand=False, fillcolor=PAPER)
    return np.asarray(skewed.rotate(-rotation, expand=True))


@functools.cache
def form_page() -> Image.Image:
    return render_page()


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


@pytest.mark.parametrize("skew", [-7.3, -2.1, 0.4, 3.0, 9.5])
def test_skew_is_measured_and_corrected(skew: float) -> None:
    image = scan(form_page(), skew, 0)
    assert measure_skew(gray(image)) == pytest.approx(skew, abs=0.3)
    page = prepare(image, DPI)
    assert page.skew_deg == pytest.approx(skew, abs=0.3)
    assert page.rotation == 0
    assert abs(measure_skew(page.ocr_image)) < 0.3  # straightened, not skewed twice as far


@settings(max_examples=8, deadline=None)
@given(skew=st.floats(min_value=-10.0, max_value=10.0))
def test_skew_anywhere_in_range(skew: float) -> None:
    assert measure_skew(gray(scan(form_page(), skew, 0))) == pytest.approx(skew, abs=0.3)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("lines", [FORM, SHORT], ids=["form", "three_short_lines"])
def test_orientation_is_detected_and_undone(rotation: int, lines: tuple[str, ...]) -> None:
    upright_page = render_page(lines)
    image = scan(upright_page, 1.5, rotation)
    assert detect_orientation(gray(image), DPI) == rotation
    page = prepare(image, DPI)
    assert page.rotation == rotation
    assert ("rotated" in page.flags) == (rotation != 0)
    assert page.skew_deg == pytest.approx(1.5, abs=0.3)
    # Upright again: portrait, the page's own size (the margins absorb the deskew).
    assert page.image.shape == (upright_page.height, upright_page.width, 3)


def test_straight_page_is_returned_unchanged() -> None:
    image = scan(form_page(), 0.0, 0)
    page = prepare(image, DPI)
    assert page.rotation == 0
    assert page.skew_deg == 0.0
    assert page.flags == ()
    assert np.array_equal(page.image, image)
    assert np.array_equal(page.ocr_image, gray(image))


def test_quarter_turned_straight_page_is_only_transposed() -> None:
    image = scan(form_page(), 0.0, 90)
    page = prepare(image, DPI)
    assert page.rotation == 90
    assert np.array_equal(page.image, np.asarray(form_page()))


def test_blank_page_is_flagged_and_left_alone() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 6, (2339, 1654, 3))
    image = np.clip(np.array(PAPER) + noise, 0, 255).astype(np.uint8)
    image[:, :20] = 40  # a dark scanner edge is not ink on the page
    page = prepare(image, DPI)
    assert "blank" in page.flags
    assert page.rotation == 0
    assert page.skew_deg == 0.0
    assert np.array_equal(page.image, image)
    assert detect_orientation(gray(image), DPI) == 0
    assert measure_skew(gray(image)) == 0.0


def test_low_resolution_is_flagged() -> None:
    low = prepare(scan(render_page(dpi=150), 0.0, 0), 150)
    assert "low_resolution" in low.flags
    assert "low_resolution" not in prepare(scan(form_page(), 0.0, 0), DPI).flags
    lenient = prepare(scan(render_page(dpi=150), 0.0, 0), 150, PrepareSettings(min_dpi=150))
    assert "low_resolution" not in lenient.flags


def test_colour_is_kept_and_input_untouched() -> None:
    image = scan(render_page(stamp=True), -4.0, 180)
    before = image.copy()
    page = prepare(image, DPI)
    assert isinstance(page, PreparedPage)
    assert page.rotation == 180
    assert page.image.dtype == np.uint8 and page.image.ndim == 3
    assert page.ocr_image.dtype == np.uint8
    assert page.ocr_image.shape == page.image.shape[:2]
    red = (page.image[..., 0] > 150) & (page.image[..., 1] < 90) & (page.image[..., 2] < 100)
    assert red.sum() > 1000  # the seal is still red
    corner = page.image[:5, :5].reshape(-1, 3)
    assert np.abs(corner.astype(int) - PAPER).max() <= 3  # filled with the paper colour
    assert np.array_equal(image, before)


def test_canvas_grows_only_when_ink_would_be_cut() -> None:
    # Text right up to the scan's edges (a sheet larger than the scanner bed): turning it
    # straight in the same frame would push the corners' words off the page.
    sheet = render_page(FORM * 5, dpi=DPI, margin_in=0.1, size_pt=8)
    skewed = np.asarray(sheet.rotate(6.0, resample=Image.BICUBIC, fillcolor=PAPER))
    image = np.ascontiguousarray(skewed[60:-60, 60:-60])
    page = prepare(image, DPI)
    assert page.image.shape[0] > image.shape[0] and page.image.shape[1] > image.shape[1]
    rim = np.ones(page.ocr_image.shape, bool)
    rim[3:-3, 3:-3] = False
    assert np.count_nonzero(page.ocr_image[rim] < 128) == 0  # no word cut at the edges
    # The margins of an ordinary form absorb the same skew: the page keeps its size.
    assert prepare(scan(form_page(), 6.0, 0), DPI).image.shape == (2338, 1654, 3)


def test_grey_input_gives_rgb_output() -> None:
    page = prepare(gray(scan(form_page(), 2.0, 0)), DPI)
    assert page.image.ndim == 3 and page.image.shape[2] == 3
