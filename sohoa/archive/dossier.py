"""Dossier (hồ sơ) metadata of NĐ 30/2020/NĐ-CP Phụ lục VI for one archived record.

Where each value comes from, the first source that has one (`Dossier.sources` says which):

    FileCode     the code of the linked item of the paper register; none when not linked
    Title        the register item's title; else "<procedure name>: <folder name>"
    Maintenance  archive.maintenance_by_procedure[procedure], else archive.maintenance
    Rights       archive.rights
    Creator      archive.agency
    Language     archive.language
    StartDate    earliest plausible date in the OCR text; else the register item's year
    EndDate      latest plausible date in the OCR text; else the register item's year
    DocTotal     pages whose heading carries the national motto (every administrative
                 document opens with it, NĐ 30/2020 Phụ lục I); at least 1
    PageTotal    pages of the record
    Description  procedure name and code, and the document numbers found in the text

Everything here is a pure function of its arguments, so the worker (at processing time)
and a later rebuild (after the register is linked) derive the same values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from sohoa.archive.textfacts import read_text

# NĐ 30/2020 Phụ lục VI, II.III: maximum lengths of the free-text fields.
TITLE_MAX = 500
DESCRIPTION_MAX = 500
SHORT_SUFFIX = re.compile(r"\.[A-Za-z]{2,4}")  # a file extension, not a part of a code ".015"


@dataclass(frozen=True)
class DossierDefaults:
    """The configured values (config.yaml `archive`)."""

    creator: str
    maintenance: str
    rights: str
    language: str
    maintenance_by_procedure: tuple[tuple[str, str], ...] = ()  # (procedure key, retention)

    @classmethod
    def from_config(cls, archive: Mapping[str, Any]) -> DossierDefaults:
        by_procedure = archive.get("maintenance_by_procedure") or {}
        return cls(
            creator=str(archive.get("agency") or ""),
            maintenance=str(archive.get("maintenance") or ""),
            rights=str(archive.get("rights") or ""),
            language=str(archive.get("language") or "vi"),
            maintenance_by_procedure=tuple(
                sorted((str(key), str(value)) for key, value in by_procedure.items())
            ),
        )


@dataclass(frozen=True)
class RegisterEntry:
    """The linked item of the paper register, and the record's order number under its code."""

    code: str
    title: str
    unit: str
    year: int | None
    expected_pages: int | None
    order_number: int

    def fields(self) -> dict[str, Any]:
        """The register's own values, to tell later whether the item changed."""
        return {"code": self.code, "title": self.title, "unit": self.unit, "year": self.year,
                "expected_pages": self.expected_pages}  # fmt: skip


@dataclass(frozen=True)
class Dossier:
    """The NĐ 30/2020 dossier fields of one record, and what they were derived from."""

    file_code: str | None
    order_number: int | None
    title: str
    maintenance: str
    rights: str
    creator: str
    language: str
    start_date: str | None  # ISO 8601: a day, or only a year when that is all that is known
    end_date: str | None
    doc_total: int
    page_total: int
    description: str
    doc_numbers: tuple[str, ...] = ()
    organ: str | None = None  # the register item's unit (cơ quan, đơn vị)
    sources: dict[str, str] = field(default_factory=dict)  # field -> where its value came from

    def nd30(self) -> dict[str, Any]:
        """The fields under their NĐ 30/2020 Phụ lục VI names."""
        return {
            "FileCode": self.file_code,
            "Title": self.title,
            "Maintenance": self.maintenance,
            "Rights": self.rights,
            "Creator": self.creator,
            "Language": self.language,
            "StartDate": self.start_date,
            "EndDate": self.end_date,
            "DocTotal": self.doc_total,
            "PageTotal": self.page_total,
            "Description": self.description,
        }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class RecordFacts:
    """What is known of a record when its metadata is made: by the worker after OCR and
    classification, or again from the database when the register is applied later."""

    record_id: str
    batch: str
    source_path: str
    source_sha256: str
    procedure: str
    procedure_code: str | None
    procedure_name: str
    page_texts: tuple[str, ...]
    digitized_at: dt.datetime
    ocr_engine: str


def _source_name(source_path: str) -> str:
    """The record's folder name, or its file name without the extension."""
    name = PurePosixPath(source_path.replace("\\", "/")).name
    if SHORT_SUFFIX.fullmatch(PurePosixPath(name).suffix):  # a loose file: drop ".pdf"
        return PurePosixPath(name).stem
    return name


