"""Labelled records for training and evaluating the classifier, with their page texts.

Labelled records come from the database (records whose procedure a person accepted or set
with `sohoa review`) and from folders with a `_truth.jsonl` (such as `sohoa sample` writes).
Folders are read exactly as `sohoa run` reads a batch (same page decoding, preparation and
tesseract settings), and the text of each file is cached under
`data_dir/ocr-cache/` by the file's SHA-256 and the OCR settings, so training and evaluating
again costs no OCR.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from sohoa.config import Settings
from sohoa.errors import RecordError, SohoaError
from sohoa.ingest import RecordRef, iter_pages, open_record
from sohoa.ocr import OcrSettings, PrepareSettings, prepare, recognize, tesseract
from sohoa.records import ARCHIVED_STATES, Record, database_session
from sohoa.threads import pin_threads

if TYPE_CHECKING:
    from sohoa.classify.learn import Example

TRUTH_NAME = "_truth.jsonl"
Say = Callable[[str], None]


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


class OcrCache:
    """Page texts of a file, by the file's SHA-256 and everything that shapes the OCR."""

    def __init__(self, settings: Settings) -> None:
        self.ocr = OcrSettings(**asdict(settings.ocr))
        self.prepare = PrepareSettings(
            min_dpi=float(self.ocr.min_dpi), ocr_dpi=float(self.ocr.ocr_dpi)
        )
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
        pin_threads()
        yield from map(_ocr_file_safely, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=pin_threads) as pool:
        yield from pool.map(_ocr_file_safely, jobs)
