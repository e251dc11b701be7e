"""Ingest: discovery rules, every page format, and a clear reason for every bad input."""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from sohoa.errors import RecordError
from sohoa.ingest import RecordRef, discover, open_record, sniff_type

MAX_PIXELS = 200_000_000


def page_image(width: int = 400, height: int = 300, shade: int = 200) -> Image.Image:
    array = np.full((height, width, 3), shade, dtype=np.uint8)
    array[50:60, 40:300] = 20  # a line of "ink"
    return Image.fromarray(array)


def pages_of(root: Path, ref: RecordRef) -> list:
    return list(open_record(root, ref).pages(default_dpi=300, max_pixels=MAX_PIXELS))


def test_discover_skips_manifests_hidden_files_and_os_junk(tmp_path: Path) -> None:
    (tmp_path / "HS-001").mkdir()
    page_image().save(tmp_path / "HS-001" / "p1.png")
    page_image().save(tmp_path / "loose.png")
    for junk in ("_truth.jsonl", "_inventory.csv", ".DS_Store", "Thumbs.db", "desktop.ini"):
        (tmp_path / junk).write_text("x")
    (tmp_path / ".hidden").mkdir()
    refs = list(discover(tmp_path))
    assert refs == [RecordRef("HS-001", True), RecordRef("loose.png", False)]


def test_every_format_yields_rgb_pages_with_their_resolution(tmp_path: Path) -> None:
    record = tmp_path / "HS-002"
    record.mkdir()
    page_image().save(record / "a.png", dpi=(200, 200))
    page_image().save(record / "b.jpg", dpi=(300, 300))
    first, second = page_image(), page_image(shade=180)
    first.save(record / "c.tif", save_all=True, append_images=[second], dpi=(250, 250))
    page_image().save(record / "d.pdf", resolution=150)
    pages = pages_of(tmp_path, RecordRef("HS-002", True))
    assert [(p.file, p.index_in_file) for p in pages] == [
        ("HS-002/a.png", 0),
        ("HS-002/b.jpg", 0),
        ("HS-002/c.tif", 0),
        ("HS-002/c.tif", 1),
        ("HS-002/d.pdf", 0),
    ]
    assert [p.dpi for p in pages] == [200, 300, 250, 250, 150]  # PNG's 199.9996 rounds back
    assert all(p.image.ndim == 3 and p.image.shape[2] == 3 for p in pages)
    assert pages[4].image.shape[:2] == (300, 400)  # rasterised at the PDF image's own resolution


def test_content_hash_ignores_names_but_not_bytes(tmp_path: Path) -> None:
    for name in ("A", "B"):
        (tmp_path / name).mkdir()
        page_image().save(tmp_path / name / "p1.png")
    (tmp_path / "C").mkdir()
    page_image(shade=10).save(tmp_path / "C" / "p1.png")
    hashes = [open_record(tmp_path, RecordRef(n, True)).content_hash for n in "ABC"]
    assert hashes[0] == hashes[1] != hashes[2]


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    page_image(800, 600).save(buffer, fmt)
    return buffer.getvalue()


def _bomb_png(width: int = 35_000, height: int = 35_000) -> bytes:
    """A PNG whose header declares a huge image: the kind of file that exhausts memory."""
    data = bytearray(_encoded("PNG"))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)


def _encrypted_pdf() -> bytes:
    buffer = io.BytesIO()
    page_image().save(plain := io.BytesIO(), "PDF")
    with pikepdf.open(io.BytesIO(plain.getvalue())) as pdf:
        pdf.save(buffer, encryption=pikepdf.Encryption(owner="o", user="secret"))
    return buffer.getvalue()


