"""What a hit shows: the record, its dossier, the page the query matched and a snippet
with the match marked, cut from the page's own text (not from the index)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa.records.models import Batch, InventoryItem, Record, SearchDoc
from sohoa.records.search.engine import NO_ALTERNATIVES, Alternatives
from sohoa.records.search.index import dossier_of, page_texts
from sohoa.records.search.parse import ParsedQuery, Term, named_years, plain_run
from sohoa.records.search.text import fold_same_length

SNIPPET_CHARS = 160
MARK_OPEN, MARK_CLOSE = "«", "»"


@dataclass(frozen=True)
class Hit:
    record_id: str  # the record's public id (uid)
    code: str | None
    title: str
    procedure: str | None
    year: int | None
    state: str
    batch: str
    score: float
    match: str  # text (exact or without diacritics), fuzzy (a misread word), field
    page: int | None  # 1-based page the words were found on; None: found in the title or code
    snippet: str
    path: str | None  # the signed PDF/A


def _term_regexes(query: ParsedQuery, alternatives: Alternatives) -> list[str]:
    """One regex per term over folded page text: the word or its alternatives, or the phrase,
    starting a word (see _word_start)."""
    found = []
    for term in query.terms:
        first, *rest = _slots(term, alternatives)
        parts = [_choice(first, _word_start), *(_choice(options) for options in rest)]
        found.append(r"\W+".join(parts) + (r"\w*" if term.prefix else ""))
    return found


def _word_start(escaped: str) -> str:
    """The word, not preceded by a letter or digit. Tested after the word, so that the
    pattern begins with it: `re` scans for a leading literal at C speed, where a leading
    lookbehind is tried at every character (on OCR pages 10-20x slower)."""
    return f"{escaped}(?<!\\w{escaped})"


def _slots(term: Term, alternatives: Alternatives) -> list[tuple[str, ...]]:
    """The words a term stands for, one tuple of choices per word."""
    if term.is_phrase:
        return [(w,) for w in term.folded]
    return [alternatives.of(term.folded[0])]


def _choice(options: tuple[str, ...], word: Callable[[str], str] = str) -> str:
    escaped = [word(re.escape(w)) for w in options]
    return escaped[0] if len(escaped) == 1 else "(?:" + "|".join(escaped) + ")"


def _bounded(source: str) -> re.Pattern[str]:
    """A whole-word match of a _term_regexes source (or of several, joined)."""
    return re.compile(source + r"(?!\w)")


class _Runs:
    """Terms `start` to `end` side by side in a record's folded words (search_docs.folded:
    tokens one space apart, padded with a space at each end). Each run is one regex that
    starts with a literal space and word where it can, which the regex engine scans for at
    C speed. Reading 60 candidates this way took 0.8 ms of CPU (10^5 records, 200 names)
    where folding and scanning their pages took 7.2 ms."""

    def __init__(self, query: ParsedQuery, alternatives: Alternatives) -> None:
        self.terms = []
        for term in query.terms:
            words = [_choice(options) for options in _slots(term, alternatives)]
            self.terms.append(" ".join(words) + ("[^ ]*" if term.prefix else ""))
        self._compiled: dict[tuple[int, int], re.Pattern[str]] = {}

    def __len__(self) -> int:
        return len(self.terms)

    def pattern(self, start: int, end: int) -> re.Pattern[str]:
        key = (start, end)
        if key not in self._compiled:
            self._compiled[key] = re.compile(" " + " ".join(self.terms[start:end]) + "(?= )")
        return self._compiled[key]


@dataclass
class _Candidate:
    record_id: int
    score: float
    match: str
    run: int = 0  # most query terms found side by side ("Nguyễn Văn Bình")
    row: tuple[int, int] | None = None  # (start, end) terms of that run, when it has two or more
    year_named: bool = False  # the dossier's year is a word of the query
    recurs: int = 0  # times the words stand side by side in the dossier


def _read_words(candidate: _Candidate, words: str, runs: _Runs) -> None:
    """How many terms stand in a row in the dossier's words, and how often that row recurs
    (an applicant's name is on the form, the ID card copy and the signature; a relative's
    once)."""
    present = [runs.pattern(i, i + 1).search(words) is not None for i in range(len(runs))]
    candidate.run = 1 if any(present) else 0
    for start in range(len(runs)):
        for end in range(len(runs), start + candidate.run, -1):  # longest first, beyond the best
            if all(present[start:end]) and runs.pattern(start, end).search(words):
                candidate.run, candidate.row = end - start, (start, end)
                break
    if candidate.row:
        candidate.recurs = len(runs.pattern(*candidate.row).findall(words))


def _best_page(
    candidate: _Candidate, pages: list[str], terms: list[str], singles: list[re.Pattern[str]]
) -> tuple[int, str] | None:
    """The page to show (1-based) and its folded text: the first with the candidate's run of
    terms, else the first with the most terms (`singles`: each term bounded); None when no
    page has any (the words are in the title or code). Pages are folded one by one, as far
    as needed: folding every page of the hits shown was a sixth of a web search's CPU."""
    folded_pages = []
    row = candidate.row and _bounded(r"\W+".join(terms[candidate.row[0] : candidate.row[1]]))
    for number, text in enumerate(pages, start=1):
        folded_pages.append(fold_same_length(text))
        if row and row.search(folded_pages[-1]):
            return number, folded_pages[-1]
    counts = [sum(bool(p.search(folded)) for p in singles) for folded in folded_pages]
    if not counts or max(counts) == 0:
        return None
    best = counts.index(max(counts))
    return best + 1, folded_pages[best]


