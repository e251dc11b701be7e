"""The review loop on a real archived record: accept, correct (rebuild, re-sign, move)."""

from __future__ import annotations

import json
from pathlib import Path

import pikepdf
import pytest

from sohoa.archive import read_sohoa_fields, verify_signatures
from tests.conftest import invoke

pytestmark = pytest.mark.slow


def _only_record() -> dict:
    [row] = [json.loads(line) for line in invoke("export").output.splitlines()]
    return row


def test_a_correction_rebuilds_resigns_and_moves_the_file(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    assert invoke("sample", "scans", "--records", "1", "--seed", "3", "--dpi", "150").exit_code == 0
    assert invoke("run", "scans", "--workers", "1").exit_code == 0
    before = _only_record()
    target = "khai_tu" if before["procedure"] != "khai_tu" else "khai_sinh"

    result = invoke("review", "set", before["record_id"], target)
    assert result.exit_code == 0, result.output
    after = _only_record()
    assert after["procedure"] == target and after["state"] == "archived"
    assert after["procedure_confidence"] == 1.0
    assert f"/{target}/" in after["output"] and not Path(before["output"]).exists()
    with pikepdf.open(after["output"]) as pdf:
        assert read_sohoa_fields(pdf.Root.Metadata.read_bytes())["Procedure"] == target
    [signature] = verify_signatures(
        Path(after["output"]), [workdir / "sohoa-data" / "keys" / "test-signer.pem"]
    )
    assert signature.intact and signature.valid and signature.trusted
    assert invoke("verify").exit_code == 0

    shown = invoke("review", "show", after["record_id"])
    assert "candidate 1:" in shown.output and "page 1" in shown.output


def test_unknown_record_and_procedure_are_user_errors(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    missing = invoke("review", "show", "nope")
    assert missing.exit_code == 1 and "no record 'nope'" in missing.output
    nothing = invoke("review", "accept", "nope")
    assert nothing.exit_code == 1
