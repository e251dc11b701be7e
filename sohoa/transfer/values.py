"""The values a transfer package is made of: the fonds (phông) it belongs to, each record as
the pipeline hands it over, and what was written for it. No database here: the pipeline
reads the records and builds these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# TT 02/2019/TT-BNV Phụ lục I, the fonds (phông lưu trữ) metadata: bag-info.txt label and
# the key of config.yaml `archive.fonds` that gives it.
FONDS_FIELDS = (
    ("Identifier", "identifier"),  # Mã phông
    ("OrganId", "organ_id"),  # Mã cơ quan lưu trữ lịch sử
    ("FondName", "fond_name"),  # Tên phông
    ("FondHistory", "fond_history"),  # Lịch sử đơn vị hình thành phông
    ("ArchivesTime", "archives_time"),  # Thời gian tài liệu
    ("PaperTotal", "paper_total"),  # Tổng số tài liệu giấy
    ("PaperDigital", "paper_digital"),  # Số lượng tài liệu giấy đã số hóa
    ("KeysGroups", "keys_groups"),  # Các nhóm tài liệu chủ yếu
    ("OtherTypes", "other_types"),  # Các loại hình tài liệu khác
    ("Language", "language"),  # Ngôn ngữ
    ("LookupTools", "lookup_tools"),  # Công cụ tra cứu
    ("CopyNumber", "copy_number"),  # Số lượng trang tài liệu đã lập bản sao bảo hiểm
    ("Description", "description"),  # Ghi chú
)


@dataclass(frozen=True)
class Fonds:
    """The fonds metadata of a package, label -> value, in the order of TT 02/2019."""

    values: tuple[tuple[str, str], ...]

    @classmethod
    def from_config(
        cls,
        fonds: Mapping[str, Any],
        *,
        paper_total: int | None,
        paper_digital: int | None,
        language: str,
    ) -> Fonds:
        """From config.yaml `archive.fonds`; the counts the configuration leaves empty come
        from the paper register (`paper_total`, `paper_digital`: None when none is imported),
        the language from the dossiers' (archive.language)."""
        fallback = {
            "paper_total": paper_total,
            "paper_digital": paper_digital,
            "language": language,
        }
        values = []
        for label, key in FONDS_FIELDS:
            value = fonds.get(key)
            if value in (None, ""):
                value = fallback.get(key)
            if value not in (None, ""):
                values.append((label, " ".join(str(value).split())))  # one line in bag-info
        return cls(tuple(values))

    def get(self, label: str) -> str | None:
        return dict(self.values).get(label)


@dataclass(frozen=True)
class TransferRecord:
    """One archived record as the pipeline hands it to the package writer."""

    uid: str
    pdf_path: Path  # the signed PDF/A in the archive
    pdf_name: str  # its name in the bag (TT 05/2025: <dossier code>.<order>.pdf)
    sha256: str  # as recorded when it was archived
    title: str
    agency: str  # who made the copy (METS creator)
    dossier: dict[str, Any]  # NĐ 30/2020 Phụ lục VI fields
    premis: dict[str, Any]  # sohoa.records.premis.premis_history
    row: dict[str, Any]  # its line of the package inventory (CSV), without the bag columns


@dataclass(frozen=True)
class PayloadFile:
    """A file of the bag's payload and its digests, as the manifests list it."""

    path: str  # relative to the bag, "data/..."
    size: int
    sha256: str
    sha512: str

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "sha512": self.sha512}


@dataclass(frozen=True)
class RecordWritten:
    """What the writer did with one record: its files in the bag, or why it was left out."""

    uid: str
    included: bool
    reason: str | None = None
    files: tuple[PayloadFile, ...] = ()
    row: dict[str, Any] = field(default_factory=dict)  # the inventory line, bag columns added


@dataclass(frozen=True)
class PackageInfo:
    """The package-level lines of bag-info.txt besides the fonds."""

    identifier: str  # External-Identifier
    source_organization: str
    selection: str  # what was selected, in words (Internal-Sender-Description)
    records: int
    excluded: int
    bagging_date: str  # YYYY-MM-DD
    software: str  # Bag-Software-Agent


@dataclass(frozen=True)
class ValidationReport:
    path: Path
    problems: tuple[str, ...]
    payload_files: int = 0
    mets_documents: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems
