"""Engine queries built from parsed terms, never from the user's text: every token is a run
of letters and digits (sohoa.records.search.text), quoted for FTS5 or tsquery, so no operator,
quote, colon or backslash the user typed can reach either engine."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.orm import Session

from sohoa.records.db import pair_tokens
from sohoa.records.models import SearchDoc, SearchIdentifier
from sohoa.records.search.parse import ParsedQuery, Term
from sohoa.records.search.schema import FTS_TABLE, TS_CONFIG
from sohoa.records.search.text import facet, fold

# How much a match with the user's own diacritics counts over a folded one.
EXACT_WEIGHT = 4.0
# Both engines score at most this many matches of a query, the newest: scoring (bm25,
# ts_rank) reads each match's positions or tsvectors, and a common word matches a large
# share of the archive. SQLite at 10^5 records, a given name matching every dossier: bm25
# over all matches 63 ms (139 ms joined to search_docs), over the newest 400 4.7 ms.
# PostgreSQL at 2*10^4, "nguyen van binh": ranking 2527 matches took most of the query,
# capped at 400 58 ms. A query matching more dossiers than this ranks only the newest
# ones; the final order (hits.rank) reads the pages of the pool anyway.
RANK_CAP = 400
# PostgreSQL looks for them among this many newest documents first (_newest), then further
# back as far as the matches found there say it needs, before asking its indexes for every
# match: "tran hung dao" at 10^6 records matches 66423 documents, 136 of the newest 2000;
# all of them took 163 ms to read (58705 heap pages), the newest 8000 or so 12 ms.
FIRST_WINDOW = 2_000
MAX_WINDOWS = 3
# PostgreSQL, for a search's transaction. Memory for its bitmaps: with the default 4 MB the
# bitmap of a word in a quarter of 10^6 documents went lossy, and each row of the lossy
# pages had its tsvector read again (word + procedure + year: 19729 rows rechecked, 150k
# buffers, 281 ms). A plan for each query's own words: psycopg prepares a statement run
# five times, and PostgreSQL may then keep one generic plan for any words; one-word queries
# at 10^6 records took 40-92 ms from the fifth or so of a process on ("Minh" 92 ms, 12 ms
# planned for its word), median 13 ms planned each time. Read-ahead for its bitmap heap
# scans, whose pages are scattered: right after a restart with the OS cache dropped, 40
# queries per kind at 10^6, name p95 196 -> 86 ms, word + procedure + year p50 131 -> 98.
_SETTINGS = (("work_mem", "32MB"), ("plan_cache_mode", "force_custom_plan"),
             ("effective_io_concurrency", "64"))  # fmt: skip
# Columns only PostgreSQL has (sohoa.records.search.schema).
_FOLDED_TSV = literal_column("search_docs.folded_tsv")
_EXACT_TSV = literal_column("search_docs.exact_tsv")
_PAIRS_TSV = literal_column("search_docs.pairs_tsv")


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


def _facets(query: ParsedQuery, filters: Filters) -> list[str]:
    """The filters SQLite's FTS5 matches as tokens (sohoa.records.search.text.facet)."""
    found = [facet("p", filters.procedure)] if filters.procedure else []
    if filters.unit:
        found.append(facet("u", filters.unit))
    found += [facet("y", year) for year in sorted({filters.year, query.year} - {None})]
    if filters.batch_id is not None:
        found.append(facet("b", filters.batch_id))
    return found


def _filter_sides(query: ParsedQuery, filters: Filters) -> list[list[ColumnElement[bool]]]:
    """The filters of _facets as conditions on search_docs' columns, one list for each side
    of the procedure filter (the catalogue key, or the national code); [] for no filter."""
    where: list[ColumnElement[bool]] = []
    if filters.unit:
        where.append(SearchDoc.unit == filters.unit)
    for year in {filters.year, query.year} - {None}:
        where.append(SearchDoc.year == year)
    if filters.batch_id is not None:
        where.append(SearchDoc.batch_id == filters.batch_id)
    if filters.procedure:
        return [[column == filters.procedure, *where]
                for column in (SearchDoc.procedure, SearchDoc.procedure_code)]  # fmt: skip
    return [where] if where else []


def _filter_columns(query: ParsedQuery, filters: Filters) -> list[ColumnElement[bool]]:
    """The filters as one condition (none without filters)."""
    sides = _filter_sides(query, filters)
    return [or_(*(and_(*side) for side in sides))] if sides else []