def _snippet(text: str, folded: str, patterns: list[re.Pattern[str]]) -> str:
    """About SNIPPET_CHARS of `text` from a little before its first match, the matches
    marked. Only that stretch is searched for the marks."""
    firsts = [found.start() for p in patterns if (found := p.search(folded))]
    if not firsts:
        return " ".join(text[:SNIPPET_CHARS].split())
    start = max(0, min(firsts) - SNIPPET_CHARS // 3)
    end = min(len(text), start + SNIPPET_CHARS)
    # Searched a little beyond `end`, so that a word cut at `end` does not pass for a
    # whole one; a match that ends beyond `end` is not marked.
    stretch = min(len(folded), end + SNIPPET_CHARS)
    spans = sorted(m.span() for p in patterns for m in p.finditer(folded, start, stretch))
    pieces, cursor = [], start
    for left, right in spans:
        if left < cursor or right > end:
            continue
        pieces += [text[cursor:left], MARK_OPEN, text[left:right], MARK_CLOSE]
        cursor = right
    pieces.append(text[cursor:end])
    body = " ".join("".join(pieces).split())
    return ("…" if start else "") + body + ("…" if end < len(text) else "")


def rank(
    session: Session,
    candidates: list[tuple[int, float, str]],
    query: ParsedQuery,
    alternatives: Alternatives,
    limit: int,
) -> list[Hit]:
    """The best `limit` hits of the engines' candidates (record id, score, match kind):
    the query's words side by side on a page first (a name is found as a name, not as
    three words of three people), then the dossiers of a year the query names ("Nguyễn
    Văn Bình 2019": the 2019 dossier before a birth date in 2019), then the dossiers where
    the words recur side by side, then exact words before misread ones, then the engine's
    score (which ranks the user's own diacritics first)."""
    ids = [record_id for record_id, _score, _match in candidates]
    stored = select(SearchDoc.record_id, SearchDoc.folded, SearchDoc.year)
    docs = {
        row.record_id: row for row in session.execute(stored.where(SearchDoc.record_id.in_(ids)))
    }
    runs = _Runs(query, alternatives)
    ranked = [_Candidate(*candidate) for candidate in candidates]
    named = named_years(query)
    for candidate in ranked:
        doc = docs.get(candidate.record_id)
        _read_words(candidate, f" {doc.folded if doc else ''} ", runs)
        candidate.year_named = doc is not None and doc.year in named
    # A misread word counts only inside the whole name or title, side by side: alone, one
    # edit away from a short word is nearly any word.
    first, end = plain_run(query)
    ranked = [c for c in ranked if c.match != "fuzzy" or c.run >= max(1, end - first)]
    ranked.sort(key=lambda c: (-c.run, not c.year_named, -c.recurs, c.match == "fuzzy", -c.score))
    return _describe(session, ranked[:limit], _term_regexes(query, alternatives),
                     _term_regexes(query, NO_ALTERNATIVES))  # fmt: skip


def _describe(
    session: Session, ranked: list[_Candidate], terms: list[str], typed: list[str]
) -> list[Hit]:
    """Hits for the ranked candidates, each on its best page; a fuzzy hit marks the misread
    words it was found by (`terms`), the others only the words as typed."""
    ids = [candidate.record_id for candidate in ranked]
    pages = page_texts(session, ids)
    rows = {
        row.id: row
        for row in session.execute(
            select(Record.id, Record.uid, Record.state, Record.procedure, Record.output_path,
                   Record.meta, Batch.name.label("batch"), InventoryItem.code,
                   InventoryItem.title, InventoryItem.unit, InventoryItem.year)
            .join(Batch, Batch.id == Record.batch_id)
            .outerjoin(InventoryItem, InventoryItem.id == Record.inventory_item_id)
            .where(Record.id.in_(ids))
        )
    }  # fmt: skip
    term_patterns, typed_patterns = [_bounded(t) for t in terms], [_bounded(t) for t in typed]
    hits = []
    for candidate in ranked:
        row = rows[candidate.record_id]
        dossier = dossier_of(row.meta, row)
        best = _best_page(candidate, pages.get(row.id, []), terms, term_patterns)
        page = best[0] if best else None
        text = pages[row.id][page - 1] if page else dossier.title
        folded = best[1] if best else fold_same_length(dossier.title)
        hits.append(
            Hit(
                record_id=row.uid,
                code=dossier.code,
                title=dossier.title,
                procedure=row.procedure,
                year=dossier.year,
                state=row.state,
                batch=row.batch,
                score=float(f"{candidate.score:.4g}"),
                match=candidate.match,
                page=page,
                snippet=_snippet(
                    text, folded, term_patterns if candidate.match == "fuzzy" else typed_patterns
                ),
                path=row.output_path,
            )
        )
    return hits
