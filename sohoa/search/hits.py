"""What a hit shows: the record, its dossier, the page the query matched and a snippet
with the match marked, cut from the page's own text (not from the index)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa.records.models import Batch, InventoryItem, Record
from sohoa.search.engine import Alternatives
from sohoa.search.index import dossier_of, page_texts
from sohoa.search.parse import ParsedQuery
from sohoa.search.text import fold_same_length

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


def _patterns(query: ParsedQuery, alternatives: Alternatives) -> list[re.Pattern[str]]:
    found = []
    for term in query.terms:
        phrase = term.is_phrase
        words = [(w,) for w in term.folded] if phrase else [alternatives.of(term.folded[0])]
        parts = ["(?:" + "|".join(re.escape(w) for w in options) + ")" for options in words]
        tail = r"\w*" if term.prefix else r"(?!\w)"
        found.append(re.compile(r"(?<!\w)" + r"\W+".join(parts) + tail))
    return found


def _best_page(pages: list[str], patterns: list[re.Pattern[str]]) -> tuple[int | None, str]:
    best: tuple[int, int] | None = None  # (terms found, -page)
    for number, text in enumerate(pages, start=1):
        folded = fold_same_length(text)
        score = sum(1 for p in patterns if p.search(folded))
        if score and (best is None or score > best[0]):
            best = (score, number)
    if best is None:
        return None, ""
    return best[1], _snippet(pages[best[1] - 1], patterns)


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


def describe(
    session: Session,
    ranked: list[tuple[int, float, str]],
    query: ParsedQuery,
    alternatives: Alternatives,
) -> list[Hit]:
    """Hits for (record id, score, match kind), in that order."""
    ids = [record_id for record_id, _score, _match in ranked]
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
    pages = page_texts(session, ids)
    patterns = _patterns(query, alternatives)
    hits = []
    for record_id, score, match in ranked:
        row = rows[record_id]
        dossier = dossier_of(row.meta, row)
        page, snippet = _best_page(pages.get(record_id, []), patterns)
        hits.append(
            Hit(
                record_id=row.uid,
                code=dossier.code,
                title=dossier.title,
                procedure=row.procedure,
                year=dossier.year,
                state=row.state,
                batch=row.batch,
                score=round(score, 4),
                match=match,
                page=page,
                snippet=snippet or _snippet(dossier.title, patterns),
                path=row.output_path,
            )
        )
    return hits
