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
# PostgreSQL scores at most this many matches of a query, the newest: ts_rank detoasts
# each match's two tsvectors, and a common word matches a large share of the archive
# (EXPLAIN ANALYZE at 2*10^4 records: ranking 2527 matches of "nguyen van binh" took most
# of the query; capped at 400, 58 ms). A query matching more dossiers than this ranks only
# the newest ones; the final order (hits.rank) reads the pages of the pool anyway.
RANK_CAP = 400
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


def _text_query(
    session: Session,
    terms: Sequence[Term],
    alternatives: Alternatives,
    where: list[ColumnElement[bool]],
) -> Select:
    """The matches (filtered by `where`), best first; on PostgreSQL the newest RANK_CAP."""
    if session.get_bind().dialect.name == "sqlite":
        # All matches scored: FTS5 reads them from its doclists, and a subquery capping
        # them made FTS5 run the match once per row (measured 10x slower).
        fts = table(FTS_TABLE, column("rowid"))
        rank = literal_column(f"bm25({FTS_TABLE}, {EXACT_WEIGHT}, 1.0)")
        match = literal_column(FTS_TABLE).op("MATCH")(fts5_expression(terms, alternatives))
        return (
            select(SearchDoc.record_id, (-rank).label("score"))
            .join(fts, fts.c.rowid == SearchDoc.record_id)
            .where(match, *where)
            .order_by(rank)
        )
    # The folded words go through the same unaccent configuration as the documents.
    folded, exact = (
        func.to_tsquery(literal_column(f"'{config}'::regconfig"), literal(expression))
        for config, expression in zip(
            (TS_CONFIG, "simple"), tsquery_expressions(terms, alternatives), strict=True
        )
    )
    # Materialized: the matches come from the GIN index, never from walking the primary
    # key newest first and testing every row's tsvector.
    matched = (
        select(SearchDoc.record_id)
        .where(_FOLDED_TSV.op("@@")(folded), *where)
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )
    newest = select(matched.c.record_id).order_by(matched.c.record_id.desc()).limit(RANK_CAP)
    score = func.ts_rank(_FOLDED_TSV, folded) + EXACT_WEIGHT * func.ts_rank(_EXACT_TSV, exact)
    return (
        select(SearchDoc.record_id, score.label("score"))
        .where(SearchDoc.record_id.in_(newest))
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
    where = _conditions(query, filters)
    if excluded:
        where.append(SearchDoc.record_id.not_in(excluded))
    if query.terms:
        statement = _text_query(session, query.terms, alternatives, where)
    else:  # fields only: newest first
        statement = select(SearchDoc.record_id, literal_column("1.0").label("score")).order_by(
            SearchDoc.record_id.desc()
        )
        if where:
            statement = statement.where(and_(*where))
    return [(row[0], float(row[1])) for row in session.execute(statement.limit(limit))]