def _no_page_pdf() -> bytes:
    buffer = io.BytesIO()
    pikepdf.new().save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.png", lambda: b"", "empty_file"),
        ("truncated.png", lambda: _truncated(_encoded("PNG")), "corrupt_image"),
        ("truncated.jpg", lambda: _truncated(_encoded("JPEG")), "corrupt_image"),
        ("truncated.tif", lambda: _truncated(_encoded("TIFF")), "corrupt_image"),
        ("header-only.pdf", lambda: b"%PDF-1.7\n", "corrupt_pdf"),
        ("encrypted.pdf", _encrypted_pdf, "encrypted_pdf"),
        ("no-pages.pdf", _no_page_pdf, "no_pages"),
        ("bomb.png", _bomb_png, "too_large"),
        ("letter.docx", lambda: b"PK\x03\x04" + b"\0" * 64, "unsupported_type"),
        ("noise.tif", lambda: bytes(random.Random(3).randrange(256) for _ in range(4096)),
         "corrupt_image"),
    ],
)
def test_bad_file_fails_its_record_with_a_specific_reason(
    tmp_path: Path, name: str, content, reason: str
) -> None:
    (tmp_path / name).write_bytes(content())
    # The digest counts pages before any is read: that never fails the record by itself.
    assert open_record(tmp_path, RecordRef(name, False)).page_count() in (None, 0, 1)
    with pytest.raises(RecordError) as failure:
        pages_of(tmp_path, RecordRef(name, False))
    assert failure.value.reason == reason
    assert name in failure.value.message


def test_symlink_out_of_the_batch_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    page_image().save(outside)
    batch = tmp_path / "batch"
    (batch / "HS-003").mkdir(parents=True)
    (batch / "HS-003" / "p1.png").symlink_to(outside)
    with pytest.raises(RecordError) as failure:
        open_record(batch, RecordRef("HS-003", True))
    assert failure.value.reason == "symlink_outside_batch"


@pytest.mark.parametrize("raw_name", [b"bad\xffname.png", b"line\nbreak.png"])
def test_unusable_file_names_fail_with_bad_filename(tmp_path: Path, raw_name: bytes) -> None:
    with open(os.path.join(os.fsencode(tmp_path), raw_name), "wb") as handle:
        page_image().save(handle, "PNG")
    [ref] = list(discover(tmp_path))
    with pytest.raises(RecordError) as failure:
        open_record(tmp_path, ref)
    assert failure.value.reason == "bad_filename"


def test_sniff_trusts_content_over_suffix(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    page_image().save(path, "PNG")
    assert sniff_type(path) == "png"


def test_sources_are_never_modified(tmp_path: Path) -> None:
    (tmp_path / "HS-004").mkdir()
    page_image().save(tmp_path / "HS-004" / "p1.png")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    pages_of(tmp_path, RecordRef("HS-004", True))
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after


def _mixed_record(root: Path) -> RecordRef:
    """Seven pages over four files: a PNG, a 3-frame TIFF, a 2-page scanned PDF, a JPEG; each
    page's shade says which it is."""
    record = root / "HS-BIG"
    record.mkdir()
    shades = iter(range(60, 200, 20))
    page_image(shade=next(shades)).save(record / "1.png")
    frames = [page_image(shade=next(shades)) for _ in range(3)]
    frames[0].save(record / "2.tif", save_all=True, append_images=frames[1:], dpi=(300, 300))
    sheets = [page_image(shade=next(shades)) for _ in range(2)]
    sheets[0].save(record / "3.pdf", save_all=True, append_images=sheets[1:], resolution=300)
    page_image(shade=next(shades)).save(record / "4.jpg", quality=95)
    return RecordRef("HS-BIG", True)


def _shade(page) -> int:
    return int(np.median(page.image))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 10])
def test_a_record_read_in_parts_gives_the_pages_of_a_whole_read(tmp_path: Path, size: int) -> None:
    ref = _mixed_record(tmp_path)
    source = open_record(tmp_path, ref)
    assert source.page_count() == 7
    whole = [(p.file, p.index_in_file, _shade(p)) for p in pages_of(tmp_path, ref)]
    parts = []
    for first in range(0, 7, size):
        part = source.pages(default_dpi=300, max_pixels=MAX_PIXELS, only=range(first, first + size))
        parts.extend((p.file, p.index_in_file, _shade(p)) for p in part)
    assert parts == whole
    assert len({shade for *_where, shade in whole}) == 7  # the pages really differ


@pytest.mark.parametrize(
    "bad", [b"%PDF-1.4 not really", _encrypted_pdf()], ids=["damaged", "encrypted"]
)
def test_page_count_is_none_when_a_file_cannot_say(tmp_path: Path, bad: bytes) -> None:
    source_dir = tmp_path / "HS-BAD"
    source_dir.mkdir()
    page_image().save(source_dir / "1.png")
    (source_dir / "2.pdf").write_bytes(bad)
    assert open_record(tmp_path, RecordRef("HS-BAD", True)).page_count() is None
