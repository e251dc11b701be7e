"""The audit trail: `sohoa events --record ID` lists a record's steps with the tool and version
that did each, and `--premis` gives its PREMIS-style history (object, fixity, events, agents)."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version as package_version
from pathlib import Path

import pikepdf
import pytest

from sohoa import __version__
from sohoa.archive import structure, verapdf
from sohoa.config import Settings
from sohoa.ocr import tesseract
from tests.conftest import invoke
from tests.test_tamper import archive_copies


def _events(*args: str) -> list[dict]:
    result = invoke("events", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_events_list_a_records_steps_in_order_with_their_tools(
    initialised: Settings, unsigned_pdf: bytes
) -> None:
    [(uid, _path)] = archive_copies(initialised, unsigned_pdf, 1)
    events = _events("--record", uid)
    assert [e["kind"] for e in events] == ["digest", "ocr", "pdfa", "sign"]
    assert events[0]["tool"] == "sohoa" and events[0]["detail"]["algorithm"] == "sha256"
    assert [(e["tool"], e["tool_version"]) for e in events[1:]] == [
        ("tesseract", "5.3.0"), ("pikepdf", pikepdf.__version__), ("pyHanko", "0.38.0")
    ]  # fmt: skip
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert _events("--record", "HS-2021-000000") == events  # by source path too
    table = invoke("events", "--record", uid)
    assert table.exit_code == 0 and "tesseract" in table.output and "digest" in table.output


def test_an_unknown_or_ambiguous_record_is_one_clear_line(
    initialised: Settings, unsigned_pdf: bytes
) -> None:
    archive_copies(initialised, unsigned_pdf, 1, batch="box-a")
    archive_copies(initialised, unsigned_pdf, 1, batch="box-b")
    unknown = invoke("events", "--record", "nope")
    assert unknown.exit_code == 1 and "no record with id or path 'nope'" in unknown.output
    both = invoke("events", "--record", "HS-2021-000000")
    assert both.exit_code == 1 and "box-a, box-b: add --batch" in both.output
    assert len(both.output.strip().splitlines()) == 1
    assert _events("--record", "HS-2021-000000", "--batch", "box-b")


def test_premis_history_has_identifiers_fixity_events_and_agents(
    initialised: Settings, unsigned_pdf: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(uid, path)] = archive_copies(initialised, unsigned_pdf, 1)
    monkeypatch.setenv(verapdf.LIB_ENV, str(tmp_path))  # no veraPDF: the quick check, no JVM
    assert invoke("verify", "--format", "json").exit_code == 0
    result = invoke("events", "--record", uid, "--premis")
    assert result.exit_code == 0, result.output
    history = json.loads(result.output)
    assert history["premisVersion"] == "3.0"
    obj = history["object"]
    identifiers = {i["objectIdentifierType"]: i["objectIdentifierValue"]
                   for i in obj["objectIdentifier"]}  # fmt: skip
    assert identifiers["sohoa record id"] == uid
    assert identifiers["sohoa batch and source path"] == "box-t/HS-2021-000000"
    [fixity] = obj["objectCharacteristics"][0]["fixity"]
    assert fixity["messageDigestAlgorithm"] == "SHA-256"
    assert fixity["messageDigest"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert obj["storage"][0]["contentLocation"]["contentLocationValue"] == str(path)
    events = history["events"]
    assert [e["eventType"] for e in events] == ["digest", "ocr", "pdfa", "sign", "verify"]
    verify = events[-1]
    assert verify["eventOutcomeInformation"] == [{"eventOutcome": "ok"}]
    assert verify["eventDateTime"].startswith("20")
    assert verify["linkingObjectIdentifier"][0]["linkingObjectIdentifierValue"] == uid
    agents = {a["linkingAgentIdentifierValue"] for a in verify["linkingAgentIdentifier"]}
    assert agents == {f"sohoa verify {__version__}", f"pyHanko {package_version('pyHanko')}",
                      structure.VALIDATOR, f"pikepdf {pikepdf.__version__}"}  # fmt: skip
    named = {a["agentName"]: a.get("agentVersion") for a in history["agents"]}
    assert named["tesseract"] == "5.3.0" and named["pikepdf"] == pikepdf.__version__


@pytest.mark.slow
def test_a_real_run_records_every_step_with_the_tool_versions(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    assert invoke("sample", "scans", "--records", "1", "--seed", "3", "--dpi", "150").exit_code == 0
    assert invoke("run", "scans", "--workers", "1").exit_code == 0
    [row] = [json.loads(line) for line in invoke("export").output.splitlines()]
    assert invoke("verify", "--format", "json").exit_code == 0
    target = "khai_tu" if row["procedure"] != "khai_tu" else "khai_sinh"
    assert invoke("review", "set", row["record_id"], target).exit_code == 0

    events = _events("--record", row["source"])
    versions = {(e["kind"], e["tool"]): e["tool_version"] for e in events if e["tool"]}
    assert versions[("ocr", "tesseract")] == tesseract.version()
    assert versions[("pdfa", "pikepdf")] == pikepdf.__version__
    assert versions[("sign", "pyHanko")] == package_version("pyHanko")
    assert versions[("ingest", "sohoa")] and versions[("digest", "sohoa")]
    assert versions[("deskew", "opencv")] and versions[("verify", "sohoa verify")]
    assert [v for (kind, _tool), v in versions.items() if kind == "classify" and v]
    pdfa = next(e for e in events if e["kind"] == "pdfa")
    assert pdfa["detail"]["dossier"]["PageTotal"] == len(row["pages"])
    sign = [e for e in events if e["kind"] == "sign"]
    assert [s["detail"]["level"] for s in sign] == ["PAdES-B-B", "PAdES-B-B"]  # run, review

    history = json.loads(invoke("events", "--record", row["record_id"], "--premis").output)
    kinds = [e["eventType"] for e in history["events"]]
    for kind in ("ingest", "digest", "deskew", "ocr", "classify", "pdfa", "sign", "verify",
                 "review"):  # fmt: skip
        assert kind in kinds, kinds
    review = next(e for e in history["events"] if e["eventType"] == "review")
    [reviewer] = review["linkingAgentIdentifier"]
    assert reviewer["linkingAgentIdentifierType"] == "person"
