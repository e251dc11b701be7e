"""The paper register (mục lục hồ sơ), the denominator of coverage: import it from CSV
(importing.py) and link scanned records to its items (linking.py); table.py reads the CSV
files both take."""

from sohoa.records.inventory.importing import ImportReport, import_inventory
from sohoa.records.inventory.linking import (
    FOUND_KEY,
    LinkReport,
    dossier_codes,
    link_records,
    page_claims,
    read_mapping,
)
from sohoa.records.inventory.table import Problem, code_key

__all__ = [
    "FOUND_KEY",
    "ImportReport",
    "LinkReport",
    "Problem",
    "code_key",
    "dossier_codes",
    "import_inventory",
    "link_records",
    "page_claims",
    "read_mapping",
]
