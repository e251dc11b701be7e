"""Import the paper register (mục lục hồ sơ) from CSV into inventory_items.

The register is the denominator of coverage: every dossier the archive holds on paper,
scanned or not. Archivists keep it in a spreadsheet and save it as CSV with this header
(names are case-insensitive, in any order; only `code` is required):

    code            mã hồ sơ, unique in the register; a scanned record whose folder name
                    (or loose file name without extension) equals it is that dossier
    title           tiêu đề hồ sơ
    unit            cơ quan / đơn vị (the organ or unit that made the dossier)
    procedure       thủ tục: a catalogue key (khai_sinh) or a national code (1.001193)
    year            năm, an integer 1900..2100
    location        where the paper is kept (kho, giá, hộp)
    expected_pages  số tờ, a positive integer

The file is UTF-8, with or without a byte-order mark (Excel writes one). Comma, semicolon
(Excel in a Vietnamese locale) and tab separators are all accepted; the one used is reported.
Importing again updates items by code: nothing is deleted, and an unchanged file changes
nothing. A bad row is reported with its line, column and problem and skipped; the good rows
are imported all the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sohoa.records import search, summary
from sohoa.records.inventory.table import (
    DELIMITERS,
    Problem,
    Table,
    check_header,
    code_key,
    nfc,
    open_table,
    table_rows,
)
from sohoa.records.models import InventoryItem

COLUMNS = ("code", "title", "unit", "procedure", "year", "location", "expected_pages")
# Column widths of inventory_items: longer values would fail on PostgreSQL, so say so first.
MAX_LENGTH = {"code": 80, "unit": 200, "procedure": 80, "location": 200}
YEARS = (1900, 2100)


@dataclass
class ImportReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    not_in_file: int = 0  # items already registered that this file does not list (kept)
    delimiter: str = ","  # the separator the file uses: "," ";" or "\t"
    problems: list[Problem] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))


def import_inventory(
    session: Session, path: Path, known_procedures: dict[str, str]
) -> ImportReport:
    """Upsert the register CSV at `path` into inventory_items, by code.

    `known_procedures` maps catalogue keys and national codes (e.g. "1.001193") to the key,
    which is what is stored. Raises SohoaError when the file cannot be read at all.
    """
    report = ImportReport()
    table = open_table(path, report.problems)
    if table is None:
        return report
    report.delimiter = table.delimiter
    if not check_header(table.header, report.problems, COLUMNS):
        return report
    procedures = {nfc(k).casefold(): v for k, v in known_procedures.items()}
    rows = dict(_valid_rows(table, procedures, report))
    _upsert(session, rows, report)
    return report


def _valid_rows(
    table: Table, procedures: dict[str, str], report: ImportReport
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(code key, item values) for every good row; problems of the others go to `report`."""
    first_line: dict[str, int] = {}  # code key -> line that registered it
    for line, raw in table_rows(table, report.problems):
        values, problems = _parse_row(line, raw, procedures)
        key = code_key(values.get("code") or "")
        if not problems and key in first_line:
            problems.append(
                Problem(
                    line, "code", f"duplicate code {values['code']!r}, already on line "
                    f"{first_line[key]}; this row is skipped",
                )
            )  # fmt: skip
        if problems:
            report.problems.extend(problems)
            continue
        first_line[key] = line
        yield key, values


def _parse_row(
    line: int, raw: dict[str, str], procedures: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    values: dict[str, Any] = {name: nfc(raw.get(name) or "") for name in COLUMNS}
    problems: list[Problem] = []
    if not values["code"]:
        problems.append(Problem(line, "code", "the code is empty"))
    for name, limit in MAX_LENGTH.items():
        if len(values[name]) > limit:
            problems.append(Problem(line, name, f"longer than {limit} characters"))
    values["year"] = _integer(line, "year", values["year"], YEARS, problems)
    values["expected_pages"] = _integer(
        line, "expected_pages", values["expected_pages"], (1, None), problems
    )
    if values["procedure"]:
        key = procedures.get(values["procedure"].casefold())
        if key is None:
            problems.append(
                Problem(
                    line, "procedure", f"unknown procedure {values['procedure']!r}; use a "
                    "catalogue key or national code from config.yaml classify.catalogue",
                )
            )  # fmt: skip
        values["procedure"] = key or ""
    return values, problems


def _integer(
    line: int, column: str, text: str, bounds: tuple[int, int | None], problems: list[Problem]
) -> int | None:
    """The cell as an integer within bounds; None when empty; a problem otherwise."""
    if not text:
        return None
    low, high = bounds
    wanted = f"an integer {low}..{high}" if high is not None else f"an integer ≥ {low}"
    try:
        value = int(text)
    except ValueError:
        problems.append(Problem(line, column, f"{text!r} is not {wanted}"))
        return None
    if value < low or (high is not None and value > high):
        problems.append(Problem(line, column, f"{value} is not {wanted}"))
        return None
    return value


def _upsert(session: Session, rows: dict[str, dict[str, Any]], report: ImportReport) -> None:
    """Insert new codes, update changed ones, in bulk: registers run to 10^5 rows and more."""
    fields = [getattr(InventoryItem, name) for name in COLUMNS]
    existing = {
        code_key(row.code): row for row in session.execute(select(InventoryItem.id, *fields))
    }
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for key, values in rows.items():
        old = existing.get(key)
        if old is None:
            new.append(values)
        elif any(getattr(old, name) != values[name] for name in COLUMNS):
            changed.append({"id": old.id, **values})
        else:
            report.unchanged += 1
    if new:
        session.execute(insert(InventoryItem), new)
    if changed:
        # Bulk UPDATE by primary key (SQLAlchemy 2 "executemany" form).
        session.execute(update(InventoryItem), changed)
        search.refresh_items(session, (row["id"] for row in changed))
    if new or changed:  # items came, or moved to another procedure, unit or year
        summary.rebuild_cells(session)
    report.added, report.changed = len(new), len(changed)
    report.not_in_file = len(existing.keys() - rows.keys())
