"""`sohoa classify train|models|activate`: gather labelled records, OCR them once, fit
and store versioned models, choose the active one (`eval` is in evaluation.py).

Labelled records come from the database (records whose procedure a person accepted or set
with `sohoa review`) and from folders with a `_truth.jsonl` (such as `sohoa sample` writes).
Folders are read exactly as `sohoa run` reads a batch (same page decoding, preparation and
tesseract settings), and the text of each file is cached under
`data_dir/ocr-cache/` by the file's SHA-256 and the OCR settings, so training and evaluating
again costs no OCR.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select, update

from sohoa.classify import Catalogue, load_catalogue
from sohoa.classify.noise import ocr_noise
from sohoa.config import Settings
from sohoa.errors import RecordError, SohoaError
from sohoa.ingest import RecordRef, iter_pages, open_record
from sohoa.ocr import OcrSettings, PrepareSettings, prepare, recognize, tesseract
from sohoa.records import ARCHIVED_STATES, Record, database_session
from sohoa.records.models import ClassifierModel

if TYPE_CHECKING:
    from sohoa.classify.learn import Example
    from sohoa.classify.model import TrainedModel

TRUTH_NAME = "_truth.jsonl"
Say = Callable[[str], None]


@dataclass(frozen=True)
class ModelRef:
    """The active model as a worker needs it: where the file is and what it must hash to."""

    path: str
    sha256: str
    version: str


def catalogue_of(settings: Settings) -> Catalogue:
    return load_catalogue(list(settings.classify.catalogue))


# -- the active model ------------------------------------------------------------------


def active_model(settings: Settings, catalogue: Catalogue) -> ModelRef | None:
    """The model new records are classified with, or None (rules alone).

    A model trained for another version of the catalogue is refused here, before any
    record runs: its labels may no longer mean what the catalogue says."""
    with database_session(settings.database_url) as session:
        row = session.scalars(
            select(ClassifierModel).where(ClassifierModel.active.is_(True))
        ).first()
        if row is None:
            return None
        if row.catalogue_version != catalogue.version:
            raise SohoaError(
                f"the active classifier model {row.version} was trained for catalogue version "
                f"{row.catalogue_version}, but the configured catalogue is version "
                f"{catalogue.version}: run 'sohoa classify train' again, or "
                "'sohoa classify activate none' to classify with the rules alone"
            )
        return ModelRef(row.path, row.sha256, row.version)


@dataclass(frozen=True)
class ModelRow:
    version: str
    active: bool
    created_at: str
    training_size: int
    catalogue_version: str
    path: str


def list_models(settings: Settings) -> list[ModelRow]:
    with database_session(settings.database_url) as session:
        rows = session.scalars(select(ClassifierModel).order_by(ClassifierModel.id)).all()
        return [
            ModelRow(
                r.version,
                r.active,
                r.created_at.isoformat(timespec="seconds"),
                r.training_size,
                r.catalogue_version,
                r.path,
            )
            for r in rows
        ]


def activate(settings: Settings, version: str | None) -> None:
    """Make `version` the active model; None: no model, the rules alone."""
    with database_session(settings.database_url) as session:
        if version is not None:
            row = session.scalars(
                select(ClassifierModel).where(ClassifierModel.version == version)
            ).first()
            if row is None:
                raise SohoaError(f"no classifier model {version!r}: see 'sohoa classify models'")
        session.execute(update(ClassifierModel).values(active=False))
        if version is not None:
            row.active = True


# -- labelled examples -----------------------------------------------------------------


def database_examples(settings: Settings) -> list[Example]:
    """Records whose procedure a person confirmed or corrected (`sohoa review accept|set`
    mark them with method "review"), with their stored page texts."""
    from sohoa.classify.learn import Example

    with database_session(settings.database_url) as session:
        records = session.scalars(
            select(Record)
            .where(Record.classification_method == "review")
            .where(Record.state.in_([str(s) for s in ARCHIVED_STATES]))
            .order_by(Record.id)
        ).all()
        return [
            Example(
                tuple(page.text for page in record.pages),
                record.procedure or "",
                f"record {record.uid}",
            )
            for record in records
        ]


@dataclass(frozen=True)
class Labelled:
    """A record of a labelled folder with its OCR text."""

    rel_path: str
    label: str
    pages: tuple[str, ...]


def read_truth(folder: Path) -> list[tuple[str, str]]:
    """(record path, procedure) for every line of the folder's `_truth.jsonl`."""
    path = folder / TRUTH_NAME
    if not path.is_file():
        raise SohoaError(f"{folder} has no {TRUTH_NAME}: a labelled folder needs one")
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            found.append((str(entry["record"]), str(entry["procedure"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise SohoaError(
                f"{path} line {number}: expected JSON with 'record' and 'procedure'"
            ) from exc
    return found


@dataclass(frozen=True)
class OcrJob:
    path: str
    rel_path: str
    ocr: OcrSettings
    prepare: PrepareSettings


def _ocr_file(job: OcrJob) -> list[str]:
    """Every page of one file, read the way the pipeline's worker reads it."""
    texts = []
    for page in iter_pages(
        Path(job.path),
        job.rel_path,
        default_dpi=job.ocr.default_dpi,
        max_pixels=job.ocr.max_pixels,
    ):
        texts.append(recognize(prepare(page.image, page.dpi, job.prepare), job.ocr).text)
    return texts


def _ocr_file_safely(job: OcrJob) -> list[str] | str:
    try:
        return _ocr_file(job)
    except RecordError as exc:
        return f"{exc.reason}: {exc.message}"


def _one_thread() -> None:
    import cv2

    cv2.setNumThreads(1)


class OcrCache:
    """Page texts of a file, by the file's SHA-256 and everything that shapes the OCR."""

    def __init__(self, settings: Settings) -> None:
        self.ocr = OcrSettings(**asdict(settings.ocr))
        self.prepare = PrepareSettings(min_dpi=float(self.ocr.min_dpi))
        shape = json.dumps(
            [tesseract.version(), self.ocr.languages, self.ocr.default_dpi, self.prepare.min_dpi],
            default=str,
        )
        self.key = hashlib.sha256(shape.encode()).hexdigest()[:12]
        self.root = settings.data_dir / "ocr-cache"

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}-{self.key}.json"

    def get(self, sha256: str) -> list[str] | None:
        try:
            return json.loads(self._path(sha256).read_text(encoding="utf-8"))["pages"]
        except (OSError, ValueError, KeyError):
            return None

    def put(self, sha256: str, pages: list[str]) -> None:
        path = self._path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"pages": pages}, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)


def folder_records(
    folder: Path, settings: Settings, *, workers: int = 1, say: Say | None = None
) -> tuple[list[Labelled], list[str]]:
    """The labelled records of `folder` with their OCR text (cached), and the problems
    (records that could not be read) as messages."""
    say = say or (lambda _message: None)
    cache = OcrCache(settings)
    entries = read_truth(folder)
    sources, problems = [], []
    for rel_path, label in entries:
        try:
            ref = RecordRef(rel_path, (folder / rel_path).is_dir())
            sources.append((open_record(folder, ref), label))
        except RecordError as exc:
            problems.append(f"{folder / rel_path}: {exc.reason}: {exc.message}")
    texts: dict[str, list[str] | str] = {}
    jobs = []
    for source, _label in sources:
        for file in source.files:
            cached = cache.get(file.sha256)
            if cached is not None:
                texts[file.sha256] = cached
            elif file.sha256 not in {job_sha for job_sha, _ in jobs}:
                job = OcrJob(str(folder / file.rel_path), file.rel_path, cache.ocr, cache.prepare)
                jobs.append((file.sha256, job))
    if jobs:
        say(f"{folder}: OCR of {len(jobs)} file(s) with {workers} process(es); {len(texts)} cached")
        results = _run_jobs([j for _, j in jobs], workers)
        for done, ((sha256, _job), result) in enumerate(zip(jobs, results, strict=True), 1):
            texts[sha256] = result
            if isinstance(result, list):
                cache.put(sha256, result)  # at once: an interrupted run keeps what it did
            if done % 25 == 0:
                say(f"  {done} of {len(jobs)} file(s) read")
    found = []
    for source, label in sources:
        pages: list[str] = []
        failed = [texts[f.sha256] for f in source.files if isinstance(texts[f.sha256], str)]
        if failed:
            problems.append(f"{folder / source.rel_path}: {failed[0]}")
            continue
        for file in source.files:
            pages.extend(texts[file.sha256])
        found.append(Labelled(source.rel_path, label, tuple(pages)))
    return found, problems


def _run_jobs(jobs: list[OcrJob], workers: int) -> Iterator[list[str] | str]:
    """Results in the order of `jobs`, each as soon as it and those before it are done."""
    if workers <= 1:
        _one_thread()
        yield from map(_ocr_file_safely, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_one_thread) as pool:
        yield from pool.map(_ocr_file_safely, jobs)


# -- train -----------------------------------------------------------------------------


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
    path, version, sha256 = save_model(settings, model)
    with database_session(settings.database_url) as session:
        session.execute(update(ClassifierModel).values(active=False))
        info = model.info
        session.add(
            ClassifierModel(
                version=version,
                path=str(path),
                sha256=sha256,
                catalogue_version=info.catalogue_version,
                format_version=info.format_version,
                sklearn_version=info.sklearn_version,
                training_size=info.training_size,
                labels=list(info.labels),
                metrics=info.metrics,
                active=True,
            )
        )
    return TrainReport(
        version=version,
        path=path,
        examples=model.info.training_size,
        from_database=from_database,
        from_folders=per_folder,
        labels=dict(model.info.metrics.get("labels", {})),
        seconds=seconds,
        metrics=model.info.metrics,
        problems=problems,
    )


def save_model(settings: Settings, model: TrainedModel) -> tuple[Path, str, str]:
    """Write the model under data_dir/models/, named by its time and content."""
    from sohoa.classify.model import dumps

    data = dumps(model)
    sha256 = hashlib.sha256(data).hexdigest()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    version = f"{stamp}-{sha256[:8]}"
    folder = settings.data_dir / "models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"classifier-{version}.model"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path, version, sha256


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


# -- synthetic text (tests, benchmarks) ----------------------------------------------------

WRAP_CHARS = 78  # about a printed line of an A4 form at 12 pt


def synthetic_examples(
    records: int,
    seed: int,
    catalogue_items: list[dict[str, Any]],
    *,
    unknown_share: float = 0.1,
    noise: float = 0.0,
) -> list[Example]:
    """Page texts of `sohoa sample` dossiers without drawing or OCR: the generator's plan,
    wrapped into lines, with OCR-like damage on a `noise` share of the words."""
    from sohoa.classify.learn import Example
    from sohoa.sample import plan_sample

    plan = plan_sample(records, seed, catalogue_items, unknown_share=unknown_share)
    rng = np.random.default_rng(seed)
    return [
        Example(
            tuple(ocr_noise(_page_text(page.doc), rng, noise) for page in record.pages),
            record.procedure,
            f"synthetic {seed}/{record.rel_path}",
        )
        for record in plan.records
    ]


def _page_text(doc: Any) -> str:
    import textwrap

    from sohoa.sample.doc import Row, TableRow

    lines: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Row):
            texts = [cell.text for cell in block.cells if cell.text]
            if len(texts) == 1:
                lines += textwrap.wrap(texts[0], WRAP_CHARS) or [""]
            elif texts:
                lines.append(" ".join(texts))
        elif isinstance(block, TableRow):
            lines.append(" | ".join(block.cells))
    return "\n".join(lines)