def _conditions(query: ParsedQuery, filters: Filters) -> list[ColumnElement[bool]]:
    """The state and exact fields, always tested on search_docs and search_identifiers
    (sync_states changes a state without reindexing the text)."""
    where: list[ColumnElement[bool]] = []
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
    """`(exact : "..." OR folded : "...") AND ...`; alternatives only ever widen a word. A
    phrase goes by its word pairs, `folded_pairs : "nguyen_van van_binh"`: the same
    documents and the same count of matches per document as the phrase of words (pair i
    stands at word i), so bm25 scores as it did (schema._SQLITE says why it is faster)."""
    parts = []
    for term in terms:
        if term.is_phrase:
            exact, folded = pair_tokens(term.exact), pair_tokens(term.folded)
            columns = ("exact_pairs", "folded_pairs")
        else:
            exact, folded = list(term.exact), list(term.folded)
            columns = ("exact", "folded")
        options = [f"{columns[1]} : {_fts_phrase(folded, term.prefix)}"]
        if not term.is_phrase and not term.prefix:
            words = alternatives.of(term.folded[0])
            options = [f"folded : {_fts_phrase([w], False)}" for w in words]
        if term.exact != term.folded:
            options.insert(0, f"{columns[0]} : {_fts_phrase(exact, term.prefix)}")
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


def _pairs(term: Term) -> list[tuple[str, str]]:
    """The whole words of a phrase, two by two ("nguyen van binh": nguyen van, van binh)."""
    return list(itertools.pairwise(term.folded[:-1] if term.prefix else term.folded))


def tsquery_pairs(terms: Sequence[Term]) -> str:
    """The word pairs of the query's phrases as a tsquery over pairs_tsv (schema.PAIRS):
    `'nguyen van' & 'van binh'`; empty when no phrase has two whole words."""
    return " & ".join(f"'{left} {right}'" for term in terms for left, right in _pairs(term))


def _text_query(
    session: Session,
    query: ParsedQuery,
    filters: Filters,
    alternatives: Alternatives,
    where: list[ColumnElement[bool]],
    excluded: list[ColumnElement[bool]],
) -> Select:
    """The matches (filtered by `filters` and `where`, less `excluded`), the newest
    RANK_CAP of them, best first."""
    terms = query.terms
    if session.get_bind().dialect.name == "sqlite":
        fts = table(FTS_TABLE, column("rowid"))
        expression = fts5_expression(terms, alternatives)
        expression += "".join(f" AND folded : {token}" for token in _facets(query, filters))
        match = literal_column(FTS_TABLE).op("MATCH")(expression)
        where = [*where, *excluded]
        # FTS5's rowids are the record ids: joined to search_docs only to test a condition
        # there. Without one, a web search of a name at 10^5 records took 0.36 ms for its
        # cap instead of 0.80-1.09 joined, and scoring the matches 1.3 ms instead of 2.7.
        matches = (
            select(SearchDoc.record_id).join(fts, fts.c.rowid == SearchDoc.record_id)
            if where
            else select(fts.c.rowid.label("record_id")).select_from(fts)
        )
        # Two statements: FTS5 walks its doclists newest first and stops at the cap, then
        # scores from that rowid up (a rowid range it seeks to). A subquery capping the
        # matches made FTS5 run the match once per row (measured 10x slower).
        floor = session.scalar(
            matches.where(match, *where).order_by(fts.c.rowid.desc())
            .offset(RANK_CAP - 1).limit(1)
        )  # fmt: skip
        if floor is not None:
            where.append(fts.c.rowid >= floor)
        # Weights of the columns exact, folded, exact_pairs, folded_pairs.
        rank = literal_column(f"bm25({FTS_TABLE}, {EXACT_WEIGHT}, 1.0, {EXACT_WEIGHT}, 1.0)")
        return matches.add_columns((-rank).label("score")).where(match, *where).order_by(rank)
    # The folded words go through the same unaccent configuration as the documents.
    folded, exact = (
        func.to_tsquery(literal_column(f"'{config}'::regconfig"), literal(expression))
        for config, expression in zip(
            (TS_CONFIG, "simple"), tsquery_expressions(terms, alternatives), strict=True
        )
    )
    # Candidates first, through conditions the GIN indexes answer without reading a row:
    # a phrase by its word pairs. Testing a phrase's positions reads the row's tsvector
    # (TOAST): "tran hung dao" at 10^5 records, 6796 matches, 183 ms; so only the newest
    # candidates are tested, when the matches are scored. Filters and fields narrow them
    # by their own indexes (_newest_filtered).
    text: list[ColumnElement[bool]] = []
    pairs = tsquery_pairs(terms)
    if pairs:
        text.append(_PAIRS_TSV.op("@@")(cast(literal(pairs), TSQUERY)))
    rest = [term for term in terms if not _pairs(term)]
    if rest:
        words = func.to_tsquery(literal_column(f"'{TS_CONFIG}'::regconfig"),
                                literal(tsquery_expressions(rest, alternatives)[0]))  # fmt: skip
        text.append(_FOLDED_TSV.op("@@")(words))
    session.execute(select(*(func.set_config(name, value, True) for name, value in _SETTINGS)))
    sides = _filter_sides(query, filters)
    if sides or where:
        newest = _newest_filtered(session, [[*side, *where, *excluded, *text]
                                            for side in sides or [[]]])  # fmt: skip
    else:
        newest = _newest(session, [*excluded, *text])
    if newest is None:
        # Materialized: the candidates come from the GIN indexes, never from walking the
        # primary key newest first and testing every row's tsvector.
        matched = (
            select(SearchDoc.record_id)
            .where(*excluded, *text)
            .cte("matched")
            .prefix_with("MATERIALIZED")
        )
        newest = select(matched.c.record_id).order_by(matched.c.record_id.desc()).limit(RANK_CAP)
    score = func.ts_rank(_FOLDED_TSV, folded) + EXACT_WEIGHT * func.ts_rank(_EXACT_TSV, exact)
    if isinstance(newest, list):
        # One array parameter, not IN with one parameter per id: rendering and sending 400
        # parameters cost ~1.5 ms of Python a search, and a statement whose text changes
        # with the count is never prepared.
        chosen = SearchDoc.record_id == any_(bindparam("newest", newest, type_=ARRAY(Integer)))
    else:
        chosen = SearchDoc.record_id.in_(newest)
    return (
        select(SearchDoc.record_id, score.label("score"))
        .where(chosen, _FOLDED_TSV.op("@@")(folded))
        .order_by(score.desc())
    )


