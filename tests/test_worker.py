"""One record through the worker's steps, without Dask: the flags and failure reasons an
operator sees for odd pages (blank, low resolution, hung OCR)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sohoa.archive import RegisterEntry
from sohoa.config import load_settings
from sohoa.ingest import open_record
from sohoa.ingest.discover import RecordRef
from sohoa.pipeline import RecordTask, process_record, worker_settings
from tests.conftest import invoke
from tests.test_archive import form_page


@pytest.fixture
def settings(workdir: Path):
    assert invoke("init").exit_code == 0
    return worker_settings(load_settings())


def _record(root: Path, name: str, pages: list[tuple[np.ndarray, int]]) -> RecordTask:
    folder = root / name
    folder.mkdir(parents=True)
    for n, (image, dpi) in enumerate(pages):
        Image.fromarray(image).save(folder / f"p{n + 1}.png", dpi=(dpi, dpi))
    return RecordTask(uid=name.lower(), batch="b", root=str(root), rel_path=name, is_dir=True)


def _hash(task: RecordTask) -> str:
    return open_record(Path(task.root), RecordRef(task.rel_path, True)).content_hash


def test_blank_and_low_resolution_pages_are_flagged_not_failed(settings, workdir: Path) -> None:
    blank = np.full((1169, 827, 3), 245, dtype=np.uint8)
    task = _record(workdir / "scans", "HS-FLAGS", [(form_page(150), 150), (blank, 100)])
    outcome = process_record(task, _hash(task), settings)
    assert outcome.ok, outcome.error_message
    first, second = outcome.pages
    assert "low_resolution" in first.flags  # 150 dpi < 200 dpi (NĐ 30/2020)
    assert {"blank", "low_resolution"} <= set(second.flags)
    assert outcome.procedure == "khai_sinh"
    assert Path(outcome.output_path).is_file()


def test_a_hung_ocr_fails_the_record_as_timeout(settings, workdir: Path) -> None:
    hurried = replace(settings, ocr=replace(settings.ocr, page_timeout_s=0.001))
    task = _record(workdir / "scans", "HS-SLOW", [(form_page(150), 150)])
    outcome = process_record(task, _hash(task), hurried)
    assert not outcome.ok
    assert outcome.error_reason == "timeout"
    assert not list(settings.archive_dir.rglob("*.pdf*"))  # nothing half-written


def test_a_source_changed_after_hashing_is_refused(settings, workdir: Path) -> None:
    task = _record(workdir / "scans", "HS-MOVING", [(form_page(150), 150)])
    outcome = process_record(task, "0" * 64, settings)
    assert (outcome.ok, outcome.error_reason) == (False, "source_changed")


def test_a_planned_register_name_never_replaces_another_records_file(
    settings, workdir: Path
) -> None:
    entry = RegisterEntry(code="HS-2020-1", title="Đăng ký khai sinh - Lê Văn An",
                          unit="UBND phường 1", year=2020, expected_pages=1, order_number=1)
    task = replace(_record(workdir / "scans", "HS-2020-1", [(form_page(150), 150)]),
                   register=entry)  # fmt: skip
    first = process_record(task, _hash(task), settings)
    assert first.ok, first.error_message
    planned = Path(first.output_path)
    assert planned.name == "HS-2020-1.001.pdf" and first.metadata["order_number"] == 1

    # Its own file, left by an attempt that never committed, is replaced by the retry.
    again = process_record(task, _hash(task), settings)
    assert again.ok and again.output_path == str(planned)

    # Another record planned under the same name (another run, same dossier) keeps its own
    # id as its name and no register fields: the register step names it after its run.
    other = replace(task, uid="someone-else")
    kept = planned.read_bytes()
    outcome = process_record(other, _hash(other), settings)
    assert outcome.ok, outcome.error_message
    assert Path(outcome.output_path).name == "someone-else.pdf"
    assert outcome.metadata.get("register") is None
    assert planned.read_bytes() == kept


def test_a_digest_that_breaks_fails_its_record_with_the_reason(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not as a lost worker: an encrypted PDF once made page counting raise in the digest,
    and the record failed as `worker_died`, which says nothing of the file."""
    from sohoa.ingest import RecordSource
    from sohoa.pipeline.worker import digest_record

    task = _record(workdir / "scans", "HS-COUNT", [(np.full((64, 64, 3), 250, np.uint8), 150)])
    assert digest_record(task).pages == 1

    def broken(_source: RecordSource) -> int:
        raise RuntimeError("cannot count")

    monkeypatch.setattr(RecordSource, "page_count", broken)
    digest = digest_record(task)
    assert (digest.content_hash, digest.error_reason) == (None, "internal_error")
    assert digest.error_message == "RuntimeError: cannot count"
