"""The synthetic-scan generator: files, manifests, determinism and geometry conventions."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pikepdf
import pytest
import yaml
from PIL import Image, ImageDraw

from sohoa.sample import SampleSummary, generate_sample, plan_sample
from sohoa.sample.degrade import Degradation, degrade, skew, tone, turn, undo
from sohoa.sample.doc import Cell, PageDoc, Row, Signature, TableRow
from sohoa.sample.fonts import font_families
from sohoa.sample.render import render_page

CONFIG = Path(__file__).resolve().parents[1] / "sohoa" / "config.yaml"
RECORDS, SEED, DPI, UNKNOWN = 12, 7, 150, 0.25
MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg", b"II*\x00": "tiff", b"MM\x00*": "tiff",
         b"%PDF": "pdf"}  # fmt: skip


@pytest.fixture(scope="module")
def catalogue() -> list[dict[str, Any]]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["classify"]["catalogue"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, catalogue) -> SampleSummary:
    out = tmp_path_factory.mktemp("sample") / "scans"
    return generate_sample(out, RECORDS, SEED, catalogue, dpi=DPI, unknown_share=UNKNOWN)


def truth(summary: SampleSummary) -> list[dict[str, Any]]:
    lines = summary.truth_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def inventory(summary: SampleSummary) -> list[dict[str, str]]:
    with summary.inventory_path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def kind(path: Path) -> str:
    head = path.read_bytes()[:4]
    return next(k for magic, k in MAGIC.items() if head.startswith(magic))


def load_page(path: Path, index: int) -> Image.Image:
    with Image.open(path) as image:
        image.seek(index)
        return image.convert("RGB")


def fold(text: str) -> str:
    """Upper case without diacritics or extra spaces, for comparing OCR output."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return " ".join(text.upper().split())


