"""What runs on a Dask worker: one small function per step, paths in, small values out.

Images never leave the worker; the driver gets a `Digest` or a `RecordOutcome`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import cv2
import pikepdf

from sohoa import __version__
from sohoa.archive import (
    RecordFacts,
    RecordMetadata,
    RegisterEntry,
    archive_file_name,
    build_pdfa,
    record_metadata,
    sign_pdf,
    signer_facts,
)
from sohoa.classify import Catalogue, Classification, classify, load_catalogue
from sohoa.classify.registry import ModelRef, load_model
from sohoa.errors import RecordError, SohoaError
from sohoa.ingest import RecordRef, RecordSource, open_record, sha256_bytes
from sohoa.ocr import tesseract
from sohoa.pipeline.context import WorkerSettings
from sohoa.pipeline.naming import planned_path_free
from sohoa.pipeline.outputs import write_output
from sohoa.pipeline.pages_read import PagesRead, read_pages
from sohoa.pipeline.source_signatures import signature_events, source_signatures
from sohoa.records import Digest, EventRow, RecordOutcome
from sohoa.threads import pin_opencv

if TYPE_CHECKING:  # scikit-learn is imported only when a model is configured
    from sohoa.classify.model import TrainedModel

_catalogues: dict[str, Catalogue] = {}
_models: dict[tuple[str, str], TrainedModel | str] = {}  # (path, sha256) -> model or error
T = TypeVar("T")
pin_opencv()  # one page per worker process at a time


@dataclass(frozen=True)
class RecordTask:
    uid: str
    batch: str
    root: str
    rel_path: str
    is_dir: bool
    # The register item the record's name links it to, with its order number, planned by the
    # driver (sohoa.pipeline.naming): the file gets its final name and metadata at once.
    register: RegisterEntry | None = None
    pages: int | None = None  # from the digest: a big record is read in parts on all workers


def _catalogue(items: tuple[dict, ...]) -> Catalogue:
    key = json.dumps(items, sort_keys=True, ensure_ascii=False)
    if key not in _catalogues:
        _catalogues[key] = load_catalogue(list(items))
    return _catalogues[key]


def _model(ref: ModelRef | None, catalogue: Catalogue) -> tuple[TrainedModel | None, str | None]:
    """The active model, loaded once per process; or None and why (a missing, changed or
    damaged file): the record is then classified by the rules alone, with a warning event."""
    if ref is None:
        return None, None
    key = (ref.path, ref.sha256)
    if key not in _models:
        try:
            _models[key] = load_model(ref, catalogue)
        except SohoaError as exc:
            _models[key] = str(exc)
    loaded = _models[key]
    return (None, loaded) if isinstance(loaded, str) else (loaded, None)


def _open(task: RecordTask) -> RecordSource:
    return open_record(Path(task.root), RecordRef(task.rel_path, task.is_dir))


def _open_unchanged(task: RecordTask, expected_hash: str) -> RecordSource:
    source = _open(task)
    if source.content_hash != expected_hash:
        raise RecordError("source_changed", f"{task.rel_path} changed while the batch ran")
    return source


def digest_record(task: RecordTask) -> Digest:
    """List and hash the record's files, count their pages: cheap, and enough to spot a
    duplicate and a big record. A failure is the record's, with its reason (`_guarded`: not
    a lost worker)."""
    digest = _guarded(task.uid, lambda: _digest(task))
    if isinstance(digest, RecordOutcome):
        return Digest(task.uid, None, (), digest.error_reason, digest.error_message)
    return digest


def _digest(task: RecordTask) -> Digest:
    source = _open(task)
    files = tuple({"path": f.rel_path, "sha256": f.sha256, "size": f.size} for f in source.files)
    return Digest(task.uid, source.content_hash, files, pages=source.page_count())


def digest_records(tasks: list[RecordTask]) -> list[Digest]:
    """`digest_record` for several records in one Dask task: hashing is quick, and a task
    costs the scheduler and the driver about as much as hashing a small record."""
    return [digest_record(task) for task in tasks]


def _metadata(task: RecordTask, source: RecordSource, result: Classification, catalogue: Catalogue,
              settings: WorkerSettings, texts: list[str],
              register: RegisterEntry | None) -> RecordMetadata:  # fmt: skip
    procedure = catalogue.get(result.procedure)
    facts = RecordFacts(
        record_id=task.uid,
        batch=task.batch,
        source_path=task.rel_path,
        source_sha256=source.content_hash,
        procedure=procedure.key,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        page_texts=tuple(texts),
        digitized_at=dt.datetime.now(dt.UTC).astimezone(),
        ocr_engine=f"tesseract {tesseract.version()} ({settings.ocr.languages})",
    )
    return record_metadata(facts, settings.dossier, register, producer=f"sohoa {__version__}")


def _decide(texts: list[str], catalogue: Catalogue, reviewed: str | None,
            model: TrainedModel | None = None) -> Classification:  # fmt: skip
    """The classifier's decision, or a reviewer's, which keeps the classifier's candidates."""
    result = classify(texts, catalogue, model)
    if reviewed is None:
        return result
    procedure = catalogue.get(reviewed)
    return replace(result, procedure=procedure.key, code=procedure.code, confidence=1.0,
                   method="review", reason=None)  # fmt: skip


