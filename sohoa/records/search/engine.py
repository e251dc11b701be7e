"""Engine queries built from parsed terms, never from the user's text: every token is a run
of letters and digits (sohoa.records.search.text), quoted for FTS5 or tsquery, so no operator,
quote, colon or backslash the user typed can reach either engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session

from sohoa.records.models import SearchDoc, SearchIdentifier
from sohoa.records.search.parse import ParsedQuery, Term
from sohoa.records.search.schema import FTS_TABLE, TS_CONFIG
from sohoa.records.search.text import fold

# How much a match with the user's own diacritics counts over a folded one.
EXACT_WEIGHT = 4.0
# Columns only PostgreSQL has (sohoa.records.search.schema).
_FOLDED_TSV = literal_column("search_docs.folded_tsv")
_EXACT_TSV = literal_column("search_docs.exact_tsv")


@dataclass(frozen=True)
class Filters:
    procedure: str | None = None  # catalogue key or national code
    unit: str | None = None
    year: int | None = None
    batch_id: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class Alternatives:
    """Words a term may also be, because OCR may have misread it (sohoa.records.search.fuzzy)."""

    by_word: dict[str, tuple[str, ...]]

    def of(self, word: str) -> tuple[str, ...]:
        return (word, *self.by_word.get(word, ()))


NO_ALTERNATIVES = Alternatives({})


def _conditions(query: ParsedQuery, filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.procedure:
        where.append(or_(SearchDoc.procedure == filters.procedure,
                         SearchDoc.procedure_code == filters.procedure))  # fmt: skip
    if filters.unit:
        where.append(SearchDoc.unit == filters.unit)
    for year in {filters.year, query.year} - {None}:
        where.append(SearchDoc.year == year)
    if filters.batch_id is not None:
        where.append(SearchDoc.batch_id == filters.batch_id)
    if filters.state:
        where.append(SearchDoc.state == filters.state)
    if query.code:
        where.append(SearchDoc.code == fold(query.code))
    exact = ((("cccd", "cmnd"), query.cccd), (("so",), query.doc_number), (("date",), query.date))
    for kinds, value in exact:
        if value:
            where.append(
                SearchDoc.record_id.in_(
                    select(SearchIdentifier.record_id).where(
                        SearchIdentifier.kind.in_(kinds), SearchIdentifier.value == value
                    )
                )
            )
    return where


def _fts_phrase(words: Sequence[str], prefix: bool) -> str:
    return '"' + " ".join(words) + '"' + (" *" if prefix else "")


def fts5_expression(terms: Sequence[Term], alternatives: Alternatives) -> str:
    """`(exact : "..." OR folded : "...") AND ...`; alternatives only ever widen a word."""
    parts = []
    for term in terms:
        options = [f"folded : {_fts_phrase(term.folded, term.prefix)}"]
        if not term.is_phrase and not term.prefix:
            words = alternatives.of(term.folded[0])
            options = [f"folded : {_fts_phrase([w], False)}" for w in words]
        if term.exact != term.folded:
            options.insert(0, f"exact : {_fts_phrase(term.exact, term.prefix)}")
        parts.append("(" + " OR ".join(options) + ")")
    return " AND ".join(parts)


def _tsquery_phrase(words: Sequence[str], prefix: bool) -> str:
    quoted = [f"'{w}'" for w in words]
    if prefix:
        quoted[-1] += ":*"
    return "(" + " <-> ".join(quoted) + ")"


def tsquery_expressions(terms: Sequence[Term], alternatives: Alternatives) -> tuple[str, str]:
    """(folded, exact) tsquery texts: the folded one matches, the exact one only ranks."""
    folded, exact = [], []
    for term in terms:
        if term.is_phrase or term.prefix:
            folded.append(_tsquery_phrase(term.folded, term.prefix))
        else:
            folded.append("(" + " | ".join(f"'{w}'" for w in alternatives.of(term.folded[0])) + ")")
        exact.append(_tsquery_phrase(term.exact, term.prefix))
    return " & ".join(folded), " | ".join(exact)


def _text_query(session: Session, terms: Sequence[Term], alternatives: Alternatives) -> Select:
    if session.get_bind().dialect.name == "sqlite":
        fts = table(FTS_TABLE, column("rowid"))
        rank = literal_column(f"bm25({FTS_TABLE}, {EXACT_WEIGHT}, 1.0)")
        return (
            select(SearchDoc.record_id, (-rank).label("score"))
            .join(fts, fts.c.rowid == SearchDoc.record_id)
            .where(literal_column(FTS_TABLE).op("MATCH")(fts5_expression(terms, alternatives)))
            .order_by(rank)
        )
    # The folded words go through the same unaccent configuration as the documents.
    folded, exact = (
        func.to_tsquery(literal_column(f"'{config}'::regconfig"), literal(expression))
        for config, expression in zip(
            (TS_CONFIG, "simple"), tsquery_expressions(terms, alternatives), strict=True
        )
    )
    score = func.ts_rank(_FOLDED_TSV, folded) + EXACT_WEIGHT * func.ts_rank(_EXACT_TSV, exact)
    return (
        select(SearchDoc.record_id, score.label("score"))
        .where(_FOLDED_TSV.op("@@")(folded))
        .order_by(score.desc())
    )


def run(
    session: Session,
    query: ParsedQuery,
    filters: Filters,
    limit: int,
    *,
    alternatives: Alternatives = NO_ALTERNATIVES,
    excluded: Sequence[int] = (),
) -> list[tuple[int, float]]:
    """(record id, score) of the best `limit` matches, best first."""
    if query.terms:
        statement = _text_query(session, query.terms, alternatives)
    else:  # fields only: newest first
        statement = select(SearchDoc.record_id, literal_column("1.0").label("score")).order_by(
            SearchDoc.record_id.desc()
        )
    where = _conditions(query, filters)
    if excluded:
        where.append(SearchDoc.record_id.not_in(excluded))
    if where:
        statement = statement.where(and_(*where))
    return [(row[0], float(row[1])) for row in session.execute(statement.limit(limit))]
