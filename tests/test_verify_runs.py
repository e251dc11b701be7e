"""`sohoa verify` runs: an interrupted run is continued, a sample is drawn once, --restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from sohoa.archive import verapdf
from sohoa.config import Settings
from sohoa.pipeline import VerifyRequest, verify_archive
from sohoa.pipeline import verify as verify_module
from sohoa.records import Event, database_session
from tests import pdfa_audit
from tests.conftest import invoke
from tests.test_tamper import archive_copies


class _StopAfter:
    """A progress reporter that interrupts the run, as Ctrl-C would, after `n` verdicts."""

    def __init__(self, n: int) -> None:
        self.left = n

    def start(self, batch: str, total: int) -> None:
        pass

    def record_done(self, rel_path: str, state: str, pages: int, note: str) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt

    def close(self) -> None:
        pass


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two files per chunk, and the quick PDF/A check (no Java start per chunk): what is
    tested here is which files a run checks, not the PDF/A verdict."""
    monkeypatch.setattr(verify_module, "MAX_CHUNK", 2)
    monkeypatch.setattr(verapdf, "available", lambda: False)


def _verified_records(settings: Settings) -> list[int]:
    with database_session(settings.database_url) as session:
        query = select(Event.record_id).where(Event.kind == "verify").order_by(Event.id)
        return list(session.scalars(query))


def test_an_interrupted_verify_is_continued_where_it_stopped(
    initialised: Settings, unsigned_pdf: bytes, small_chunks: None
) -> None:
    copies = archive_copies(initialised, unsigned_pdf, 6)
    with pytest.raises(KeyboardInterrupt):
        verify_archive(initialised, VerifyRequest(workers=1), _StopAfter(3))
    first = _verified_records(initialised)
    assert len(first) == 4  # the chunk in hand when Ctrl-C came was recorded whole

    outcome = verify_archive(initialised, VerifyRequest(workers=1))
    assert outcome.continued_from is not None
    assert len(outcome.results) == 2 and all(r.ok for r in outcome.results)
    assert (outcome.run_files, outcome.run_failed) == (6, 0)
    every = _verified_records(initialised)
    assert sorted(every) == sorted(set(every)) and len(every) == 6  # each file once

    again = verify_archive(initialised, VerifyRequest(workers=1))
    assert again.continued_from is None and len(again.results) == len(copies)


def test_a_continued_run_still_fails_for_what_its_first_part_found(
    initialised: Settings, unsigned_pdf: bytes, small_chunks: None
) -> None:
    [(_, first), *_] = archive_copies(initialised, unsigned_pdf, 4)
    first.write_bytes(first.read_bytes() + b"%")
    pdfa_audit.exclude(first)
    with pytest.raises(KeyboardInterrupt):
        verify_archive(initialised, VerifyRequest(workers=1), _StopAfter(1))
    result = invoke("verify", "--workers", "1")
    assert result.exit_code == 2, result.output
    assert "2 file(s) had been checked before" in result.output
    assert "3 of 4 archived file(s) verified" in result.output


def test_a_sample_is_drawn_once_and_kept_when_continued(
    initialised: Settings, unsigned_pdf: bytes, small_chunks: None
) -> None:
    archive_copies(initialised, unsigned_pdf, 8)
    with pytest.raises(KeyboardInterrupt):
        verify_archive(initialised, VerifyRequest(workers=1, sample=4), _StopAfter(1))
    outcome = verify_archive(initialised, VerifyRequest(workers=1, sample=4))
    assert outcome.continued_from is not None and outcome.run_files == 4
    checked = _verified_records(initialised)
    assert len(checked) == len(set(checked)) == 4

    result = invoke("verify", "--sample", "3", "--restart", "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 3


def test_restart_begins_anew(
    initialised: Settings, unsigned_pdf: bytes, small_chunks: None
) -> None:
    archive_copies(initialised, unsigned_pdf, 4)
    with pytest.raises(KeyboardInterrupt):
        verify_archive(initialised, VerifyRequest(workers=1), _StopAfter(1))
    outcome = verify_archive(initialised, VerifyRequest(workers=1, restart=True))
    assert outcome.continued_from is None and len(outcome.results) == 4


def test_sample_must_be_positive(initialised: Settings, tmp_path: Path) -> None:
    result = invoke("verify", "--sample", "0")
    assert result.exit_code != 0 and "--sample" in result.output