def darkness(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Ink coverage on a coarse grid; paper tone and uneven light fall below the cut-off."""
    gray = np.asarray(image.convert("L").resize(size, Image.Resampling.BOX), dtype=np.float64)
    return np.clip(np.median(gray) - gray - 20.0, 0.0, None)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_truth_describes_every_page(sample: SampleSummary, catalogue) -> None:
    entries = truth(sample)
    assert len(entries) == RECORDS == sample.records
    assert sum(len(e["pages"]) for e in entries) == sample.pages
    codes = {p["key"]: p["code"] for p in catalogue}
    for entry in entries:
        assert set(entry) == {"record", "dossier_code", "procedure", "code", "title", "unit",
                              "year", "pages"}  # fmt: skip
        record = sample.out_dir / entry["record"]
        assert record.exists()
        assert record.name.startswith(entry["dossier_code"])
        assert entry["procedure"] in codes
        assert entry["code"] == codes[entry["procedure"]]
        assert 2015 <= entry["year"] <= 2024
        assert entry["dossier_code"].startswith(f"HS-{entry['year']}-")
        assert entry["unit"].startswith("UBND ")
        assert 1 <= len(entry["pages"]) <= 3
        assert entry["title"] in entry["pages"][0]["text"].splitlines()
        for page in entry["pages"]:
            assert page["file"] == entry["record"] or page["file"].startswith(entry["record"] + "/")
            assert (sample.out_dir / page["file"]).is_file()
            assert page["text"] == unicodedata.normalize("NFC", page["text"])
            assert page["rotation"] in (0, 90, 180, 270)
            assert -5.0 <= page["skew_deg"] <= 5.0
            assert page["dpi"] == DPI
    # Raw file is UTF-8 with real letters, not \u escapes.
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in sample.truth_path.read_text(encoding="utf-8")


def test_files_hold_the_pages_at_their_dpi(sample: SampleSummary) -> None:
    pages_per_file: dict[str, int] = {}
    for entry in truth(sample):
        for page in entry["pages"]:
            pages_per_file[page["file"]] = pages_per_file.get(page["file"], 0) + 1
            assert page["index_in_file"] < pages_per_file[page["file"]]
    width_px = round(210 / 25.4 * DPI)
    for rel, count in pages_per_file.items():
        path = sample.out_dir / rel
        if kind(path) == "pdf":
            with pikepdf.open(path) as pdf:
                assert len(pdf.pages) == count
                page = pdf.pages[0]
                side = float(min(page.mediabox[2], page.mediabox[3])) / 72
                image = next(iter(page.get_images().values()))
                narrow = min(int(image["/Width"]), int(image["/Height"]))
                assert round(narrow / side) == DPI
        else:
            with Image.open(path) as image:
                assert getattr(image, "n_frames", 1) == count
                assert round(float(image.info["dpi"][0])) == DPI
                assert min(image.size) == width_px


def test_mixed_formats_and_record_shapes(sample: SampleSummary) -> None:
    files = [p for p in sample.out_dir.rglob("*") if p.is_file() and not p.name.startswith("_")]
    kinds = {kind(p) for p in files}
    assert kinds == {"tiff", "png", "jpeg", "pdf"}
    loose = [p for p in sample.out_dir.iterdir() if p.is_file() and not p.name.startswith("_")]
    folders = [p for p in sample.out_dir.iterdir() if p.is_dir()]
    assert loose and folders and len(folders) > len(loose)
    multi = [p for p in files if kind(p) in ("tiff", "pdf") and _frames(p) > 1]
    assert multi, "expected at least one multi-page TIFF or PDF"


def _frames(path: Path) -> int:
    if kind(path) == "pdf":
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)


def test_inventory_lists_scanned_and_unscanned(sample: SampleSummary) -> None:
    header = sample.inventory_path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "code,title,unit,procedure,year,location,expected_pages"
    rows = inventory(sample)
    entries = {e["dossier_code"]: e for e in truth(sample)}
    by_code = {row["code"]: row for row in rows}
    assert len(by_code) == len(rows)
    assert set(entries) <= set(by_code)
    extras = set(by_code) - set(entries)
    assert len(extras) >= 1 and len(extras) == max(1, round(RECORDS * 0.2))
    for code, entry in entries.items():
        row = by_code[code]
        assert row["procedure"] == entry["procedure"]
        assert int(row["expected_pages"]) == len(entry["pages"])
        assert row["unit"] == entry["unit"] and int(row["year"]) == entry["year"]
        assert row["location"].startswith("Kho ")


def test_unknown_share_makes_other_documents(sample: SampleSummary) -> None:
    others = [e for e in truth(sample) if e["procedure"] == "khac"]
    assert len(others) == round(RECORDS * UNKNOWN)
    assert all(e["code"] is None for e in others)


def test_same_arguments_same_bytes(tmp_path: Path, catalogue) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    first = generate_sample(tmp_path / "a", 4, 11, catalogue, dpi=72, unknown_share=0.25)
    second = generate_sample(tmp_path / "b", 4, 11, catalogue, dpi=72, unknown_share=0.25)
    assert digest(first.out_dir) == digest(second.out_dir)
    other = generate_sample(tmp_path / "c", 4, 12, catalogue, dpi=72, unknown_share=0.25)
    assert other.truth_path.read_bytes() != first.truth_path.read_bytes()


def test_refuses_a_non_empty_folder(tmp_path: Path, catalogue) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ValueError):
        generate_sample(tmp_path, 2, 1, catalogue)


def test_skew_is_counter_clockwise_and_rotation_clockwise() -> None:
    page = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(page).line((100, 150, 300, 150), fill="black", width=3)
    tilted = np.asarray(skew(page, 10.0, (255, 255, 255)).convert("L"))
    rows_left = np.nonzero(tilted[:, 110] < 128)[0].mean()
    rows_right = np.nonzero(tilted[:, 290] < 128)[0].mean()
    assert rows_right < rows_left  # CCW: the right end of a horizontal line rises

    marked = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(marked).rectangle((0, 0, 40, 40), fill="black")
    turned = np.asarray(turn(marked, 90).convert("L"))
    assert turned.shape == (400, 300)
    assert turned[:40, -40:].mean() < 50  # top-left corner went to the top-right: clockwise
    assert np.asarray(undo(turn(marked, 90), 90, 0.0)).tolist() == np.asarray(marked).tolist()


def test_undoing_rotation_and_skew_restores_the_render(sample: SampleSummary, catalogue) -> None:
    plan = plan_sample(RECORDS, SEED, catalogue, unknown_share=UNKNOWN)
    entries = {e["record"]: e for e in truth(sample)}
    candidates = []
    for record in plan.records:
        for index, page in enumerate(record.pages):
            truth_page = entries[record.rel_path]["pages"][index]
            geometry = page.degradation
            assert (truth_page["rotation"], truth_page["skew_deg"]) == (
                geometry.rotation, geometry.skew_deg,
            )  # fmt: skip
            path = sample.out_dir / truth_page["file"]
            if geometry.rotation and abs(geometry.skew_deg) > 1 and kind(path) != "pdf":
                candidates.append((page, truth_page, path))
    assert candidates, "the sample should hold a rotated, skewed image page"
    page, truth_page, path = candidates[0]
    clean = render_page(page.doc, DPI)
    assert clean.text == truth_page["text"]
    scanned = load_page(path, truth_page["index_in_file"])
    size = (clean.image.width // 4, clean.image.height // 4)
    reference = darkness(clean.image, size)
    rotation, angle = truth_page["rotation"], truth_page["skew_deg"]
    right = correlation(darkness(undo(scanned, rotation, angle), size), reference)
    wrong_skew = correlation(darkness(undo(scanned, rotation, -angle), size), reference)
    assert right > 0.9
    assert right > wrong_skew + 0.3
    if rotation != 180:  # turning back the other way leaves the page upside down
        wrong_turn = undo(scanned, (rotation + 180) % 360, angle)
        assert right > correlation(darkness(wrong_turn, size), reference) + 0.3


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_tesseract_reads_the_form_title(sample: SampleSummary, catalogue) -> None:
    plan = plan_sample(RECORDS, SEED, catalogue, unknown_share=UNKNOWN)
    # An office scan, not a faint photocopy or a page through a harsh JPEG.
    clean = {r.rel_path for r in plan.records if r.pages[0].degradation.contrast == 1.0
             and not r.pages[0].degradation.jpeg_quality}  # fmt: skip
    upright = []
    for entry in truth(sample):
        first = entry["pages"][0]
        path = sample.out_dir / first["file"]
        if (first["rotation"] == 0 and kind(path) in ("png", "jpeg") and entry["procedure"]
                and entry["record"] in clean):  # fmt: skip
            upright.append((abs(first["skew_deg"]), path, entry["title"]))
    assert upright
    _, path, title = min(upright)
    result = subprocess.run(
        ["tesseract", str(path), "-", "-l", "vie", "--psm", "6"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert fold(title) in fold(result.stdout)


# --- breadth of the corpus ------------------------------------------------------------------


def test_a_larger_plan_varies_fonts_sizes_layouts_and_damage(catalogue) -> None:
    plan = plan_sample(60, 3, catalogue, unknown_share=0.1)
    pages = [page for record in plan.records for page in record.pages]
    families = {page.doc.family for page in pages}
    assert len(families) >= min(5, len(font_families()))
    assert len({page.doc.body_pt for page in pages}) >= 6
    assert min(page.doc.body_pt for page in pages) <= 10.5
    forms = [page.doc for page in pages if page.doc.kind == "form"]
    assert any(isinstance(b, TableRow) for doc in forms for b in doc.blocks)  # table layout
    assert any(
        len(b.cells) == 2 and b.cells[0].x1 <= 0.5 and b.cells[1].x0 >= 0.5
        for doc in forms
        for b in doc.blocks
        if isinstance(b, Row)
    )  # two columns
    assert any(b.stamp for page in pages for b in page.doc.blocks if isinstance(b, Signature))
    damage = [page.degradation for page in pages]
    assert {d.rotation for d in damage} == {0, 90, 180, 270}
    assert max(abs(d.skew_deg) for d in damage) > 4.0
    assert any(d.skew_deg == 0 for d in damage)
    assert any(d.contrast < 0.6 for d in damage)  # faint photocopies
    assert any(d.speckle > 0 for d in damage)
    assert any(d.shadow > 0 for d in damage)  # the binding's shadow
    assert any(d.jpeg_quality and d.jpeg_quality < 40 for d in damage)
    assert max(d.noise_sigma for d in damage) > 6 and max(d.blur_sigma for d in damage) > 1.2


def _red_pixels(image: Image.Image) -> int:
    rgb = np.asarray(image).astype(int)
    return int(((rgb[..., 0] > 150) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)).sum())


def test_seal_carries_the_agency_name_outside_the_truth() -> None:
    family = next(iter(font_families()))

    def page(seal: str) -> Any:
        blocks = (Row((Cell("NGƯỜI KÝ", 0.5, 1.0, "center"),)),
                  Signature(0.58, 0.92, stamp=True, seal=seal))  # fmt: skip
        return render_page(PageDoc(blocks, family, 12.0), DPI)

    named, bare = page("ỦY BAN NHÂN DÂN PHƯỜNG HÀNG BẠC"), page("")
    assert named.text == bare.text == "NGƯỜI KÝ"  # neither seal is in the truth
    assert _red_pixels(bare.image) > 300  # rings and star
    assert _red_pixels(named.image) > _red_pixels(bare.image) + 300  # plus the ring's letters


def test_photocopy_fades_ink_and_jpeg_pass_keeps_geometry() -> None:
    clean = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(clean).rectangle((50, 50, 250, 150), fill=(20, 20, 20))
    faint = np.asarray(tone(clean, (245, 245, 240), contrast=0.4))
    assert 150 < faint[100, 150, 0] < 170  # 245 - 0.4 * 235 * 245/255
    assert np.asarray(tone(clean, (245, 245, 240)))[100, 150, 0] < 25
    params = Degradation(paper=(245, 245, 240), skew_deg=0.0, rotation=0, light_falloff=0.0,
                         light_angle=0.0, blur_sigma=0.0, noise_sigma=1.0, seed=1,
                         contrast=0.5, speckle=400.0, jpeg_quality=25)  # fmt: skip
    scanned = np.asarray(degrade(clean, params, dpi=100)).astype(int)
    assert scanned.shape == (200, 300, 3)
    paper = scanned[:40].reshape(-1, 3)
    assert (paper.min(axis=1) < 150).sum() >= 3  # toner specks on the blank margin
    assert abs(np.median(scanned[60:140, 60:240]) - 125) < 20  # the box is mid grey now
