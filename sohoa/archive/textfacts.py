"""Facts read from a record's OCR text for its dossier metadata: the dates of its documents,
their numbers ("Số: 15/QĐ-UBND") and how many documents it holds.

OCR of Vietnamese drops and confuses tone marks and misreads digits (../shared/domain/
vn-records.md), so everything is matched on a form without diacritics, and the letters
tesseract puts for digits (O, l, I, |) are read as digits where a number must stand.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

EARLIEST_YEAR = 1900  # older "dates" in OCR text are misread digits
HEADING_LINES = 12  # where the national motto stands on a document's first page


@dataclass(frozen=True)
class TextFindings:
    dates: tuple[dt.date, ...]  # plausible dates, sorted
    doc_numbers: tuple[str, ...]  # "15/QĐ-UBND", in order of first appearance
    documents: int  # pages that open a document (national motto in the heading)


# Digits tesseract reads as letters (after lower-casing): O -> 0, l / I / | -> 1.
_DIGIT = "[0-9oil|]"
_CONFUSED = str.maketrans("oil|", "0111")
_WRITTEN = re.compile(  # "ngày 15 tháng 3 năm 2021", folded and lower-cased
    rf"n[gq]a[yv]\s*(?P<d>{_DIGIT}{{1,2}})\s*[,.]?\s*th[a]ng\s*(?P<m>{_DIGIT}{{1,2}})"
    rf"\s*[,.]?\s*n[a]m\s*(?P<y>{_DIGIT}{{4}})(?![0-9])"
)
_NUMERIC = re.compile(  # "15/03/2021", "15-3-2021", "15.03.2021"
    rf"(?<![\w/.-])(?P<d>{_DIGIT}{{1,2}})\s?(?P<sep>[/.-])\s?(?P<m>{_DIGIT}{{1,2}})"
    rf"\s?(?P=sep)\s?(?P<y>{_DIGIT}{{4}})(?![\w/])"
)
# A birth date is a fact about a person, not about the dossier ("khai sinh" is the procedure).
_BIRTH = re.compile(r"(?<!khai )\bsinh\b")
_BIRTH_WINDOW = 40  # characters before a date that may say it is a birth date
# "Số: 15/QĐ-UBND", "Số 123/2021/QĐ-UBND" (NĐ 30/2020 Điều 15); matched on the folded text,
# so "Sô", "Só" and "S6" (tesseract's misreadings of "Số") match too.
_SEGMENT = r"[A-Z]{2,}[a-z]?[0-9]{0,3}"
_DOC_NUMBER = re.compile(
    r"(?<![\w])S[oO6]\s*[:;.]?\s*(?P<n>[0-9O]{1,5})\s*/\s*(?:(?P<y>[0-9O]{4})\s*/\s*)?"
    rf"(?P<s>{_SEGMENT}(?:\s*-\s*{_SEGMENT}){{0,3}})(?![\w])"
)
_MOTTO = ("chu nghia viet nam", "doc lap tu do hanh phuc")


def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFD", char)[0]
    if char in "đĐ":
        return "d" if char == "đ" else "D"
    return char if unicodedata.combining(base) else base


def fold_keep_length(text: str) -> str:
    """Diacritics dropped letter by letter, case and punctuation kept: offsets in the result
    are offsets in the NFC text, so a match can be cut from the original."""
    return "".join(_fold_char(char) for char in unicodedata.normalize("NFC", text))


def _number(token: str) -> int:
    return int(token.lower().translate(_CONFUSED))


def _as_date(match: re.Match[str]) -> dt.date | None:
    if not any(c.isdigit() for c in match["y"]):  # "llll" is a word, not a year
        return None
    try:
        return dt.date(_number(match["y"]), _number(match["m"]), _number(match["d"]))
    except ValueError:
        return None


def find_dates(text: str, not_after: dt.date) -> tuple[dt.date, ...]:
    """Plausible dates of the dossier's documents in OCR text, sorted and unique.

    A date is plausible when it is a real calendar day from EARLIEST_YEAR to `not_after`
    (the digitization day) and is not a birth date. Written dates ("ngày 15 tháng 3 năm
    2021"), the form of a document's own date line, are preferred; numeric dates (form
    fields, ID cards) count only when the text has no written one.
    """
    folded = fold_keep_length(text).lower()
    found: dict[str, set[dt.date]] = {"written": set(), "numeric": set()}
    for kind, pattern in (("written", _WRITTEN), ("numeric", _NUMERIC)):
        for match in pattern.finditer(folded):
            line_start = folded.rfind("\n", 0, match.start()) + 1
            before = folded[max(line_start, match.start() - _BIRTH_WINDOW) : match.start()]
            day = _as_date(match)
            if day is None or _BIRTH.search(before):
                continue
            if dt.date(EARLIEST_YEAR, 1, 1) <= day <= not_after:
                found[kind].add(day)
    return tuple(sorted(found["written"] or found["numeric"]))


def find_doc_numbers(text: str) -> tuple[str, ...]:
    """Document numbers ("số, ký hiệu") as "15/QĐ-UBND" or "123/2021/QĐ-UBND", unique, in
    order of appearance; letters keep their Vietnamese form (Đ) from the text."""
    original = unicodedata.normalize("NFC", text)
    numbers: dict[str, None] = {}
    for match in _DOC_NUMBER.finditer(fold_keep_length(original)):
        number = match["n"].replace("O", "0")
        year = match["y"].replace("O", "0") if match["y"] else None
        symbol = re.sub(r"\s+", "", original[match.start("s") : match.end("s")])
        if int(number) == 0:
            continue
        numbers["/".join(part for part in (number, year, symbol) if part)] = None
    return tuple(numbers)


def count_documents(page_texts: Iterable[str]) -> int:
    """Pages whose heading carries the national motto: each opens a document."""
    count = 0
    for text in page_texts:
        heading = " ".join(fold_keep_length(text).lower().splitlines()[:HEADING_LINES])
        heading = " ".join(re.sub(r"[^\w]+", " ", heading).split())
        count += any(motto in heading for motto in _MOTTO)
    return count


def read_text(page_texts: list[str], not_after: dt.date) -> TextFindings:
    whole = "\n".join(page_texts)
    return TextFindings(
        find_dates(whole, not_after), find_doc_numbers(whole), count_documents(page_texts)
    )
