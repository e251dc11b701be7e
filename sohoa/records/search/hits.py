"""What a hit shows: the record, its dossier, the page the query matched and a snippet
with the match marked, cut from the page's own text (not from the index)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa.records.models import Batch, InventoryItem, Record, SearchDoc
from sohoa.records.search.engine import NO_ALTERNATIVES, Alternatives
from sohoa.records.search.index import dossier_of, page_texts
from sohoa.records.search.parse import ParsedQuery, named_years, plain_run
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
    """One regex per term over folded text: the word or its alternatives, or the phrase."""
    found = []
    for term in query.terms:
        phrase = term.is_phrase
        words = [(w,) for w in term.folded] if phrase else [alternatives.of(term.folded[0])]
        parts = ["(?:" + "|".join(re.escape(w) for w in options) + ")" for options in words]
        found.append(r"\W+".join(parts) + (r"\w*" if term.prefix else ""))
    return found


def _bounded(source: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + source + r"(?!\w)")


@dataclass
class _Candidate:
    record_id: int
    score: float
    match: str
    run: int = 0  # most query terms found side by side on one page ("Nguyễn Văn Bình")
    page: int | None = None
    year_named: bool = False  # the dossier's year is a word of the query
    recurs: int = 0  # times the words stand side by side in the dossier


def _read_pages(candidate: _Candidate, pages: list[str], terms: list[str]) -> None:
    """Where the candidate's best page is, how many terms stand there in a row, and how
    often that row recurs in the dossier (an applicant's name is on the form, the ID card
    copy and the signature; a relative's once)."""
    singles = [_bounded(t) for t in terms]
    folded_pages = [fold_same_length(text) for text in pages]
    best = (0, 0)  # (run, terms found)
    best_row = ""
    for number, folded in enumerate(folded_pages, start=1):
        present = [bool(p.search(folded)) for p in singles]
        run, row = (1, "") if any(present) else (0, "")
        for start in range(len(terms)):
            for end in range(len(terms), start + run, -1):  # longest first, beyond the best
                joined = r"\W+".join(terms[start:end])
                if all(present[start:end]) and _bounded(joined).search(folded):
                    run, row = end - start, joined
                    break
        if (run, sum(present)) > best:
            best, best_row = (run, sum(present)), row
            candidate.page = number
    candidate.run = best[0]
    if best_row:
        pattern = _bounded(best_row)
        candidate.recurs = sum(len(pattern.findall(folded)) for folded in folded_pages)


def _snippet(text: str, patterns: list[re.Pattern[str]]) -> str:
    folded = fold_same_length(text)
    spans = sorted(m.span() for p in patterns for m in p.finditer(folded))
    if not spans:
        return " ".join(text[:SNIPPET_CHARS].split())
    start = max(0, spans[0][0] - SNIPPET_CHARS // 3)
    end = min(len(text), start + SNIPPET_CHARS)
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
    pages = page_texts(session, ids)
    terms = _term_regexes(query, alternatives)
    ranked = [_Candidate(*candidate) for candidate in candidates]
    named = named_years(query)
    years: dict[int, int | None] = {}
    if named:
        chosen = select(SearchDoc.record_id, SearchDoc.year).where(SearchDoc.record_id.in_(ids))
        years = dict(session.execute(chosen).tuples().all())
    for candidate in ranked:
        _read_pages(candidate, pages.get(candidate.record_id, []), terms)
        candidate.year_named = years.get(candidate.record_id) in named
    # A misread word counts only inside the whole name or title, side by side: alone, one
    # edit away from a short word is nearly any word.
    first, end = plain_run(query)
    ranked = [c for c in ranked if c.match != "fuzzy" or c.run >= max(1, end - first)]
    ranked.sort(key=lambda c: (-c.run, not c.year_named, -c.recurs, c.match == "fuzzy", -c.score))
    marks = {
        "fuzzy": [_bounded(t) for t in terms],
        "text": [_bounded(t) for t in _term_regexes(query, NO_ALTERNATIVES)],
    }
    return _describe(session, ranked[:limit], pages, marks)


def _describe(
    session: Session,
    ranked: list[_Candidate],
    pages: dict[int, list[str]],
    marks: dict[str, list[re.Pattern[str]]],
) -> list[Hit]:
    """Hits for the ranked candidates; a fuzzy hit marks the misread words it was found by,
    the others only the words as typed."""
    ids = [candidate.record_id for candidate in ranked]
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
    hits = []
    for candidate in ranked:
        row = rows[candidate.record_id]
        dossier = dossier_of(row.meta, row)
        page = candidate.page
        text = pages[row.id][page - 1] if page else dossier.title
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
                snippet=_snippet(text, marks["fuzzy" if candidate.match == "fuzzy" else "text"]),
                path=row.output_path,
            )
        )
    return hits
