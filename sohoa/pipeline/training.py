"""`sohoa classify train`: fit a model on reviewed records and labelled folders, store the
file, register it in the database and make it the active model (`eval` is in
evaluation.py, the labelled records in labelled.py, the registry in models.py)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sohoa.classify.registry import save_model
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.pipeline.labelled import Say, database_examples, folder_records
from sohoa.pipeline.models import catalogue_of
from sohoa.records import classifier_models, database_session


@dataclass
class TrainReport:
    version: str
    path: Path
    examples: int
    from_database: int
    from_folders: dict[str, int]
    labels: dict[str, int]
    seconds: float
    metrics: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def train_model(
    settings: Settings,
    folders: list[Path],
    *,
    use_database: bool = True,
    workers: int = 1,
    seed: int = 0,
    say: Say | None = None,
) -> TrainReport:
    """Train on reviewed records and labelled folders, save the model file, record it in
    the database and make it the active model."""
    from sohoa.classify.learn import Example, train

    say = say or (lambda _message: None)
    catalogue = catalogue_of(settings)
    examples = database_examples(settings) if use_database else []
    from_database = len(examples)
    per_folder, problems = {}, []
    for folder in folders:
        found, trouble = folder_records(folder, settings, workers=workers, say=say)
        problems += trouble
        per_folder[str(folder)] = len(found)
        examples += [Example(r.pages, r.label, str(folder / r.rel_path)) for r in found]
    if not examples:
        raise SohoaError(
            "nothing to train on: no reviewed records in the database and no labelled folder "
            "(give one with --from DIR)"
        )
    started = time.process_time()
    model = train(examples, catalogue, seed=seed, progress=say)
    seconds = time.process_time() - started
    saved = save_model(settings.data_dir / "models", model)
    with database_session(settings.database_url) as session:
        classifier_models.add_active_model(
            session, saved.version, saved.path, saved.sha256, model.info
        )
    return TrainReport(
        version=saved.version,
        path=Path(saved.path),
        examples=model.info.training_size,
        from_database=from_database,
        from_folders=per_folder,
        labels=dict(model.info.metrics.get("labels", {})),
        seconds=seconds,
        metrics=model.info.metrics,
        problems=problems,
    )


def train_payload(report: TrainReport) -> dict[str, Any]:
    data = asdict(report)
    data["path"] = str(report.path)
    return data


def render_train(report: TrainReport) -> str:
    sources = ", ".join(f"{n} from {folder}" for folder, n in report.from_folders.items())
    lines = [
        f"model {report.version} trained on {report.examples} record(s) "
        f"({report.from_database} reviewed in the database{', ' if sources else ''}{sources}) "
        f"in {report.seconds:.1f} s CPU; active now",
        f"file: {report.path}",
        "labels: " + ", ".join(f"{label} {n}" for label, n in report.labels.items()),
        "held-out calibration (Brier, lower is better; accuracy):",
    ]
    for name, values in report.metrics.get("held_out_calibration", {}).items():
        lines.append(f"  {name:<15} {values['brier']:.5f}  {values['accuracy']:.4f}")
    dropped = report.metrics.get("dropped_labels") or {}
    if dropped:
        lines.append(
            "left to the rules (too few examples): "
            + ", ".join(f"{label} ({n})" for label, n in dropped.items())
        )
    lines += [f"problem: {problem}" for problem in report.problems]
    return "\n".join(lines)
