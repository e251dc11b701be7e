"""sohoa.pipeline.training, models, labelled and evaluation: models stored and activated in
the database (SQLite and PostgreSQL), training from reviewed records, the run-time checks
(catalogue version, damaged file), `sohoa classify eval`, and the CLI on a real OCR'd folder
(slow)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from sohoa.classify.model import MIN_PER_LABEL
from sohoa.classify.registry import ModelRef, save_model
from sohoa.config import Settings, load_settings
from sohoa.errors import SohoaError
from sohoa.ingest import open_record
from sohoa.ingest.discover import RecordRef
from sohoa.pipeline import RecordTask, evaluation, labelled, process_record, worker_settings
from sohoa.pipeline.labelled import Labelled, read_truth
from sohoa.pipeline.models import activate, active_model, catalogue_of, list_models
from sohoa.pipeline.training import train_model
from sohoa.records import (
    PageRow,
    Record,
    RecordOutcome,
    database_session,
    store,
)
from sohoa.records.models import ClassifierModel
from sohoa.sample.examples import synthetic_examples
from tests.conftest import CATALOGUE, invoke
from tests.test_archive import form_page


def _page(index: int, text: str) -> PageRow:
    return PageRow(index, f"p{index}.png", 0, 0, 0.0, 90.0, 100, 100, 200.0, (), text)


def _store_records(settings: Settings, examples, method: str) -> None:
    with database_session(settings.database_url) as session:
        batch = store.get_or_create_batch(session, f"b-{method}", f"/scans/{method}", {})
        pairs = [(f"{method}-{n}", f"HS-{n}") for n in range(len(examples))]
        store.register_records(session, batch.id, pairs)
        for (uid, _), example in zip(pairs, examples, strict=True):
            store.commit_outcome(
                session,
                RecordOutcome(
                    uid,
                    ok=True,
                    procedure=example.label,
                    procedure_confidence=1.0,
                    classification_method=method,
                    pages=tuple(_page(i, t) for i, t in enumerate(example.pages)),
                ),
            )


def _synthetic(records: int, seed: int):
    return synthetic_examples(records, seed, CATALOGUE, unknown_share=0.15, noise=0.1)


def test_training_uses_reviewed_records_and_records_the_active_model(initialised) -> None:
    settings = initialised
    _store_records(settings, _synthetic(66, 1), "review")
    # Records the classifier decided alone never teach it (their label may be wrong).
    _store_records(settings, [e.__class__(e.pages, "khai_tu") for e in _synthetic(5, 2)], "rules")
    first = train_model(settings, [])
    assert (first.from_database, first.examples) == (66, 66)
    assert sum(first.labels.values()) == 66
    data = first.path.read_bytes()
    assert first.path.parent == settings.data_dir / "models"
    ref = active_model(settings, catalogue_of(settings))
    assert ref == ModelRef(str(first.path), hashlib.sha256(data).hexdigest(), first.version)

    second = train_model(settings, [], seed=1)
    models = list_models(settings)
    assert [(m.version, m.active) for m in models] == [
        (first.version, False),
        (second.version, True),
    ]
    with database_session(settings.database_url) as session:
        row = session.scalars(select(ClassifierModel).where(ClassifierModel.active)).one()
        assert row.training_size == 66 and row.metrics["held_out_calibration"]["stacked"]
        assert row.catalogue_version == catalogue_of(settings).version
    activate(settings, first.version)
    assert active_model(settings, catalogue_of(settings)).version == first.version
    activate(settings, None)
    assert active_model(settings, catalogue_of(settings)) is None
    with pytest.raises(SohoaError, match="no classifier model 'nope'"):
        activate(settings, "nope")


def test_nothing_to_train_on_is_one_clear_error(initialised) -> None:
    result = invoke("classify", "train")
    assert result.exit_code == 1
    assert "nothing to train on" in result.output and "Traceback" not in result.output


def _add_model_row(settings: Settings, catalogue_version: str, path: str = "/x.model") -> None:
    with database_session(settings.database_url) as session:
        session.add(
            ClassifierModel(
                version="v-old",
                path=path,
                sha256="0" * 64,
                catalogue_version=catalogue_version,
                format_version=1,
                sklearn_version="1",
                training_size=1,
                labels=[],
                metrics={},
                active=True,
            )
        )


def test_model_of_another_catalogue_stops_the_run_at_start(initialised, workdir: Path) -> None:
    _add_model_row(initialised, "0123456789ab")
    (workdir / "scans").mkdir()
    result = invoke("run", "scans")
    assert result.exit_code == 1
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "trained for catalogue version 0123456789ab" in message
    assert "sohoa classify train" in message and catalogue_of(initialised).version in message
    with database_session(initialised.database_url) as session:
        assert session.scalars(select(Record)).all() == []  # nothing ran


@pytest.fixture
def small_model(workdir: Path) -> tuple[Settings, Path, str]:
    """`sohoa init` on SQLite and a small model file saved in its data folder."""
    from sohoa.classify.learn import train

    assert invoke("init").exit_code == 0
    settings = load_settings()
    model = train(_synthetic(60, 3), catalogue_of(settings))
    saved = save_model(settings.data_dir / "models", model)
    return settings, Path(saved.path), saved.sha256


def _task(root: Path) -> tuple[RecordTask, str]:
    from PIL import Image

    folder = root / "HS-1"
    folder.mkdir(parents=True)
    Image.fromarray(form_page(150)).save(folder / "p1.png", dpi=(150, 150))
    task = RecordTask(uid="hs-1", batch="b", root=str(root), rel_path="HS-1", is_dir=True)
    return task, open_record(root, RecordRef("HS-1", True)).content_hash


def _classify_event(outcome: RecordOutcome):
    [event] = [e for e in outcome.events if e.kind == "classify"]
    return event


def test_worker_uses_the_model_and_falls_back_to_rules_on_damage(small_model, workdir) -> None:
    settings, path, sha256 = small_model
    base = worker_settings(settings)
    task, content_hash = _task(workdir / "scans")
    ref = ModelRef(str(path), sha256, "v1")

    with_model = process_record(task, content_hash, base.__class__(**{**vars(base), "model": ref}))
    assert with_model.ok, with_model.error_message
    assert (with_model.classification_method, with_model.procedure) == ("combined", "khai_sinh")
    event = _classify_event(with_model)
    assert (event.outcome, event.tool, event.detail["model"]) == ("ok", "sohoa-combined", "v1")

    data = bytearray(path.read_bytes())
    data[-50] ^= 0xFF
    damaged = path.with_name("damaged.model")
    damaged.write_bytes(bytes(data))
    for broken in (
        ModelRef(str(damaged), sha256, "v2"),  # not the recorded checksum
        ModelRef(str(damaged), hashlib.sha256(data).hexdigest(), "v3"),  # payload checksum
        ModelRef(str(workdir / "gone.model"), sha256, "v4"),  # missing
    ):
        outcome = process_record(
            task, content_hash, base.__class__(**{**vars(base), "model": broken})
        )
        assert outcome.ok, outcome.error_message
        assert (outcome.classification_method, outcome.procedure) == ("rules", "khai_sinh")
        event = _classify_event(outcome)
        assert event.outcome == "warning" and event.detail["model"] is None
        assert str(broken.path) in event.detail["model_warning"]


def _labelled(records: int, seed: int) -> list[Labelled]:
    return [Labelled(e.source, e.label, e.pages) for e in _synthetic(records, seed)]


def test_eval_reports_what_the_issue_asks(small_model, monkeypatch, tmp_path) -> None:
    settings, path, _sha = small_model
    records = _labelled(40, 9)
    monkeypatch.setattr(evaluation, "folder_records", lambda *a, **k: (records, ["bad: x"]))
    report = evaluation.evaluate(settings, [tmp_path], model_path=path)
    assert report.records == 40 and report.model == str(path)
    assert sum(map(sum, report.confusion)) == 40
    assert len(report.confusion) == len(report.labels) == len(CATALOGUE)
    rows = {r["procedure"]: r for r in report.per_procedure}
    assert sum(r["support"] for r in rows.values()) == 40
    assert 0.0 <= report.macro_f1 <= 1.0
    truths = [r.label for r in records]
    assert report.out_of_catalogue == truths.count("khac")
    assert report.sent_to_review + report.auto_accepted == 40
    assert set(report.calibration) == {"rules", "model", "agreement_rule", "stacked"}
    assert report.problems == ["bad: x"]
    text = evaluation.render(report)
    for part in (
        "macro-F1",
        "confusion matrix",
        "sent to review",
        "accepted automatically",
        "out of catalogue",
        "brier",
        "1 khai_sinh",
    ):
        assert part in text

    rules_only = evaluation.evaluate(settings, [tmp_path], rules_only=True)
    assert set(rules_only.calibration) == {"rules"} and rules_only.model == "rules"


def test_eval_cli_json_and_errors(small_model, monkeypatch, tmp_path) -> None:
    _settings, path, _sha = small_model
    monkeypatch.setattr(evaluation, "folder_records", lambda *a, **k: (_labelled(20, 4), []))
    result = invoke(
        "classify", "eval", "--from", str(tmp_path), "--model", str(path), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["records"] == 20 and "confusion" in payload and "macro_f1" in payload
    no_model = invoke("classify", "eval", "--from", str(tmp_path))
    assert no_model.exit_code == 1 and "no active classifier model" in no_model.output
    assert invoke("classify", "eval").exit_code == 1


def test_truth_file_is_required_and_checked(tmp_path: Path) -> None:
    with pytest.raises(SohoaError, match=r"has no _truth\.jsonl"):
        read_truth(tmp_path)
    (tmp_path / "_truth.jsonl").write_text('{"record": "A", "procedure": "khac"}\n\n{"x": 1}\n')
    with pytest.raises(SohoaError, match="line 3"):
        read_truth(tmp_path)


@pytest.mark.slow
def test_cli_trains_and_evaluates_on_a_scanned_folder(workdir: Path, monkeypatch) -> None:
    # Two procedures and khac, so that eight records give each a few examples.
    small = [item for item in CATALOGUE if item["key"] in {"khai_sinh", "ket_hon", "khac"}]
    (workdir / "config.yaml").write_text(
        yaml.safe_dump({"classify": {"catalogue": small}}, allow_unicode=True), encoding="utf-8"
    )
    assert invoke("init").exit_code == 0
    made = invoke(
        "sample",
        "scans",
        "--records",
        "8",
        "--seed",
        "5",
        "--dpi",
        "150",
        "--unknown-share",
        "0.25",
    )
    assert made.exit_code == 0, made.output
    trained = invoke("classify", "train", "--from", "scans", "--workers", "1")
    assert trained.exit_code == 0, trained.output
    counts = Counter(label for _, label in read_truth(workdir / "scans"))
    kept = sum(n for n in counts.values() if n >= MIN_PER_LABEL)  # the rest: rules alone
    assert f"trained on {kept} record(s)" in trained.output and "active now" in trained.output
    assert list((workdir / "sohoa-data" / "ocr-cache").rglob("*.json"))

    # The second pass reads the cached text: no OCR at all.
    def no_ocr(_job):
        raise AssertionError("OCR ran although the text was cached")

    monkeypatch.setattr(labelled, "_ocr_file", no_ocr)
    result = invoke("classify", "eval", "--from", "scans", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output and "confusion matrix" in result.output
    listed = invoke("classify", "models", "--format", "json")
    [row] = json.loads(listed.output)
    assert row["active"] is True and row["training_size"] == kept
