"""Transfer packages for the historical archive (nộp lưu): one BagIt 1.0 bag per package,
each record's signed PDF/A as archived with its NĐ 30/2020 dossier metadata and a METS
document carrying its PREMIS 3 history; TT 02/2019/TT-BNV fonds metadata in bag-info.txt.

No database here: the pipeline selects the records and hands them over as values."""

from sohoa.transfer.bag import BagWriter, partial_path, validate_bag
from sohoa.transfer.schemas import mets_problems
from sohoa.transfer.values import (
    Fonds,
    PackageInfo,
    PayloadFile,
    RecordWritten,
    TransferRecord,
    ValidationReport,
)

__all__ = [
    "BagWriter",
    "Fonds",
    "PackageInfo",
    "PayloadFile",
    "RecordWritten",
    "TransferRecord",
    "ValidationReport",
    "mets_problems",
    "partial_path",
    "validate_bag",
]
