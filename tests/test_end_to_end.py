"""The whole path on generated scans, with every external program for real:
tesseract, poppler, pyHanko, veraPDF, Dask worker processes, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pikepdf
import pytest

from sohoa.archive import check_pdfa, verapdf, verify_signatures
from sohoa.classify import fold
from tests.conftest import invoke
from tests.test_ingest import (
    _bomb_png,
    _encoded,
    _encrypted_pdf,
    _no_page_pdf,
    _truncated,
)

pytestmark = pytest.mark.slow

RECORDS = 4


@pytest.fixture
def batch(initialised, workdir: Path) -> Path:
    result = invoke("sample", "scans", "--records", str(RECORDS), "--seed", "7")
    assert result.exit_code == 0, result.output
    return workdir / "scans"


def _truth(batch: Path) -> dict[str, dict]:
    lines = (batch / "_truth.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["record"]: row for row in map(json.loads, lines)}


def _export() -> list[dict]:
    result = invoke("export", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def _archive_files(settings) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in settings.archive_dir.rglob("*") if p.is_file()}


def test_scans_become_signed_pdfa_records(initialised, batch: Path) -> None:
    settings = initialised
    result = invoke("run", "scans", "--batch", "box-001", "--workers", "2")
    assert result.exit_code == 0, result.output

    truth = _truth(batch)
    rows = _export()
    assert sorted(row["source"] for row in rows) == sorted(truth)
    assert {row["state"] for row in rows} <= {"archived", "needs_review"}
    outputs = [Path(row["output"]) for row in rows]
    assert all(path.is_file() for path in outputs)
    assert sorted(_archive_files(settings)) == sorted(outputs)  # nothing else, no temporaries

    trust = [settings.keys_dir / "test-signer.pem"]
    for row, path in zip(rows, outputs, strict=True):
        expected = truth[row["source"]]
        with pikepdf.open(path) as pdf:
            assert len(pdf.pages) == len(expected["pages"]) == len(row["pages"])
        layer = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
        assert fold(expected["title"]) in fold(layer.stdout), (row["source"], layer.stdout[:300])
        assert unicodedata.is_normalized("NFC", row["text"])
        [signature] = verify_signatures(path, trust)
        assert signature.intact and signature.valid and signature.trusted
        assert signature.covers_whole_file
        assert row["procedure"] == expected["procedure"], row["source"]
        assert [p["rotation"] for p in row["pages"]] == [p["rotation"] for p in expected["pages"]]
    if verapdf.available():
        verdicts = check_pdfa(outputs)
        assert all(v.compliant for v in verdicts.values()), verdicts

    coverage = json.loads(invoke("coverage", "--format", "json").output)
    assert coverage["basis"] == "records"
    assert coverage["rows"] == [
        {"registered": RECORDS, "digitized": RECORDS, "percent": 100.0,
         "pages": sum(len(t["pages"]) for t in truth.values())}
    ]  # fmt: skip

    before = _archive_files(settings)
    again = invoke("run", "scans", "--batch", "box-001", "--workers", "2")
    assert again.exit_code == 0, again.output
    assert _archive_files(settings) == before
    assert _export() == rows

    verified = invoke("verify", "--format", "json")
    assert verified.exit_code == 0, verified.output
    assert all(item["ok"] for item in json.loads(verified.output))


def test_bad_inputs_fail_only_their_own_records_and_copies_are_duplicates(
    initialised, batch: Path
) -> None:
    bad = {
        "empty.png": (b"", "empty_file"),
        "truncated.png": (_truncated(_encoded("PNG")), "corrupt_image"),
        "truncated.jpg": (_truncated(_encoded("JPEG")), "corrupt_image"),
        "truncated.tif": (_truncated(_encoded("TIFF")), "corrupt_image"),
        "header-only.pdf": (b"%PDF-1.7\n", "corrupt_pdf"),
        "encrypted.pdf": (_encrypted_pdf(), "encrypted_pdf"),
        "no-pages.pdf": (_no_page_pdf(), "no_pages"),
        "bomb.png": (_bomb_png(), "too_large"),
        "letter.docx": (b"PK\x03\x04" + bytes(40), "unsupported_type"),
    }
    for name, (content, _reason) in bad.items():
        (batch / name).write_bytes(content)
    (batch.parent / "outside.png").write_bytes(_encoded("PNG"))
    (batch / "link.png").symlink_to(batch.parent / "outside.png")
    bad["link.png"] = (b"", "symlink_outside_batch")
    original = sorted(p for p in batch.iterdir() if p.is_dir())[0]
    shutil.copytree(original, batch / "copy-of-first")  # scanned twice, under another name

    result = invoke("run", "scans", "--batch", "box-002", "--workers", "2")
    assert result.exit_code == 2, result.output
    status = json.loads(invoke("status", "box-002", "--format", "json").output)
    assert {f["rel_path"]: f["reason"] for f in status["failures"]} == {
        name: reason for name, (_content, reason) in bad.items()
    }
    counts = status["counts"]
    assert counts["archived"] + counts["needs_review"] == RECORDS
    assert counts["duplicate"] == 1 and counts["processing"] == counts["pending"] == 0
    rows = {row["source"]: row for row in _export()}
    twins = [rows["copy-of-first"], rows[original.name]]
    states = sorted(row["state"] for row in twins)
    assert states[1] == "duplicate" and states[0] in ("archived", "needs_review")
    assert len({row["output"] for row in twins if row["output"]}) == 1  # one PDF for both
