"""Reading a register-style CSV (the register itself, or a mapping file): separator, header,
numbered rows, and the problems found on the way, each with its line and column."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sohoa.errors import SohoaError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class Problem:
    line: int  # 1 is the header
    column: str  # header name, or "" for the whole row
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def code_key(code: str) -> str:
    """How dossier codes are compared: NFC and case-insensitive (HS-2019-1 is hs-2019-1)."""
    return nfc(code).casefold()


@dataclass
class Table:
    delimiter: str
    header: list[str]  # lower-case names, NFC
    reader: Iterator[list[str]]


def open_table(path: Path, problems: list[Problem]) -> Table | None:
    """A CSV file's separator, header and rows; None (and a problem) when it is empty."""
    text = _read_text(path)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        problems.append(Problem(1, "", "the file is empty; the first line must be the header"))
        return None
    delimiter = _sniff_delimiter(lines[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return Table(delimiter, [nfc(name).lower() for name in next(reader)], reader)


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


def check_header(header: list[str], found: list[Problem], columns: tuple[str, ...]) -> bool:
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


def table_rows(table: Table, problems: list[Problem]) -> Iterator[tuple[int, dict[str, str]]]:
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
