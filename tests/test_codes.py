"""A dossier code on page 1: QR labels (made here with cv2.QRCodeEncoder) and printed codes,
read by sohoa.ocr.codes and kept by the worker in the record's metadata."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from sohoa.config import load_settings
from sohoa.errors import SohoaError
from sohoa.ingest import open_record
from sohoa.ingest.discover import RecordRef
from sohoa.ocr.codes import CodeSettings, FoundCode, as_metadata, find_codes, read_qr
from sohoa.pipeline import RecordTask, process_record, worker_settings
from sohoa.sample import generate_sample
from tests.conftest import CATALOGUE, invoke
from tests.test_archive import FONT, form_page

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")


def qr_label(text: str, dpi: float, cm: float) -> np.ndarray:
    """A printed QR label `cm` wide (quiet zone included), black on white, grayscale."""
    modules = cv2.QRCodeEncoder.create().encode(text)  # one pixel per module, no quiet zone
    with_zone = cv2.copyMakeBorder(modules, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=255)
    side = round(cm / 2.54 * dpi)
    return cv2.resize(with_zone, (side, side), interpolation=cv2.INTER_NEAREST)


def stick(page: np.ndarray, label: np.ndarray, corner: str) -> np.ndarray:
    """The page with the label stuck 1.5 cm from its `corner` (top-right, bottom-left...)."""
    out = page.copy()
    height, width = out.shape[:2]
    side = label.shape[0]
    inset = round(height / 11.69 * 1.5 / 2.54)
    top = inset if corner.startswith("top") else height - inset - side
    left = width - inset - side if corner.endswith("right") else inset
    out[top : top + side, left : left + side] = label[..., None] if out.ndim == 3 else label
    return out


@pytest.fixture(scope="module")
def sample_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[int, np.ndarray]:
    """The first page of a generated dossier (tables, stamp, signature) at 200 and 300 dpi."""
    pages = {}
    for dpi in (200, 300):
        folder = tmp_path_factory.mktemp(f"sample{dpi}")
        generate_sample(folder, 1, seed=1, catalogue=CATALOGUE, dpi=dpi)
        images = (p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES)
        pages[dpi] = np.asarray(Image.open(next(images)).convert("RGB"))
    return pages


@pytest.mark.parametrize("dpi", [200, 300])
@pytest.mark.parametrize("corner", ["top-right", "bottom-left"])
@pytest.mark.parametrize("cm", [1.5, 2.5])
def test_a_qr_label_on_the_first_page_is_read(
    sample_pages: dict[int, np.ndarray], dpi: int, corner: str, cm: float
) -> None:
    code = "G09.2021.01.015"
    page = stick(sample_pages[dpi], qr_label(code, dpi, cm), corner)
    assert read_qr(page, dpi) == code
    assert read_qr(cv2.cvtColor(page, cv2.COLOR_RGB2GRAY), dpi) == code


def test_a_page_without_a_qr_code_gives_nothing(sample_pages: dict[int, np.ndarray]) -> None:
    for dpi, page in sample_pages.items():
        assert read_qr(page, dpi) is None
    assert read_qr(np.full((400, 300), 255, np.uint8), 50) is None  # tiny and blank


def test_the_code_pattern_takes_its_first_group_and_compares_nfc() -> None:
    text = unicodedata.normalize("NFD", "UBND phường 1\nMã hồ sơ: HS-2021-000777\nTờ khai")
    labelled = CodeSettings.from_config({"qr": False, "code_pattern": r"Mã hồ sơ:\s*(\S+)"})
    assert find_codes(np.zeros((10, 10), np.uint8), 200, text, labelled) == [
        FoundCode("HS-2021-000777", "text")
    ]
    bare = CodeSettings.from_config({"qr": False, "code_pattern": r"HS-\d{4}-\d{6}"})
    assert find_codes(np.zeros((10, 10), np.uint8), 200, text, bare)[0].code == "HS-2021-000777"
    assert find_codes(np.zeros((10, 10), np.uint8), 200, "no code", bare) == []
    off = CodeSettings.from_config({"qr": False, "code_pattern": None})
    assert not off.enabled and CodeSettings.from_config({}).qr
    with pytest.raises(SohoaError, match=re.escape("inventory.code_pattern '(HS' is not")):
        CodeSettings.from_config({"code_pattern": "(HS"})


def test_qr_and_text_that_disagree_are_both_kept_for_link(
    sample_pages: dict[int, np.ndarray],
) -> None:
    page = stick(sample_pages[200], qr_label("HS-1", 200, 2.0), "top-right")
    both = CodeSettings(qr=True, pattern=re.compile(r"Mã hồ sơ: (\S+)"))
    found = find_codes(page, 200, "Mã hồ sơ: HS-2", both)
    assert as_metadata(found) == {
        "dossier_code_found": {
            "code": "HS-1",
            "source": "qr",
            "also": {"code": "HS-2", "source": "text"},
        }
    }
    assert as_metadata(find_codes(page, 200, "Mã hồ sơ: hs-1", both)) == {
        "dossier_code_found": {"code": "HS-1", "source": "qr"}
    }  # the same code twice is one finding
    assert as_metadata([]) == {}


def _cover_page(dpi: int, printed_code: str) -> np.ndarray:
    """A form page with a dossier code printed large enough for OCR to read it."""
    image = Image.fromarray(form_page(dpi))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, int(dpi * 0.2))
    draw.text((int(dpi * 0.8), int(dpi * 3)), f"Mã hồ sơ: {printed_code}", font=font, fill=0)
    return np.asarray(image)


def test_the_worker_keeps_the_codes_of_page_one_in_the_metadata(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "config.yaml").write_text(
        "inventory:\n  code_pattern: '(HS-\\d{4}-\\d{6})'\n", encoding="utf-8"
    )
    assert invoke("init").exit_code == 0
    settings = worker_settings(load_settings())
    assert settings.codes.pattern is not None and settings.codes.qr
    page = stick(_cover_page(200, "HS-2021-000777"), qr_label("HS-2021-000001", 200, 2.0),
                 "top-right")  # fmt: skip
    folder = workdir / "scans" / "ho-so-1"
    folder.mkdir(parents=True)
    Image.fromarray(page).save(folder / "p1.png", dpi=(200, 200))
    Image.fromarray(form_page(200)).save(folder / "p2.png", dpi=(200, 200))
    task = RecordTask(uid="r1", batch="b", root=str(workdir / "scans"), rel_path="ho-so-1",
                      is_dir=True)  # fmt: skip
    content_hash = open_record(Path(task.root), RecordRef("ho-so-1", True)).content_hash
    outcome = process_record(task, content_hash, settings)
    assert outcome.ok, outcome.error_message
    assert outcome.metadata["dossier_code_found"] == {
        "code": "HS-2021-000001",
        "source": "qr",
        "also": {"code": "HS-2021-000777", "source": "text"},
    }
    [sign] = [event for event in outcome.events if event.kind == "sign"]
    assert sign.detail["seconds"]["codes"] >= 0  # its cost is measured with the other steps
