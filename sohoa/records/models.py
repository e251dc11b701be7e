"""The records database: batches, the paper inventory, records, pages, and the event log."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on every backend: SQLite keeps no offset, so it is restored here."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class RecordState(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    ARCHIVED = "archived"
    NEEDS_REVIEW = "needs_review"  # archived, but classification or OCR quality is doubtful
    FAILED = "failed"
    DUPLICATE = "duplicate"


# States whose record has a signed output on disk.
ARCHIVED_STATES = (RecordState.ARCHIVED, RecordState.NEEDS_REVIEW)
# States a run or resume picks up.
TODO_STATES = (RecordState.PENDING, RecordState.PROCESSING, RecordState.FAILED)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 (SQLAlchemy API)


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(Text)  # absolute path of the batch folder
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # snapshot at the last run
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A claim against two drivers processing the same batch at once.
    lock_owner: Mapped[str | None] = mapped_column(String(200))
    lock_heartbeat: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    records: Mapped[list[Record]] = relationship(back_populates="batch")


class InventoryItem(Base):
    """One dossier of the paper register (mục lục hồ sơ): the denominator of coverage."""

    __tablename__ = "inventory_items"
    # Coverage --since, the projection and the burn-up read these covering indexes, never
    # the table (migration 0003); coverage without --since reads CoverageCell.
    __table_args__ = (
        Index(
            "ix_inventory_items_coverage",
            *("procedure", "unit", "year", "first_digitized_at", "last_digitized_at"),
            *("expected_pages", "digitized_pages"),
        ),
        Index("ix_inventory_items_first_digitized_at", "first_digitized_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)  # mã hồ sơ
    title: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(200), default="")
    procedure: Mapped[str] = mapped_column(String(80), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(200), default="")
    expected_pages: Mapped[int | None] = mapped_column(Integer)
    # Summary of the linked records with a signed copy (archived or needs_review), kept by
    # sohoa.records.summary on every change of state or link (migration 0003).
    first_digitized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_digitized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    digitized_pages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CoverageCell(Base):
    """The register summed per (procedure, unit, year): items, digitized items, their pages.
    `coverage` without --since or batch adds up these few rows instead of 10^6 items; kept
    by sohoa.records.summary with every item summary change and import (migration 0003)."""

    __tablename__ = "coverage_cells"
    __table_args__ = (UniqueConstraint("procedure", "unit", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure: Mapped[str] = mapped_column(String(80))
    unit: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)  # 0: the register gives no year
    items: Mapped[int] = mapped_column(Integer)
    digitized: Mapped[int] = mapped_column(Integer)  # items with a signed copy
    expected_pages: Mapped[int] = mapped_column(Integer)
    digitized_pages: Mapped[int] = mapped_column(Integer)
    remaining_pages: Mapped[int] = mapped_column(Integer)  # expected pages of the others


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("batch_id", "rel_path"),
        Index("ix_records_batch_state", "batch_id", "state"),
        Index("ix_records_procedure_state", "procedure", "state"),
        # Coverage joins every inventory item to its archived records (migration 0002).
        Index("ix_records_inventory_item_state", "inventory_item_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)  # stable public id
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    rel_path: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=RecordState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_reason: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    source_files: Mapped[list[Any]] = mapped_column(default=list)  # [{path, sha256, size}]
    procedure: Mapped[str | None] = mapped_column(String(80))
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    procedure_confidence: Mapped[float | None] = mapped_column(Float)
    classification_method: Mapped[str | None] = mapped_column(String(20))
    page_count: Mapped[int | None] = mapped_column(Integer)
    mean_ocr_confidence: Mapped[float | None] = mapped_column(Float)
    output_path: Mapped[str | None] = mapped_column(Text)
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    inventory_item_id: Mapped[int | None] = mapped_column(ForeignKey("inventory_items.id"))
    # What made the link: mapping (a CSV, wins), folder (name), qr or text (found on page 1).
    inventory_link_source: Mapped[str | None] = mapped_column(String(16))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    batch: Mapped[Batch] = relationship(back_populates="records")
    pages: Mapped[list[Page]] = relationship(
        back_populates="record", order_by="Page.index", cascade="all, delete-orphan"
    )


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("record_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    index: Mapped[int] = mapped_column(Integer)  # 0-based position in the record
    source_file: Mapped[str] = mapped_column(Text)
    index_in_file: Mapped[int] = mapped_column(Integer)
    rotation: Mapped[int] = mapped_column(Integer)
    skew_deg: Mapped[float] = mapped_column(Float)
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    dpi: Mapped[float] = mapped_column(Float)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    text: Mapped[str] = mapped_column(Text, default="")

    record: Mapped[Record] = relationship(back_populates="pages")


class Event(Base):
    """Append-only audit trail: what happened to which record, when, by which tool."""

    __tablename__ = "events"
    # The report finds each record's latest `verify` event (migration 0002).
    __table_args__ = (Index("ix_events_kind_record", "kind", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # ingest, ocr, classify, pdfa, sign, ...
    outcome: Mapped[str] = mapped_column(String(20))  # ok, failed, skipped, ...
    tool: Mapped[str | None] = mapped_column(String(80))
    tool_version: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class VerifyRun(Base):
    """One `sohoa verify` over a selection (migration 0009). A run without `finished_at` was
    interrupted: the next `sohoa verify` of the same selection continues it, checking only
    the files that have no `verify` event since `started_at`."""

    __tablename__ = "verify_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # {"batch": name|null, "since": "YYYY-MM-DD"|null, "sample": N|null}
    selection: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The record ids a `--sample N` run drew, so that continuing it checks the same files.
    sampled_ids: Mapped[list[Any] | None] = mapped_column()
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    files: Mapped[int] = mapped_column(Integer, default=0)  # checked so far, over all parts
    failed: Mapped[int] = mapped_column(Integer, default=0)


class ClassifierModel(Base):
    """A trained classifier file (migration 0004); the active one classifies new records."""

    __tablename__ = "classifier_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    path: Mapped[str] = mapped_column(Text)  # data_dir/models/classifier-<version>.model
    sha256: Mapped[str] = mapped_column(String(64))  # of the whole file
    catalogue_version: Mapped[str] = mapped_column(String(40))
    format_version: Mapped[int] = mapped_column(Integer)
    sklearn_version: Mapped[str] = mapped_column(String(20))
    training_size: Mapped[int] = mapped_column(Integer)
    labels: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # held-out calibration
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TransferPackage(Base):
    """A BagIt package for the historical archive (migration 0008): written under a
    temporary name while `state` is writing, renamed to `target` when complete."""

    __tablename__ = "transfer_packages"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)  # External-Identifier
    target: Mapped[str] = mapped_column(Text, unique=True)  # absolute path of the bag
    selection: Mapped[dict[str, Any]] = mapped_column(default=dict)  # batch, procedure, ...
    state: Mapped[str] = mapped_column(String(16), default="writing")  # writing | complete
    records: Mapped[int] = mapped_column(Integer, default=0)  # records in the bag
    excluded: Mapped[int] = mapped_column(Integer, default=0)  # left out, with a reason
    payload_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TransferItem(Base):
    """One selected record of a package: taken (with the files written for it and their
    digests) or left out (with the reason)."""

    __tablename__ = "transfer_items"
    __table_args__ = (UniqueConstraint("package_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("transfer_packages.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    included: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    files: Mapped[list[Any]] = mapped_column(default=list)  # [{path, size, sha256, sha512}]
    row: Mapped[dict[str, Any]] = mapped_column(default=dict)  # its line of the inventory CSV


class SearchDoc(Base):
    """One archived record as `sohoa search` finds it (migration 0006): its tokens with and
    without diacritics and the fields its filters read (each side of the procedure filter
    newest first, 0014); the engines' own structures over them: sohoa.records.search.schema."""

    __tablename__ = "search_docs"
    __table_args__ = (
        Index("ix_search_docs_procedure_year_id", "procedure", "year", "record_id"),
        Index("ix_search_docs_procedure_code_year_id", "procedure_code", "year", "record_id"),
        Index("ix_search_docs_year", "year"),
        Index("ix_search_docs_batch_state", "batch_id", "state"),
        Index("ix_search_docs_code", "code"),
    )

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    procedure: Mapped[str | None] = mapped_column(String(80))
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(80))  # code_key of the dossier code
    exact: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(Text)


