"""Words OCR may have misread: for each word of the query, the words of the index one edit
away (a letter replaced, dropped, added, or two swapped) or one known OCR confusion away
("rn" read for "m", "li" for "h", ...). Both backends find the same words: the vocabulary
(search_terms) word is kept only if it is one of these neighbours. How they are looked up
differs. SQLite: the neighbours are generated and looked up by equality. PostgreSQL: by
trigram similarity (pg_trgm `%`, the GIN index over search_terms.term) at the lowest
similarity any neighbour of the word can have, so the index returns every neighbour; words
so short that a neighbour may share no trigram with them (2-3 letters) go by equality."""

from __future__ import annotations

import string
from collections.abc import Iterable

from sqlalchemy import func, select
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


def _trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one lower-case word: padded with two blanks before, one after."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(left: str, right: str) -> float:
    """pg_trgm's similarity() of two words: shared trigrams over all trigrams."""
    a, b = _trigrams(left), _trigrams(right)
    return len(a & b) / len(a | b)


def _by_trigrams(session: Session, word: str, neighbours: set[str]) -> list[str] | None:
    """The vocabulary's neighbours of `word` through the trigram index, or None when some
    neighbour may share no trigram with it (the index cannot promise to return it)."""
    lowest = min(similarity(word, n) for n in neighbours)
    if lowest <= 0:
        return None
    # `%` is similarity >= pg_trgm.similarity_threshold; a hair lower than the exact bound
    # for float4 rounding. Local to the transaction: nothing else reads it.
    session.execute(select(func.set_config("pg_trgm.similarity_threshold",
                                           f"{lowest - 1e-4:.6f}", True)))  # fmt: skip
    near = session.scalars(select(SearchTerm.term).where(SearchTerm.term.op("%")(word)))
    return [term for term in near if term in neighbours]


def alternatives(session: Session, words: Iterable[str]) -> Alternatives:
    found: dict[str, tuple[str, ...]] = {}
    postgresql = session.get_bind().dialect.name == "postgresql"
    for word in dict.fromkeys(words):
        neighbours = _one_edit(word)
        known = _by_trigrams(session, word, neighbours) if postgresql else None
        if known is None:
            known = list(session.scalars(
                select(SearchTerm.term).where(SearchTerm.term.in_(sorted(neighbours)))
            ))  # fmt: skip
        near = tuple(sorted(known)[:MAX_PER_WORD])
        if near:
            found[word] = near
    return Alternatives(found)
