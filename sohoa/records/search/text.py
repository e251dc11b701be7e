"""How text becomes index terms: Vietnamese folding, tokens, and the identifiers in it.

Folding happens here, in Python, for the queries and for SQLite's index (FTS5's
`remove_diacritics` does not fold đ/Đ, which has no Unicode decomposition). PostgreSQL
folds its documents itself, with the `unaccent` configuration sohoa_vi
(sohoa.records.search.schema), whose rules give the same words for Vietnamese
(tests/test_search_postgresql.py compares them letter by letter); search_docs.folded is kept
on both backends for SQLite's FTS5 and for reading.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

# A token is a run of letters and digits (no underscore): both engines' tokenizers split
# at everything else, so tokens made here never split differently inside an engine.
_TOKEN = re.compile(r"[^\W_]+")
# Personal identifiers (vn-records.md): 12-digit CCCD, 9-digit CMND, not part of a longer number.
# Dates as documents write them, on folded text: "15/03/2019", "15-3-2019", "15.03.2019",
# "ngày 15 tháng 3 năm 2019"; and as a user may type one in a query, "2019-03-15".
_DATES = (
    re.compile(r"(?<![0-9])(?P<d>[0-9]{1,2})\s?(?P<s>[/.-])\s?(?P<m>[0-9]{1,2})\s?(?P=s)\s?"
               r"(?P<y>[0-9]{4})(?![0-9])"),
    re.compile(r"ngay\s*(?P<d>[0-9]{1,2})\s*thang\s*(?P<m>[0-9]{1,2})\s*nam\s*(?P<y>[0-9]{4})"),
)  # fmt: skip
_ISO_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})")
_ID_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{12}|[0-9]{9})(?![0-9])")


def _fold_char(char: str) -> str:
    if char in "đĐ":
        return "d"
    decomposed = unicodedata.normalize("NFD", char.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _FoldTable(dict[int, str]):
    """str.translate table filled on first sight of each character: folding runs at C speed
    (it runs over every token of every page at indexing, and over every hit's pages)."""

    def __init__(self, keep_length: bool) -> None:
        super().__init__()
        self.keep_length = keep_length

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _fold_char(char)
        if self.keep_length:
            folded = folded[:1] or char
        self[code] = folded
        return folded


_FOLD = _FoldTable(keep_length=False)
_FOLD_SAME_LENGTH = _FoldTable(keep_length=True)


def fold(text: str) -> str:
    """Lower case without diacritics: "Đăng Ký" -> "dang ky"."""
    return unicodedata.normalize("NFC", text).lower().translate(_FOLD)


def fold_same_length(text: str) -> str:
    """Folded character by character, so that offsets still point into the NFC `text`."""
    return text.translate(_FOLD_SAME_LENGTH)


def tokens(text: str) -> list[str]:
    """The text's tokens, NFC and lower case, diacritics kept."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


@dataclass(frozen=True)
class IndexText:
    exact: str  # tokens with their diacritics, space separated
    folded: str  # the same tokens folded, position for position


def facet(kind: str, value: str | int) -> str:
    """A filter's value as one index token, for SQLite's FTS5 to intersect with the words
    (joining every match to search_docs to test a column cost 57 ms a query at 10^5
    records): "zz", the kind (p procedure, u unit, y year, b batch) and the value's UTF-8 in
    hex, so any value is one run of letters and digits no tokenizer splits, and no word of
    a document is one."""
    return f"zz{kind}{str(value).encode().hex()}"


def index_text(parts: list[str]) -> IndexText:
    exact = " ".join(token for part in parts for token in tokens(part))
    # Tokens hold no combining marks and every letter folds to letters: the folded string
    # has the same tokens at the same positions.
    return IndexText(exact, fold(exact))


def _iso(match: re.Match[str]) -> str | None:
    try:
        return dt.date(int(match["y"]), int(match["m"]), int(match["d"])).isoformat()
    except ValueError:  # 31/02, or digits that only look like a date
        return None


def dates(text: str) -> set[str]:
    """The calendar dates written in `text`, as ISO strings."""
    folded = fold(text)
    found = {_iso(m) for pattern in _DATES for m in pattern.finditer(folded)}
    return found - {None}


def query_date(value: str) -> str | None:
    """A date the user typed after `date:` ("15/03/2019" or "2019-03-15"), as ISO."""
    match = _DATES[0].fullmatch(value) or _ISO_DATE.fullmatch(value)
    return _iso(match) if match else None


def identifiers(text: str) -> list[tuple[str, str]]:
    """(kind, value) of the CCCD and CMND numbers in `text`, unique."""
    return sorted({("cccd" if len(m) == 12 else "cmnd", m) for m in _ID_NUMBER.findall(text)})


def doc_number_key(number: str) -> str:
    """How document numbers are compared: "15/QĐ-UBND" = "15/qd-ubnd" = "15 / QĐ - UBND"."""
    return "".join(fold(number).split())
