"""A record's OCR text cut into zones that count differently as evidence.

A dossier opens with its application form, whose heading names the procedure; the pages
behind it are attachments (ID-card copies, receipts, certificates of other procedures)
that must not decide. So the title area of the first page counts most, the rest of that
page less, and the attachments least.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sohoa.classify.normalise import fold_lines, nfc, tidy

TITLE_LINES = 15  # the heading block: agency, national motto, form title, "Kính gửi"
MIN_LETTERS = 20  # below this a page (or a record) has no usable text
_LETTER = re.compile(r"[^\W\d_]")
ZONE_WEIGHTS = {"title": 1.0, "body": 0.6, "attachments": 0.3}


@dataclass(frozen=True)
class Zone:
    name: str  # a key of ZONE_WEIGHTS
    weight: float
    text: str  # NFC lines, for the catalogue's regular expressions
    tidy: str  # lines in tidy form, joined by single spaces
    folded: str  # lines in folded form, joined by single spaces
    line_ends: tuple[int, ...]  # offset in `folded` where each line ends


def has_text(page_texts: list[str]) -> bool:
    """Whether the pages hold at least MIN_LETTERS letters between them."""
    needed = MIN_LETTERS
    for text in page_texts:
        for _ in _LETTER.finditer(text):
            needed -= 1
            if not needed:
                return True
    return False


def zones(page_texts: list[str]) -> list[Zone]:
    """Title, body and attachment zones. Pages without text are skipped, so a blank cover
    or back side in front still leaves the application form as the first page."""
    pages = [text for text in page_texts if has_text([text])]
    if not pages:
        return []
    first = _lines(pages[0])
    later = [line for text in pages[1:] for line in _lines(text)]
    parts = {
        "title": first[:TITLE_LINES],
        "body": first[TITLE_LINES:],
        "attachments": later,
    }
    return [_zone(name, lines) for name, lines in parts.items() if lines]


def _lines(text: str) -> list[tuple[str, str]]:
    """(NFC line, folded line) for each line with a letter or digit in it."""
    pairs = zip(nfc(text).splitlines(), fold_lines(text), strict=True)
    return [(line, folded) for line, folded in pairs if folded]


def _zone(name: str, lines: list[tuple[str, str]]) -> Zone:
    ends, offset = [], -1
    for _, folded in lines:
        offset += len(folded) + 1
        ends.append(offset)
    text = "\n".join(line for line, _ in lines)
    return Zone(
        name=name,
        weight=ZONE_WEIGHTS[name],
        text=text,
        tidy=tidy(text),
        folded=" ".join(folded for _, folded in lines),
        line_ends=tuple(ends),
    )
