"""Search over the archive: the index kept in step with the records (SQLite FTS5 or
PostgreSQL tsvector), Vietnamese folding, query parsing, and the access log."""

from sohoa.records.search.hits import Hit
from sohoa.records.search.index import index_records, rebuild, refresh_items, sync_states
from sohoa.records.search.parse import ParsedQuery, Term, parse_query
from sohoa.records.search.service import (
    AccessEntry,
    SearchRequest,
    SearchResult,
    SearchSettings,
    access_log,
    find,
    find_in,
    log_search,
    reindex,
    search_in,
    search_settings,
)
from sohoa.records.search.text import fold, tokens

__all__ = [
    "AccessEntry",
    "Hit",
    "ParsedQuery",
    "SearchRequest",
    "SearchResult",
    "SearchSettings",
    "Term",
    "access_log",
    "find",
    "find_in",
    "fold",
    "index_records",
    "log_search",
    "parse_query",
    "rebuild",
    "refresh_items",
    "reindex",
    "search_in",
    "search_settings",
    "sync_states",
    "tokens",
]
