"""Odd names and sources: issue 19, case 8."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from sohoa.archive import sign_pdf
from sohoa.config import Settings
from sohoa.pipeline import RecordTask, process_record, record_uid
from sohoa.records import database_session, store
from tests.conftest import invoke
from tests.test_worker import _hash, settings  # noqa: F401 (fixture)

NAME = "HS-Nguyễn Thị Hồng"


def test_a_record_stored_under_an_nfd_name_is_found_by_its_nfc_path(
    initialised: Settings,
) -> None:
    decomposed = unicodedata.normalize("NFD", NAME)
    assert decomposed != NAME
    with database_session(initialised.database_url) as session:
        batch_id = store.get_or_create_batch(session, "box-nfd", "/scans", {}).id
        store.register_records(session, batch_id, [(record_uid("box-nfd", decomposed), decomposed)])
    for typed in (NAME, decomposed):
        result = invoke("events", "--record", typed, "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == []  # found; registering alone writes no event


def test_a_signed_source_pdf_has_its_signatures_validated_and_recorded(
    settings, workdir: Path, unsigned_pdf: bytes  # noqa: F811
) -> None:
    folder = workdir / "scans" / "HS-SIGNED"
    folder.mkdir(parents=True)
    (folder / "signed.pdf").write_bytes(sign_pdf(unsigned_pdf, settings.signer))
    (folder / "plain.pdf").write_bytes(unsigned_pdf)
    task = RecordTask(uid="hs-signed", batch="b", root=str(workdir / "scans"),
                      rel_path="HS-SIGNED", is_dir=True)  # fmt: skip
    outcome = process_record(task, _hash(task), settings)
    assert outcome.ok, outcome.error_message
    [event] = [e for e in outcome.events if e.kind == "source_signatures"]
    assert list(event.detail) == ["HS-SIGNED/signed.pdf"]  # the unsigned one has no verdict
    [signature] = event.detail["HS-SIGNED/signed.pdf"]["signatures"]
    assert signature["intact"] and signature["valid"] and signature["modification"] == "NONE"
    assert outcome.metadata["source_signatures"] == event.detail
