"""What a worker reports about one record: small, picklable values the driver commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventRow:
    kind: str  # ingest, digest, deskew, ocr, classify, pdfa, sign, fail
    outcome: str = "ok"
    tool: str | None = None
    tool_version: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PageRow:
    index: int
    source_file: str
    index_in_file: int
    rotation: int
    skew_deg: float
    ocr_confidence: float | None
    width: int
    height: int
    dpi: float
    flags: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Digest:
    """The first step on a worker: the record's files and content hash, for duplicates."""

    uid: str
    content_hash: str | None
    source_files: tuple[dict[str, Any], ...]  # {path, sha256, size}
    error_reason: str | None = None
    error_message: str | None = None
    pages: int | None = None  # counted without decoding (None: a file could not say)


@dataclass(frozen=True)
class RecordOutcome:
    uid: str
    ok: bool
    error_reason: str | None = None
    error_message: str | None = None
    procedure: str | None = None
    procedure_code: str | None = None
    procedure_confidence: float | None = None
    classification_method: str | None = None
    needs_review: bool = False
    pages: tuple[PageRow, ...] = ()
    output_path: str | None = None
    output_sha256: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    events: tuple[EventRow, ...] = ()
