"""Page preparation on generated pages: known rotation and skew in, both undone out."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from sohoa.ocr import cleanup
from sohoa.ocr.prepare import (
    PreparedPage,
    PrepareSettings,
    detect_orientation,
    measure_skew,
    prepare,
)
from sohoa.sample import plan_sample
from sohoa.sample.degrade import degrade
from sohoa.sample.doc import Cell, PageDoc, Row
from sohoa.sample.fonts import font_families
from sohoa.sample.render import render_page as sample_render

CONFIG = Path(__file__).resolve().parents[1] / "sohoa" / "config.yaml"
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
    assert page.ocr_image.shape == image.shape[:2]
    # Without cleanup the OCR copy is the plain grey page, pixel for pixel.
    raw = prepare(image, DPI, PrepareSettings(cleanup=()))
    assert np.array_equal(raw.ocr_image, gray(image))


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


# --- cleanup of the OCR copy ----------------------------------------------------------------


def test_seal_fades_from_the_ocr_copy_but_stays_in_the_archive() -> None:
    image = scan(render_page(stamp=True), 0.0, 0)
    page = prepare(image, DPI)
    red = (image[..., 0] > 150) & (image[..., 1] < 90) & (image[..., 2] < 100)
    assert red.sum() > 1000
    assert np.array_equal(page.image, image)  # the archived colour copy keeps the seal
    assert np.percentile(page.ocr_image[red], 95) > 200  # the OCR copy barely sees it
    text = gray(image) < 100
    assert np.median(page.ocr_image[text]) < 100  # the black print stays black


def test_flatten_evens_out_uneven_light() -> None:
    image = scan(form_page(), 0.0, 0).astype(np.float32)
    ramp = np.linspace(0.55, 1.0, image.shape[1], dtype=np.float32)[None, :, None]
    dim = (image * ramp).astype(np.uint8)
    grey = cleanup.channel(dim, red=False)
    flat = cleanup.flatten(grey, DPI)
    paper = gray(scan(form_page(), 0.0, 0)) > 200
    left, right = paper[:, :600], paper[:, -600:]
    # Before: the dim side of the paper is ~70 grey levels darker; after: within a few.
    assert grey[:, :600][left].mean() < grey[:, -600:][right].mean() - 50
    assert abs(flat[:, :600][left].mean() - flat[:, -600:][right].mean()) < 8
    ink = gray(scan(form_page(), 0.0, 0)) < 80
    assert np.median(flat[ink]) < 110


def _leader_line(with_dots: bool) -> np.ndarray:
    page = Image.new("L", (1400, 120), 250)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, round(12 * DPI / 72))
    label = "Họ, chữ đệm, tên: Nguyễn Thị Hồng... ạ ị ụ"
    draw.text((20, 30), label, font=font, fill=20)
    if with_dots:
        start = 30 + font.getlength(label)
        for x in np.arange(start, 1380, 9.0):
            draw.ellipse((x - 1, 78, x + 1, 80), fill=20)
    return np.asarray(page)


def test_dotted_leaders_are_erased_and_letters_kept() -> None:
    dotted, plain = _leader_line(True), _leader_line(False)
    cleaned = cleanup.remove_leaders(dotted, DPI)
    assert np.count_nonzero(dotted < 128) > np.count_nonzero(plain < 128) + 100
    # Every dot of the leader is gone; the label, its ellipsis and dots below stay.
    assert np.array_equal(cleaned < 128, plain < 128)


def test_a_page_without_leaders_is_left_as_it_is() -> None:
    grey = gray(scan(form_page(), 0.0, 0))
    assert np.array_equal(cleanup.remove_leaders(grey, DPI), grey)


def test_unknown_cleanup_step_is_refused() -> None:
    with pytest.raises(ValueError, match="sharpen"):
        PrepareSettings(cleanup=("flatten", "sharpen"))


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("family", ["Liberation Serif", "DejaVu Sans", "FreeMono"])
def test_orientation_of_a_page_with_two_lines(rotation: int, family: str) -> None:
    families = font_families()
    if family not in families:
        pytest.skip(f"{family} is not installed")
    doc = PageDoc(
        blocks=(
            Row((Cell("GIẤY MỜI HỌP", align="center", bold=True, scale=1.2),)),
            Row((Cell("Kính gửi: Ông Nguyễn Văn Dũng, tổ dân phố số 4"),), space_before=1.0),
        ),
        family=family,
        body_pt=12.0,
    )
    upright_page = sample_render(doc, DPI).image
    image = scan(upright_page, -2.5, rotation)
    assert detect_orientation(gray(image), DPI) == rotation


@functools.cache
def _generated_pages() -> tuple[Any, ...]:
    catalogue = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["classify"]["catalogue"]
    plan = plan_sample(6, 1001, catalogue)  # a test-split seed (bench/accuracy.py SPLITS)
    return tuple(page for record in plan.records for page in record.pages)


@pytest.mark.parametrize(
    ("index", "rotation", "skew", "look"),
    [
        (0, 180, 9.5, {"contrast": 0.4, "speckle": 50.0}),  # faint photocopy, toner specks
        (1, 90, -8.0, {"blur_sigma": 1.4, "jpeg_quality": 25}),  # soft and blocky
        (2, 270, 4.2, {"shadow": 0.4, "light_falloff": 0.25}),  # worn, binding shadow
        (3, 0, -9.9, {}),
    ],
)
def test_generated_pages_come_out_upright_and_straight(
    index: int, rotation: int, skew: float, look: dict[str, Any]
) -> None:
    page = _generated_pages()[index]
    params = dataclasses.replace(page.degradation, skew_deg=skew, rotation=rotation, **look)
    image = np.asarray(degrade(sample_render(page.doc, DPI).image, params, DPI))
    prepared = prepare(image, DPI)
    assert prepared.rotation == rotation
    assert prepared.skew_deg == pytest.approx(skew, abs=0.2)
