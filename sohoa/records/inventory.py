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

from sohoa import search
from sohoa.errors import SohoaError
from sohoa.records import summary
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
    report = ImportReport()
    table = _open_table(path, report.problems)
    if table is None:
        return report
    report.delimiter = table.delimiter
    if not _check_header(table.header, report.problems, COLUMNS):
        return report
    procedures = {nfc(k).casefold(): v for k, v in known_procedures.items()}
    rows = dict(_valid_rows(table, procedures, report))
    _upsert(session, rows, report)
    return report


@dataclass
class _Table:
    delimiter: str
    header: list[str]  # lower-case names, NFC
    reader: Iterator[list[str]]


def _open_table(path: Path, problems: list[Problem]) -> _Table | None:
    """A CSV file's separator, header and rows; None (and a problem) when it is empty."""
    text = _read_text(path)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        problems.append(Problem(1, "", "the file is empty; the first line must be the header"))
        return None
    delimiter = _sniff_delimiter(lines[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return _Table(delimiter, [nfc(name).lower() for name in next(reader)], reader)


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


def _check_header(header: list[str], found: list[Problem], columns: tuple[str, ...]) -> bool:
    """Report unknown and repeated columns; False (import nothing) when `code` is missing."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(1, name, "column appears twice; the first is used"))
        elif name not in columns:
            problems.append(
                Problem(1, name, f"unknown column, ignored (columns are: {', '.join(columns)})")
            )
        seen.add(name)
    if "code" in header:
        found.extend(problems)
        return True
    if len(header) == 1:
        hint = _separator_hint(header[0])
        message = (
            f"the header has one column{hint}; separate the columns with commas, "
            f"semicolons or tabs ({', '.join(columns)})"
        )
        problems = []  # the one "column" is the whole line: listing it says nothing more
    else:
        message = f"the header has no 'code' column (columns are: {', '.join(columns)})"
    found.extend([Problem(1, "code", message), *problems])
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


def _table_rows(table: _Table, problems: list[Problem]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) of the rows that are not blank and not too long."""
    header = table.header
    for line, fields in _numbered_rows(table.reader):
        if not any(f.strip() for f in fields):
            continue  # blank lines, and rows of empty cells that spreadsheets leave at the end
        if len(fields) > len(header):
            problems.append(
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
        yield line, raw


def _valid_rows(
    table: _Table, procedures: dict[str, str], report: ImportReport
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(code key, item values) for every good row; problems of the others go to `report`."""
    first_line: dict[str, int] = {}  # code key -> line that registered it
    for line, raw in _table_rows(table, report.problems):
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


# What can link a record to an item, strongest first: an archivist's mapping CSV, the
# record's folder (or file) name, a QR code on page 1, a code printed on page 1 (OCR text).
LINK_SOURCES = ("mapping", "folder", "qr", "text")
# Where the worker leaves a code it read on page 1: {"code", "source": "qr"|"text"} and, when
# the other source read a different code, "also": {"code", "source"} (sohoa.ocr.codes).
FOUND_KEY = "dossier_code_found"
# Columns of a mapping CSV: the dossier code, and the record by its id or by its path.
MAPPING_COLUMNS = ("code", "record_id", "source", "batch")


@dataclass(frozen=True)
class UnregisteredRecord:
    uid: str
    batch: str
    rel_path: str
    found_code: str | None = None  # a code read on page 1 that the register does not list


@dataclass(frozen=True)
class UnscannedItem:
    code: str
    title: str


@dataclass(frozen=True)
class LinkConflict:
    """A record whose sources name different dossiers: linked by precedence, shown to a person."""

    uid: str
    batch: str
    rel_path: str
    linked_code: str | None  # the code the record is linked to (None: no claim is registered)
    claims: tuple[tuple[str, str], ...]  # (source, code), strongest source first


@dataclass
class LinkReport:
    newly_linked: int = 0  # links made or moved to another item by this call
    unlinked: int = 0  # links dropped because nothing names the item any more
    linked: int = 0  # records linked to an item after this call
    mapped: int = 0  # records linked by the mapping file given to this call
    unregistered: list[UnregisteredRecord] = field(default_factory=list)  # scanned, not in register
    unscanned: list[UnscannedItem] = field(default_factory=list)  # registered, not scanned
    conflicts: list[LinkConflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # bad lines of the mapping file


def dossier_codes(rel_path: str) -> tuple[str, ...]:
    """The code keys a record may carry: its folder name, or its file name without extension.

    The full name is tried first, so a folder named like "HS.2019.001" keeps its dots.
    """
    name = nfc(rel_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    stem = Path(name).stem
    return (code_key(name),) if stem == name else (code_key(name), code_key(stem))


@dataclass(frozen=True)
class _Item:
    id: int
    code: str


def _register(session: Session) -> dict[str, _Item]:
    query = select(InventoryItem.id, InventoryItem.code)
    return {code_key(code): _Item(item_id, code) for item_id, code in session.execute(query)}


def read_mapping(session: Session, path: Path, problems: list[Problem]) -> dict[int, int]:
    """{record id: item id} from a mapping CSV; bad lines go to `problems` and are skipped.

    Columns (case-insensitive, any order, separator as for the register): `code`, the dossier
    code of the register, and the record as `record_id` (the id `sohoa export` and `sohoa link`
    show) or as `source` (its path in its batch, as `sohoa export` shows), with `batch` when
    that path is in several batches.
    """
    table = _open_table(path, problems)
    if table is None or not _check_header(table.header, problems, MAPPING_COLUMNS):
        return {}
    if not {"record_id", "source"} & set(table.header):
        problems.append(Problem(1, "record_id", "name the record: a record_id or a source column"))
        return {}
    items = _register(session)
    by_uid: dict[str, int] = {}
    by_path: dict[str, dict[str, int]] = {}  # NFC path -> {batch: record id}
    query = select(Record.id, Record.uid, Record.rel_path, Batch.name).join(Batch)
    for record_id, uid, rel_path, batch in session.execute(query):
        by_uid[uid] = record_id
        by_path.setdefault(nfc(rel_path), {})[batch] = record_id
    links: dict[int, int] = {}
    first_line: dict[int, int] = {}
    for line, raw in _table_rows(table, problems):
        record_id, problem = _mapped_record(line, raw, by_uid, by_path)
        code = nfc(raw.get("code") or "")
        item = items.get(code_key(code))
        if problem is None and item is None:
            problem = Problem(
                line, "code", f"code {code!r} is not in the register" if code else "no code"
            )
        if problem is None and record_id in first_line and links[record_id] != item.id:
            problem = Problem(
                line, "", f"the record is mapped to another code on line {first_line[record_id]}"
            )
        if problem is not None:
            problems.append(problem)
            continue
        first_line.setdefault(record_id, line)
        links[record_id] = item.id
    return links


def _mapped_record(
    line: int, raw: dict[str, str], by_uid: dict[str, int], by_path: dict[str, dict[str, int]]
) -> tuple[int, Problem | None]:
    """The record a mapping row names, or the problem with it."""
    uid = nfc(raw.get("record_id") or "")
    if uid:
        if uid in by_uid:
            return by_uid[uid], None
        return 0, Problem(line, "record_id", f"no record with id {uid!r}")
    source = nfc(raw.get("source") or "").replace("\\", "/").strip("/")
    if not source:
        return 0, Problem(line, "source", "no record_id and no source: which record is it?")
    in_batches = by_path.get(source, {})
    batch = nfc(raw.get("batch") or "")
    if batch:
        if batch in in_batches:
            return in_batches[batch], None
        return 0, Problem(line, "source", f"no record {source!r} in batch {batch!r}")
    if len(in_batches) == 1:
        return next(iter(in_batches.values())), None
    if not in_batches:
        return 0, Problem(line, "source", f"no record {source!r} in any batch")
    names = ", ".join(sorted(in_batches))
    return 0, Problem(line, "batch", f"{source!r} is in batches {names}: add a batch column")


def link_records(
    session: Session, mapping: dict[int, int] | None = None, *, batch_id: int | None = None
) -> LinkReport:
    """Link records to register items, list what does not match either way, and the records
    whose sources disagree.

    `mapping` ({record id: item id}, from `read_mapping`) links those records whatever else
    says; such links stay until another mapping moves them. Every other record is linked by
    the strongest source that names a registered code: folder or file name, then the QR code,
    then the code in the text of page 1 (both found by the worker, in the record's metadata).
    Duplicates are linked like any record but not listed as unregistered: they are copies of
    a record that is listed. Coverage summaries of the items involved are refreshed.

    With `batch_id` (the driver, after a run) only that batch's records are linked and
    nothing is listed: the lists grow with the archive and the register, not with the batch.
    """
    mapping = mapping or {}
    items = _register(session)
    if batch_id is not None and not items:
        return LinkReport()  # no register: nothing to link to, no link to drop
    codes = {item.id: item.code for item in items.values()}
    report = LinkReport(mapped=len(mapping))
    changes: list[dict[str, Any]] = []
    touched: set[int | None] = set()
    query = (
        select(Record.id, Record.uid, Record.rel_path, Record.state, Record.inventory_item_id,
               Record.inventory_link_source, Record.meta[FOUND_KEY], Batch.name)
        .join(Batch, Batch.id == Record.batch_id)
        .order_by(Batch.name, Record.rel_path)
    )  # fmt: skip
    if batch_id is not None:
        query = query.where(Record.batch_id == batch_id)
    listing = batch_id is None
    for record_id, uid, rel_path, state, *link, found, batch in session.execute(query):
        old = (link[0], link[1])
        current = (mapping[record_id], "mapping") if record_id in mapping else old
        mapped_code = codes.get(current[0]) if current[1] == "mapping" else None
        claims = _claims(items, rel_path, found, mapped_code)
        target = _strongest(items, claims, current)
        if target != old:
            changes.append(
                {"id": record_id, "inventory_item_id": target[0],
                 "inventory_link_source": target[1]}
            )  # fmt: skip
            touched.update((old[0], target[0]))
            report.newly_linked += target[0] is not None and target[0] != old[0]
            report.unlinked += target[0] is None and old[0] is not None
        if target[0] is not None:
            report.linked += 1
        if not listing:
            continue
        if target[0] is None and state != RecordState.DUPLICATE:
            found_code = next((code for _source, code in claims), None)
            report.unregistered.append(UnregisteredRecord(uid, batch, rel_path, found_code))
        if len({code_key(code) for _source, code in claims}) > 1:
            report.conflicts.append(
                LinkConflict(uid, batch, rel_path, codes.get(target[0]), tuple(claims))
            )
    if changes:
        session.execute(update(Record), changes)
        search.index_records(session, (change["id"] for change in changes))
    summary.refresh_items(session, touched)
    if listing:
        report.unscanned = list(_unscanned(session))
    return report


def _claims(
    items: dict[str, _Item], rel_path: str, found: dict[str, Any] | None, mapped: str | None
) -> list[tuple[str, str]]:
    """(source, code) of every source that names a dossier, in LINK_SOURCES order.

    A folder name counts only when it is a registered code (most folder names are not codes);
    a code read on the page counts whatever it is, so an unregistered one can be reported.
    """
    claims = [("mapping", mapped)] if mapped else []
    folder = next((items[key] for key in dossier_codes(rel_path) if key in items), None)
    if folder is not None:
        claims.append(("folder", folder.code))
    for seen in (found, (found or {}).get("also")):
        if isinstance(seen, dict) and seen.get("code") and seen.get("source") in ("qr", "text"):
            claims.append((str(seen["source"]), nfc(str(seen["code"]))))
    return sorted(claims, key=lambda claim: LINK_SOURCES.index(claim[0]))


def _strongest(
    items: dict[str, _Item], claims: list[tuple[str, str]], current: tuple[int | None, str | None]
) -> tuple[int | None, str | None]:
    """(item id, source) a record should be linked to. A mapping link, or a link whose source
    is not recorded (made outside sohoa), is kept; the others follow the strongest claim."""
    item_id, source = current
    if source == "mapping" or (item_id is not None and source is None):
        return current
    for claim_source, code in claims:
        item = items.get(code_key(code))
        if item is not None:
            return item.id, claim_source
    return None, None


def _unscanned(session: Session) -> Iterable[UnscannedItem]:
    linked = exists().where(Record.inventory_item_id == InventoryItem.id)
    query = select(InventoryItem.code, InventoryItem.title).where(~linked)
    for code, title in session.execute(query.order_by(InventoryItem.code)):
        yield UnscannedItem(code, title)