class SearchIdentifier(Base):
    """An exact field of an indexed record: a CCCD/CMND number or a date (ISO) in its text,
    or a document number ("15/QĐ-UBND", folded) from its metadata (migration 0006)."""

    __tablename__ = "search_identifiers"
    __table_args__ = (Index("ix_search_identifiers_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # cccd, cmnd, so, date
    value: Mapped[str] = mapped_column(String(80))


class SearchTerm(Base):
    """The folded words of the index, for finding words that OCR misread (migration 0006)."""

    __tablename__ = "search_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(40), unique=True)


class SearchAccess(Base):
    """Who searched the archive for what (personal data): append-only (migration 0006)."""

    __tablename__ = "search_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    os_user: Mapped[str] = mapped_column(String(200))
    database_role: Mapped[str | None] = mapped_column(String(200))  # PostgreSQL only
    query: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hits: Mapped[int] = mapped_column(Integer)


class WebUser(Base):
    """A person who signs in to `sohoa serve` (migration 0011); the password as an Argon2id
    hash, never in clear. Roles: officer, auditor, operator, admin (sohoa.records.accounts)."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    """A client of the JSON API (the public-service portal): the SHA-256 of its random token
    (migration 0011); the token itself is shown once, when made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RecordAccess(Base):
    """Who viewed or downloaded which record, when, from where (migration 0011): append-only.
    `actor` is a user's name or "token:<client>"."""

    __tablename__ = "record_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(16))  # view, download
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))


class LoginFailure(Base):
    """A refused sign-in (migration 0011), counted per name and address by the rate limit."""

    __tablename__ = "web_login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