def derive_dossier(
    facts: RecordFacts, defaults: DossierDefaults, register: RegisterEntry | None
) -> Dossier:
    """The NĐ 30/2020 fields of one record; see the module docstring for the sources."""
    page_texts = list(facts.page_texts)
    procedure, procedure_name = facts.procedure, facts.procedure_name
    found = read_text(page_texts, facts.digitized_at.date())
    reg = register or RegisterEntry("", "", "", None, None, 0)
    year = str(reg.year) if reg.year else None
    first = found.dates[0].isoformat() if found.dates else None
    last = found.dates[-1].isoformat() if found.dates else None
    description = f"{procedure_name} ({facts.procedure_code or procedure})"
    if found.doc_numbers:
        description += ". Số, ký hiệu văn bản: " + ", ".join(found.doc_numbers)
    # Per field, the candidate values in order of preference, each with its source.
    candidates: dict[str, tuple[tuple[str, Any], ...]] = {
        "FileCode": (("register", reg.code),),
        "Title": (
            ("register", reg.title),
            ("procedure", f"{procedure_name}: {_source_name(facts.source_path)}"),
        ),
        "Maintenance": (
            ("config:procedure", dict(defaults.maintenance_by_procedure).get(procedure)),
            ("config", defaults.maintenance),
        ),
        "Rights": (("config", defaults.rights),),
        "Creator": (("config", defaults.creator),),
        "Language": (("config", defaults.language),),
        "StartDate": (("ocr", first), ("register", year)),
        "EndDate": (("ocr", last), ("register", year)),
        "DocTotal": (("ocr", found.documents or None), ("default", 1)),
        "PageTotal": (("pages", len(page_texts)),),
        "Description": (("procedure+ocr", description),),
        "Organ": (("register", reg.unit),),
    }
    value: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, options in candidates.items():
        sources[name], value[name] = next(
            ((source, v) for source, v in options if v not in (None, "")), ("none", None)
        )
    return Dossier(
        file_code=value["FileCode"],
        order_number=register.order_number if register else None,
        title=_cut(value["Title"], TITLE_MAX),
        maintenance=value["Maintenance"] or "",
        rights=value["Rights"] or "",
        creator=value["Creator"] or "",
        language=value["Language"] or "",
        start_date=value["StartDate"],
        end_date=value["EndDate"],
        doc_total=value["DocTotal"],
        page_total=value["PageTotal"],
        description=_cut(value["Description"], DESCRIPTION_MAX),
        doc_numbers=found.doc_numbers,
        organ=value["Organ"],
        sources=sources,
    )


@dataclass(frozen=True)
class RecordMetadata:
    """Everything the archived file says about its record (its XMP), and the database keeps."""

    facts: RecordFacts
    agency: str  # dc:publisher
    producer: str  # e.g. "sohoa 0.1.0"
    dossier: Dossier
    register: RegisterEntry | None = None
    metadata_date: dt.datetime | None = None  # when the metadata was rewritten; else digitized_at

    def as_json(self) -> dict[str, Any]:
        """The records database's `metadata` column (and `sohoa export`'s)."""
        dossier, facts = self.dossier, self.facts
        return {
            "title": dossier.title,
            "language": dossier.language,
            "agency": self.agency,
            "page_total": dossier.page_total,
            "digitized_at": facts.digitized_at.isoformat(timespec="seconds"),
            "ocr_engine": facts.ocr_engine,
            "producer": self.producer,
            "procedure": facts.procedure,
            "procedure_code": facts.procedure_code,
            "procedure_name": facts.procedure_name,
            "source_sha256": facts.source_sha256,
            "dossier": dossier.nd30(),
            "order_number": dossier.order_number,
            "file_name": archive_file_name(facts.record_id, dossier),
            "doc_numbers": list(dossier.doc_numbers),
            "organ": dossier.organ,
            "sources": dossier.sources,
            "register": self.register.fields() if self.register else None,
            "metadata_date": self.metadata_date
            and self.metadata_date.isoformat(timespec="seconds"),
        }


def record_metadata(
    facts: RecordFacts,
    defaults: DossierDefaults,
    register: RegisterEntry | None,
    *,
    producer: str,
    metadata_date: dt.datetime | None = None,
) -> RecordMetadata:
    dossier = derive_dossier(facts, defaults, register)
    return RecordMetadata(facts, defaults.creator, producer, dossier, register, metadata_date)


def archive_file_name(uid: str, dossier: Dossier | None) -> str:
    """The archived file's name: "<dossier code>.<order number>.pdf" (TT 05/2025) when the
    dossier code is known, else "<record id>.pdf"."""
    if dossier is None or not dossier.file_code or dossier.order_number is None:
        return f"{uid}.pdf"
    return f"{safe_file_part(dossier.file_code)}.{dossier.order_number:03d}.pdf"


def safe_file_part(code: str) -> str:
    """A dossier code as part of a file name: no path separators, control characters or
    leading dot; anything else (Vietnamese letters, dots, dashes) is kept."""
    cleaned = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in code.strip())
    return cleaned.lstrip(".") or "_"
