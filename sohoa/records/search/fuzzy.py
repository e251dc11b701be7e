"""Words OCR may have misread: for each word of the query, the words of the index one edit
away (a letter replaced, dropped, added, or two swapped) or one known OCR confusion away
("rn" read for "m", "li" for "h", ...). Candidates are generated and looked up in the
vocabulary (search_terms) by equality, the same on both backends."""

from __future__ import annotations

import string
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa.records.models import SearchTerm
from sohoa.records.search.engine import Alternatives
from sohoa.records.search.index import FUZZY_MAX, FUZZY_MIN
from sohoa.records.search.parse import Term

_LETTERS = string.ascii_lowercase
# Pairs tesseract confuses on scans (vn-records.md: OCR of Vietnamese), both ways.
_CONFUSIONS = (("rn", "m"), ("li", "h"), ("cl", "d"), ("vv", "w"), ("ii", "u"), ("in", "m"),
               ("nn", "m"), ("c", "e"), ("l", "i"), ("n", "u"), ("h", "b"))  # fmt: skip
MAX_PER_WORD = 40  # alternatives kept per word


def _one_edit(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    found = {a + b[1:] for a, b in splits if b}
    found |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    found |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    found |= {a + c + b for a, b in splits for c in _LETTERS}
    for left, right in _CONFUSIONS:
        for old, new in ((left, right), (right, left)):
            start = word.find(old)
            while start >= 0:
                found.add(word[:start] + new + word[start + len(old) :])
                start = word.find(old, start + 1)
    found.discard(word)
    return found


def fuzzy_words(terms: Iterable[Term]) -> list[str]:
    """The words of the query that may have been misread in the archive's text."""
    return [
        t.folded[0]
        for t in terms
        if not t.is_phrase and not t.prefix and t.folded[0].isascii() and t.folded[0].isalpha()
        and FUZZY_MIN <= len(t.folded[0]) <= FUZZY_MAX
    ]  # fmt: skip


def alternatives(session: Session, words: Iterable[str]) -> Alternatives:
    found: dict[str, tuple[str, ...]] = {}
    for word in dict.fromkeys(words):
        candidates = sorted(_one_edit(word))
        known = session.scalars(select(SearchTerm.term).where(SearchTerm.term.in_(candidates)))
        near = tuple(sorted(known)[:MAX_PER_WORD])
        if near:
            found[word] = near
    return Alternatives(found)