def review_threshold(result: Classification, settings: WorkerSettings) -> float:
    """A combined confidence is a calibrated probability; the rules' is a score."""
    if result.method == "combined":
        return settings.model_review_threshold
    return settings.review_threshold


def _process(
    task: RecordTask,
    expected_hash: str,
    settings: WorkerSettings,
    reviewed: str | None,
    register: RegisterEntry | None,
    read: PagesRead | None = None,
) -> RecordOutcome:
    """`read`: the record's pages when its parts were read on several workers."""
    source = _open_unchanged(task, expected_hash)
    pages = read or read_pages(source, settings)
    catalogue = _catalogue(settings.catalogue)
    texts = [row.text for row in pages.rows]
    model, model_warning = _model(settings.model, catalogue)
    result = _decide(texts, catalogue, reviewed, model)
    folder = settings.archive_dir / result.procedure
    planned = register is None and task.register is not None
    meta = _metadata(task, source, result, catalogue, settings, texts, register or task.register)
    output = folder / archive_file_name(task.uid, meta.dossier)
    if planned and not planned_path_free(output, task.uid):
        # Another run's file has the planned name: named by the register step after the run.
        planned, meta = False, _metadata(task, source, result, catalogue, settings, texts, None)
        output = folder / archive_file_name(task.uid, meta.dossier)
    # Never over another record's file made since the check (this record's own leftover of
    # an attempt that did not commit is replaced).
    exclusive = planned and not output.exists()
    started = time.perf_counter()
    pdf = build_pdfa(pages.archive, meta)
    built = time.perf_counter()
    try:
        signed = sign_pdf(pdf, settings.signer)
    except SohoaError as exc:  # a timestamp server or revocation source that did not answer
        raise RecordError("signing_failed", str(exc)) from exc
    write_output(settings.archive_dir, output, signed, exclusive=exclusive)
    pages.seconds["pdfa"] = built - started
    pages.seconds["sign"] = time.perf_counter() - built
    low_quality = [row.index for row in pages.rows if "low_confidence" in row.flags]
    needs_review = reviewed is None and (
        result.confidence < review_threshold(result, settings)
        or result.procedure == catalogue.unknown.key
        or bool(low_quality)
    )
    seconds = {step: round(value, 3) for step, value in pages.seconds.items()}
    verdicts = source_signatures(source, settings)
    signed_source = {"source_signatures": verdicts} if verdicts else {}
    events = (
        EventRow(
            "ingest",
            tool="sohoa",
            tool_version=__version__,
            detail={"files": len(source.files), "pages": len(pages.rows)},
        ),
        EventRow(
            "deskew",
            tool="opencv",
            tool_version=cv2.__version__,
            detail={"pages": [[r.rotation, r.skew_deg] for r in pages.rows]},
        ),
        EventRow(
            "ocr",
            tool="tesseract",
            tool_version=tesseract.version(),
            detail={"languages": settings.ocr.languages, "low_confidence_pages": low_quality},
        ),
        EventRow(
            "classify",
            "warning" if model_warning else "ok",
            tool=f"sohoa-{result.method}",
            tool_version=catalogue.version,
            detail={
                "procedure": result.procedure,
                "confidence": result.confidence,
                "candidates": [list(c) for c in result.candidates],
                "reason": result.reason,
                "model": settings.model.version if model is not None else None,
                "model_warning": model_warning,  # the rules decided alone, and why
            },
        ),
        EventRow(
            "pdfa",
            tool="pikepdf",
            tool_version=pikepdf.__version__,
            detail={
                "flavour": "2b",
                "dossier": meta.dossier.nd30(),
                "sources": meta.dossier.sources,
            },
        ),
        EventRow(
            "sign",
            tool="pyHanko",
            tool_version=package_version("pyHanko"),
            detail={
                "level": f"PAdES-{settings.signer.level}",
                "output": str(output),
                "seconds": seconds,
            },
        ),
    )
    return RecordOutcome(
        uid=task.uid,
        ok=True,
        procedure=result.procedure,
        procedure_code=result.code,
        procedure_confidence=round(result.confidence, 4),
        classification_method=result.method,
        needs_review=needs_review,
        pages=tuple(pages.rows),
        output_path=str(output),
        output_sha256=sha256_bytes(signed),
        metadata={
            **meta.as_json(), **pages.codes, **signed_source,
            "signed_by": signer_facts(settings.signer),
        },
        events=events + signature_events(verdicts),
    )


