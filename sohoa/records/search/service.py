"""`sohoa search`: one query, its hits, and its line in the access log, in one transaction."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.records.db import database_session
from sohoa.records.models import Batch, SearchAccess
from sohoa.records.search import engine, fuzzy, hits, index
from sohoa.records.search.parse import named_years, parse_query, side_by_side

CANDIDATES_PER_HIT = 3
MIN_CANDIDATES = 60


@dataclass(frozen=True)
class SearchSettings:
    max_query_chars: int = 500
    default_limit: int = 20
    max_limit: int = 1000
    fuzzy: bool = True  # also look for words OCR misread (ranked after the exact words)


def search_settings(settings: Settings) -> SearchSettings:
    """The `search` section of config.yaml (the one place it is read)."""
    return SearchSettings(**asdict(settings.search))


@dataclass(frozen=True)
class SearchRequest:
    text: str
    procedure: str | None = None
    unit: str | None = None
    year: int | None = None
    batch: str | None = None
    state: str | None = None
    limit: int | None = None

    def filters(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "text" and v is not None}


@dataclass(frozen=True)
class SearchResult:
    hits: list[hits.Hit]
    ignored: tuple[str, ...]  # field:value pairs that were not understood


@dataclass(frozen=True)
class AccessEntry:
    at: dt.datetime
    os_user: str
    database_role: str | None
    query: str
    filters: dict[str, Any]
    hits: int


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid {os.getuid()}"


def find_in(session: Session, request: SearchRequest, config: SearchSettings) -> SearchResult:
    """Run the query and write its access-log line in `session`'s transaction."""
    result = search_in(session, request, config)
    log_search(session, request, len(result.hits))
    return result


def search_in(session: Session, request: SearchRequest, config: SearchSettings) -> SearchResult:
    """Run the query, writing nothing: the caller logs it (`log_search`), in this session or
    another (`sohoa serve` reads on a read-only connection and logs on a writer)."""
    if any("\x00" in value for value in asdict(request).values() if isinstance(value, str)):
        raise SohoaError("the query or a filter contains a NUL character: remove it")
    query = parse_query(request.text, config.max_query_chars)
    limit = config.default_limit if request.limit is None else request.limit
    if not 1 <= limit <= config.max_limit:
        raise SohoaError(f"--limit must be from 1 to {config.max_limit}")
    batch_id = None
    if request.batch:
        batch_id = session.scalar(select(Batch.id).where(Batch.name == request.batch))
        if batch_id is None:
            raise SohoaError(f"no batch named {request.batch!r}")
    filters = engine.Filters(request.procedure, request.unit, request.year, batch_id,
                             request.state)  # fmt: skip
    # Candidates beyond the limit: the final order looks at the words on the pages.
    pool = min(max(limit * CANDIDATES_PER_HIT, MIN_CANDIDATES), config.max_limit)
    match = "text" if query.terms else "field"
    # A name as a name first, then its words anywhere, then with misread words; each in
    # the dossiers of the year the query names first, if it names one (a common name
    # fills any pool with other years).
    years = named_years(query)
    in_year = [replace(filters, year=years.pop())] if len(years) == 1 and not filters.year else []
    plans = [(v, where) for v in (side_by_side(query), query) if v is not None
             for where in (*in_year, filters)]  # fmt: skip
    ranked: list[tuple[int, float, str]] = []
    filled = False  # the most specific pass alone filled the page: wider ones rank after it
    for number, (variant, where) in enumerate(plans):
        found = [r for r, _s, _m in ranked]
        more = engine.run(session, variant, where, pool, excluded=found)
        ranked += [(r, s, match) for r, s in more]
        filled = number == 0 and len(ranked) >= limit
        if filled:
            break
    alternatives = engine.NO_ALTERNATIVES
    words = fuzzy.fuzzy_words(query.terms)
    if config.fuzzy and words and not filled:
        alternatives = fuzzy.alternatives(session, words)
        for where in (*in_year, filters) if alternatives.by_word else ():
            found = [r for r, _s, _m in ranked]
            more = engine.run(session, query, where, pool, alternatives=alternatives,
                              excluded=found)  # fmt: skip
            ranked += [(r, s, "fuzzy") for r, s in more]
    result = hits.rank(session, ranked, query, alternatives, limit)
    return SearchResult(result, query.ignored)


def log_search(
    session: Session, request: SearchRequest, found: int, who: str | None = None
) -> None:
    """The access-log line of a search: `who` searched (default: the OS user). An INSERT
    statement, as accounts.log_access's: one on every web search."""
    line = {"os_user": who or _os_user(), "database_role": _database_role(session),
            "query": request.text, "filters": request.filters(), "hits": found}  # fmt: skip
    session.execute(insert(SearchAccess).values(line))


def _database_role(session: Session) -> str | None:
    """PostgreSQL's role of the session's connection, asked once per pooled connection
    (sohoa never changes it with SET ROLE): one round trip fewer per web search."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    remembered = session.connection().info
    if "database_role" not in remembered:
        remembered["database_role"] = session.scalar(select(func.current_user()))
    return remembered["database_role"]


def find(settings: Settings, request: SearchRequest) -> SearchResult:
    with database_session(settings.database_url) as session:
        return find_in(session, request, search_settings(settings))


def reindex(settings: Settings) -> int:
    """Rebuild the whole index from the records database; returns the records indexed."""
    with database_session(settings.database_url) as session:
        return index.rebuild(session)


def access_log(settings: Settings, limit: int = 100) -> list[AccessEntry]:
    """The newest searches first, for an auditor."""
    with database_session(settings.database_url) as session:
        rows = session.scalars(
            select(SearchAccess).order_by(SearchAccess.id.desc()).limit(limit)
        ).all()
        return [AccessEntry(r.at, r.os_user, r.database_role, r.query, r.filters, r.hits)
                for r in rows]  # fmt: skip
