"""Odd names and sources: issue 19, case 8."""

from __future__ import annotations

import json
import unicodedata

from sohoa.config import Settings
from sohoa.pipeline import record_uid
from sohoa.records import database_session, store
from tests.conftest import invoke

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
