"""Records sent to the workers in steps (sohoa.pipeline.staged): a big record is read in
parts on all the workers (pipeline.pages_per_task) and still becomes one file, built and
signed once, committed once, with its pages in order, progress counting its pages as the
parts are read; a record that only a code on its page 1 links to the paper register is named
by the register before its file is built, so that it too is built and signed once."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pikepdf
import pytest
import yaml
from PIL import Image
from sqlalchemy import select

from sohoa.config import load_settings
from sohoa.errors import SohoaError
from sohoa.records import database_session
from sohoa.records.models import Page, Record
from tests.conftest import events_per_record, invoke
from tests.test_codes import qr_label, stick

pytestmark = pytest.mark.slow
PARTS_OF = 2  # pages per part in this test: 5 pages make parts of 2, 2 and 1


def _one_big_record(workdir: Path) -> list[str]:
    """A 5-page record made of the sample's pages (and a 1-page record beside it); returns
    the big record's files in page order."""
    made = invoke("sample", "sample", "--records", "8", "--seed", "3", "--dpi", "150")
    assert made.exit_code == 0, made.output
    pages = sorted(p for p in (workdir / "sample").rglob("*") if p.suffix in (".png", ".jpg"))
    big = workdir / "scans" / "HS-BIG"
    big.mkdir(parents=True)
    names = []
    for number, page in enumerate(pages[:5]):
        name = f"{number + 1:02d}{page.suffix}"
        shutil.copy(page, big / name)
        names.append(f"HS-BIG/{name}")
    shutil.copy(pages[5], workdir / "scans" / f"small{pages[5].suffix}")
    return names


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # driver logic: one is enough
def test_a_big_record_is_read_in_parts_and_committed_once(initialised, workdir: Path) -> None:
    files = _one_big_record(workdir)
    (workdir / "config.yaml").write_text(yaml.safe_dump({"pipeline": {"pages_per_task": PARTS_OF}}))
    result = invoke("run", "scans", "--batch", "big", "--workers", "2")
    assert result.exit_code == 0, result.output

    rows = {row["source"]: row for row in map(json.loads, invoke("export").output.splitlines())}
    big = rows["HS-BIG"]
    assert big["state"] in ("archived", "needs_review")
    with database_session(initialised.database_url) as session:
        pages = session.execute(
            select(Page.index, Page.source_file).join(Record).where(Record.uid == big["record_id"])
            .order_by(Page.index)
        )  # fmt: skip
        assert [tuple(page) for page in pages] == list(enumerate(files))
    with pikepdf.open(big["output"]) as pdf:
        assert len(pdf.pages) == 5
    settings = load_settings()
    for kind in ("pdfa", "sign", "ocr"):
        assert events_per_record(settings, kind)[big["record_id"]] == 1, kind

    read = [int(n) for n in re.findall(r"reading\s+HS-BIG \(\+(\d) pages\)", result.output)]
    assert read and set(read) <= {1, 2} and sum(read) <= 5  # parts' pages as they were read
    [last] = re.findall(r"\[2/2\] .* (\d+) pages,", result.output)
    assert last == "6"  # every page counted once: the parts' and the record's rest


def test_pages_per_task_below_one_is_refused(workdir: Path) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump({"pipeline": {"pages_per_task": 0}}))
    with pytest.raises(SohoaError, match=r"pipeline\.pages_per_task: expected at least 1"):
        load_settings()


def test_a_record_named_by_the_code_on_its_page_one_is_built_once(
    initialised, workdir: Path
) -> None:
    made = invoke("sample", "sample", "--records", "3", "--seed", "5", "--dpi", "200")
    assert made.exit_code == 0, made.output
    with (workdir / "sample" / "_inventory.csv").open(encoding="utf-8", newline="") as handle:
        codes = [row["code"] for row in csv.DictReader(handle)][:2]
    images = sorted(p for p in (workdir / "sample").rglob("*") if p.suffix in (".png", ".jpg"))
    labels = {"scan-a": codes[0], "scan-b": codes[1], "scan-c": None}  # no code in the names
    for (name, code), image in zip(labels.items(), images, strict=False):
        page = np.asarray(Image.open(image).convert("RGB"))
        if code is not None:
            page = stick(page, qr_label(code, 200, 2.0), "top-right")
        (workdir / "scans" / name).mkdir(parents=True)
        Image.fromarray(page).save(workdir / "scans" / name / "p1.png", dpi=(200, 200))
    assert invoke("inventory", "import", "sample/_inventory.csv").exit_code == 0
    result = invoke("run", "scans", "--batch", "coded", "--workers", "2")
    assert result.exit_code == 0, result.output

    rows = {row["source"]: row for row in map(json.loads, invoke("export").output.splitlines())}
    for name, code in labels.items():
        if code is not None:
            assert Path(rows[name]["output"]).name == f"{code}.001.pdf"
            assert rows[name]["dossier"]["FileCode"] == code
    assert Path(rows["scan-c"]["output"]).stem == rows["scan-c"]["record_id"]
    settings = load_settings()
    once = {row["record_id"]: 1 for row in rows.values()}
    assert events_per_record(settings, "pdfa") == once  # the register step rebuilt nothing
    assert events_per_record(settings, "sign") == once
    coverage = json.loads(invoke("coverage", "--format", "json").output)
    assert coverage["basis"] == "inventory" and coverage["rows"][0]["digitized"] == 2