def _null_engine(task: RecordTask, expected_hash: str, settings: WorkerSettings) -> RecordOutcome:
    """`sohoa run --engine null`, for benchmarks of the driver, Dask and the database only:
    the files are listed and hashed as for real, then nothing is read, OCRed or written. The
    record ends in needs_review, with no output, so that it never passes for digitized."""
    source = _open_unchanged(task, expected_hash)
    detail = {"files": len(source.files), "note": "benchmark: no OCR, no PDF/A, no file"}
    unknown = _catalogue(settings.catalogue).unknown
    return RecordOutcome(
        uid=task.uid,
        ok=True,
        procedure=unknown.key,
        procedure_code=unknown.code,
        procedure_confidence=0.0,
        classification_method="null-engine",
        needs_review=True,
        metadata={"engine": "null"},
        events=(EventRow("null_engine", tool="sohoa", tool_version=__version__, detail=detail),),
    )


def process_record(
    task: RecordTask,
    expected_hash: str,
    settings: WorkerSettings,
    reviewed: str | None = None,
    register: RegisterEntry | None = None,
) -> RecordOutcome:
    """Prepare, OCR, classify, build the PDF/A, sign and write one record.

    `reviewed` is a procedure a person chose (`sohoa review set`); it replaces the
    classifier's decision, and the record is archived without review. `register` is the
    linked item of the paper register: its code names the file and its fields fill the
    dossier metadata.

    Whatever goes wrong fails the record, with its reason (`_guarded`).
    """
    if settings.engine == "null":
        return _guarded(task.uid, lambda: _null_engine(task, expected_hash, settings))
    return _guarded(task.uid, lambda: _process(task, expected_hash, settings, reviewed, register))


def _guarded(uid: str, work: Callable[[], T]) -> T | RecordOutcome:
    """`work()`, or the record's failure: a RecordError with its reason; any other exception
    is a bug, but one bad record must not stop a night's batch: it fails as `internal_error`
    with the traceback in its event, for a developer to read."""
    try:
        return work()
    except RecordError as exc:
        return RecordOutcome(uid, ok=False, error_reason=exc.reason, error_message=exc.message)
    except MemoryError:
        message = "ran out of memory; process it alone with more memory or split it"
        return RecordOutcome(uid, ok=False, error_reason="too_large", error_message=message)
    except Exception as exc:
        return RecordOutcome(
            uid,
            ok=False,
            error_reason="internal_error",
            error_message=f"{type(exc).__name__}: {exc}",
            events=(EventRow("error", "failed", detail={"traceback": traceback.format_exc()}),),
        )


def process_records(
    tasks: list[RecordTask], expected_hashes: list[str], settings: WorkerSettings
) -> list[tuple[RecordOutcome, float]]:
    """`process_record` for a pack of cheap records in one Dask task, each with the seconds
    it took (the driver sizes its packs from them). Each record keeps its own outcome:
    `process_record` turns any exception into that record's failure."""
    results = []
    for task, expected in zip(tasks, expected_hashes, strict=True):
        started = time.perf_counter()
        outcome = process_record(task, expected, settings)
        results.append((outcome, time.perf_counter() - started))
    return results


def read_part(
    task: RecordTask, expected_hash: str, settings: WorkerSettings, only: range | None
) -> PagesRead | RecordOutcome:
    """The record's pages whose index is in `only` (None: all), read on whichever worker is
    free: the images stay on the workers, and `finish_record` joins the parts (see
    sohoa.pipeline.staged). A failure is the record's."""
    return _guarded(task.uid, lambda: read_pages(_open_unchanged(task, expected_hash), settings,
                                                 only))  # fmt: skip


def pages_in(part: PagesRead | RecordOutcome) -> int:
    """How many pages a part read, for the driver's progress (a small result, not the part)."""
    return len(part.rows) if isinstance(part, PagesRead) else 0


def codes_in(part: PagesRead | RecordOutcome) -> dict:
    """The dossier codes read on page 1 (ocr.codes metadata; {} for none or a failed read),
    for the driver to name the file by the register before it is built."""
    return part.codes if isinstance(part, PagesRead) else {}


def finish_record(
    task: RecordTask, expected_hash: str, settings: WorkerSettings,
    parts: list[PagesRead | RecordOutcome],
) -> list[tuple[RecordOutcome, float]]:  # fmt: skip
    """Classify, build, sign and write a record read in parts: one file, one commit, as if
    `process_records` had read it alone; named by `task.register` when the driver found its
    item. Seconds: the parts' and this step's together."""
    started = time.perf_counter()
    failed = next((part for part in parts if isinstance(part, RecordOutcome)), None)
    if failed is not None:
        return [(failed, time.perf_counter() - started)]
    read = PagesRead.joined(parts)  # type: ignore[arg-type]
    outcome = _guarded(task.uid, lambda: _process(task, expected_hash, settings, None, None, read))
    return [(outcome, sum(read.seconds.values()) + time.perf_counter() - started)]