def _newest(session: Session, candidates: list[ColumnElement[bool]]) -> list[int] | None:
    """The newest RANK_CAP candidates (or all of them) when they are among the newest
    documents, else None. A word in most dossiers (a given name, "cong") has its RANK_CAP
    newest matches among the first FIRST_WINDOW; testing them walking the primary key (at
    10^5 records: 9-11 ms for 2000) is far cheaper than visiting every match the GIN index
    gives (23527 for "uyen": 835 ms). Fewer matches there give the density to look further
    back with; none, a term so rare that all its matches are few."""
    top = session.scalar(select(func.max(SearchDoc.record_id)))
    window = FIRST_WINDOW
    for _ in range(MAX_WINDOWS if top is not None else 0):
        found = session.scalars(
            select(SearchDoc.record_id)
            .where(SearchDoc.record_id > top - window, *candidates)
            .order_by(SearchDoc.record_id.desc())
            .limit(RANK_CAP)
        ).all()
        if len(found) == RANK_CAP or top <= window:  # or the window held every document
            return list(found)
        if not found:
            return None
        # Twice as far back as the density found says RANK_CAP needs: one more look, mostly.
        window = window * 2 * RANK_CAP // len(found)
        if window >= top:
            return None
    return None


def _newest_filtered(session: Session, sides: list[list[ColumnElement[bool]]]) -> list[int]:
    """The newest RANK_CAP documents that meet one of `sides`, each asked for apart: an OR
    of the procedure's key and code columns can be read in record order from neither of
    their indexes (migration 0014). In order, PostgreSQL walks a procedure and year's
    documents newest first and tests a common word on each, or intersects a rare word's
    GIN bitmap with them: it chooses by the word's frequency. At 10^6 records, "thu" (in
    611607 documents) with a procedure and year of 5729: 18 ms walking, 76 ms intersecting."""
    found: set[int] = set()
    for side in sides:
        newest = select(SearchDoc.record_id).where(*side).order_by(SearchDoc.record_id.desc())
        found.update(session.scalars(newest.limit(RANK_CAP)))
    return sorted(found, reverse=True)[:RANK_CAP]


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
    exclusion = [SearchDoc.record_id.not_in(excluded)] if excluded else []
    if query.terms:
        statement = _text_query(session, query, filters, alternatives, where, exclusion)
    else:  # fields only: newest first
        statement = select(SearchDoc.record_id, literal_column("1.0").label("score")).order_by(
            SearchDoc.record_id.desc()
        )
        where += [*_filter_columns(query, filters), *exclusion]
        if where:
            statement = statement.where(and_(*where))
    return [(row[0], float(row[1])) for row in session.execute(statement.limit(limit))]
