"""The paper register (mục lục hồ sơ): import it from CSV and link scanned records to it.

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

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.orm import Session

from sohoa.errors import SohoaError
from sohoa.records.models import Batch, InventoryItem, Record, RecordState

COLUMNS = ("code", "title", "unit", "procedure", "year", "location", "expected_pages")
# Column widths of inventory_items: longer values would fail on PostgreSQL, so say so first.
MAX_LENGTH = {"code": 80, "unit": 200, "procedure": 80, "location": 200}
YEARS = (1900, 2100)
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class Problem:
    line: int  # 1 is the header
    column: str  # header name, or "" for the whole row
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


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


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def code_key(code: str) -> str:
    """How dossier codes are compared: NFC and case-insensitive (HS-2019-1 is hs-2019-1)."""
    return nfc(code).casefold()


def import_inventory(
    session: Session, path: Path, known_procedures: dict[str, str]
) -> ImportReport:
    """Upsert the register CSV at `path` into inventory_items, by code.

    `known_procedures` maps catalogue keys and national codes (e.g. "1.001193") to the key,
    which is what is stored. Raises SohoaError when the file cannot be read at all.
    """
    text = _read_text(path)
    report = ImportReport()
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        report.problems.append(
            Problem(1, "", "the file is empty; the first line must be the header")
        )
        return report
    report.delimiter = _sniff_delimiter(lines[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=report.delimiter)
    header = [nfc(name).lower() for name in next(reader)]
    if not _check_header(header, report):
        return report
    procedures = {nfc(k).casefold(): v for k, v in known_procedures.items()}
    rows = dict(_valid_rows(reader, header, procedures, report))
    _upsert(session, rows, report)
    return report


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SohoaError(f"cannot read the register {path}: {exc.strerror}") from exc
    try:
        # utf-8-sig drops the byte-order mark Excel puts at the start.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SohoaError(
            f"{path}: line {line} is not UTF-8; save the register as 'CSV UTF-8'"
        ) from exc


def _sniff_delimiter(header_line: str) -> str:
    """The separator that splits the header into the most columns (a comma when none does).

    Header names hold no separators, so counting them in the first line is reliable where
    csv.Sniffer, which guesses from data rows full of Vietnamese commas, is not.
    """
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_header(header: list[str], report: ImportReport) -> bool:
    """Report unknown and repeated columns; False (import nothing) when `code` is missing."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(1, name, "column appears twice; the first is used"))
        elif name not in COLUMNS:
            problems.append(
                Problem(1, name, f"unknown column, ignored (columns are: {', '.join(COLUMNS)})")
            )
        seen.add(name)
    if "code" in header:
        report.problems.extend(problems)
        return True
    if len(header) == 1:
        hint = _separator_hint(header[0])
        message = (
            f"the header has one column{hint}; separate the columns with commas, "
            f"semicolons or tabs ({', '.join(COLUMNS)})"
        )
        problems = []  # the one "column" is the whole line: listing it says nothing more
    else:
        message = f"the header has no 'code' column (columns are: {', '.join(COLUMNS)})"
    report.problems.extend([Problem(1, "code", message), *problems])
    return False


def _separator_hint(line: str) -> str:
    """ ", the file seems to use '|'" when some other punctuation splits the header."""
    marks = [c for c in line if not (c.isalnum() or c.isspace() or c == "_")]
    if not marks:
        return ""
    mark = max(set(marks), key=marks.count)
    return f"; the file seems to use {mark!r}"


def _numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, fields); quoted fields may span lines."""
    line = reader.line_num + 1  # type: ignore[attr-defined]
    for fields in reader:
        yield line, fields
        line = reader.line_num + 1  # type: ignore[attr-defined]


def _valid_rows(
    reader: Iterator[list[str]],
    header: list[str],
    procedures: dict[str, str],
    report: ImportReport,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(code key, item values) for every good row; problems of the others go to `report`."""
    first_line: dict[str, int] = {}  # code key -> line that registered it
    for line, fields in _numbered_rows(reader):
        if not any(f.strip() for f in fields):
            continue  # blank lines, and rows of empty cells that spreadsheets leave at the end
        if len(fields) > len(header):
            report.problems.append(
                Problem(
                    line, "",
                    f"{len(fields)} fields but the header has {len(header)} columns; "
                    "quote values that contain the separator",
                )
            )  # fmt: skip
            continue
        # Spreadsheets drop trailing empty cells; the first of a repeated column wins.
        raw: dict[str, str] = {}
        for name, value in zip(header, fields, strict=False):
            raw.setdefault(name, value)
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
    report.added, report.changed = len(new), len(changed)
    report.not_in_file = len(existing.keys() - rows.keys())


@dataclass(frozen=True)
class UnregisteredRecord:
    uid: str
    batch: str
    rel_path: str


@dataclass(frozen=True)
class UnscannedItem:
    code: str
    title: str


@dataclass
class LinkReport:
    newly_linked: int = 0
    linked: int = 0  # records linked to an item after this call
    unregistered: list[UnregisteredRecord] = field(default_factory=list)  # scanned, not in register
    unscanned: list[UnscannedItem] = field(default_factory=list)  # registered, not scanned


def dossier_codes(rel_path: str) -> tuple[str, ...]:
    """The code keys a record may carry: its folder name, or its file name without extension.

    The full name is tried first, so a folder named like "HS.2019.001" keeps its dots.
    """
    name = nfc(rel_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    stem = Path(name).stem
    return (code_key(name),) if stem == name else (code_key(name), code_key(stem))


def link_records(session: Session) -> LinkReport:
    """Set Record.inventory_item_id by dossier code, and list what does not match either way.

    Links already made are kept (a record's name never changes). Duplicates are linked like
    any record but not listed as unregistered: they are copies of a record that is listed.
    """
    items = {code_key(code): item_id for item_id, code in session.execute(
        select(InventoryItem.id, InventoryItem.code)
    )}  # fmt: skip
    report = LinkReport()
    updates: list[dict[str, Any]] = []
    query = (
        select(Record.id, Record.uid, Record.rel_path, Record.state, Record.inventory_item_id)
        .add_columns(Batch.name)
        .join(Batch, Batch.id == Record.batch_id)
        .order_by(Batch.name, Record.rel_path)
    )
    for record_id, uid, rel_path, state, item_id, batch in session.execute(query):
        match = item_id or _match(items, rel_path)
        if match is None:
            if state != RecordState.DUPLICATE:
                report.unregistered.append(UnregisteredRecord(uid, batch, rel_path))
            continue
        report.linked += 1
        if match != item_id:
            updates.append({"id": record_id, "inventory_item_id": match})
    if updates:
        session.execute(update(Record), updates)
    report.newly_linked = len(updates)
    report.unscanned = list(_unscanned(session))
    return report


def _match(items: dict[str, int], rel_path: str) -> int | None:
    for key in dossier_codes(rel_path):
        if key in items:
            return items[key]
    return None


def _unscanned(session: Session) -> Iterable[UnscannedItem]:
    linked = exists().where(Record.inventory_item_id == InventoryItem.id)
    query = select(InventoryItem.code, InventoryItem.title).where(~linked)
    for code, title in session.execute(query.order_by(InventoryItem.code)):
        yield UnscannedItem(code, title)
