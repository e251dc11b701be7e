"""Keeping the index in step with the archive, in the caller's transaction.

Called by sohoa.records.store (archive, failure, review), sohoa.records.inventory (register
import and links) and migration 0006. The queries select named columns only (Core, not
the ORM), so that the migration's backfill keeps working when later migrations add columns.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from sohoa.records.models import (
    InventoryItem,
    Page,
    Record,
    SearchDoc,
    SearchIdentifier,
    SearchTerm,
)
from sohoa.records.search.text import (
    dates,
    doc_number_key,
    facet,
    fold,
    identifiers,
    index_text,
)

# Core tables, not the ORM classes: the ORM's per-statement work (bulk paths, session
# synchronisation) cost more than the statements themselves on the per-record path.
_DOCS = SearchDoc.__table__
_IDS = SearchIdentifier.__table__
_TERMS = SearchTerm.__table__
CHUNK = 500  # records per round trip when many are (re)indexed
# Words kept for fuzzy lookups: letters only (numbers are matched exactly), of a length
# where a misread letter still leaves a recognisable word.
FUZZY_MIN, FUZZY_MAX = 2, 12
_DOC_NUMBER_FIELDS = 80  # search_identifiers.value length

# The per-record path (every archived record runs it inside its commit) uses statements
# built once: building and compiling them again cost more than running them (profiled:
# about half of the ~10 ms a record took on SQLite was SQLAlchemy constructing statements).
_IDS_PARAM = bindparam("ids", expanding=True)
_READ = (
    select(Record.id, Record.batch_id, Record.state, Record.procedure, Record.procedure_code,
           Record.meta, InventoryItem.code, InventoryItem.title, InventoryItem.unit,
           InventoryItem.year)
    .outerjoin(InventoryItem, InventoryItem.id == Record.inventory_item_id)
    .where(Record.id.in_(_IDS_PARAM))
)  # fmt: skip
_PAGES = (
    select(Page.record_id, Page.text)
    .where(Page.record_id.in_(_IDS_PARAM))
    .order_by(Page.record_id, Page.index)
)
_DELETE_IDS = delete(_IDS).where(_IDS.c.record_id.in_(_IDS_PARAM))
_DELETE_DOCS = delete(_DOCS).where(_DOCS.c.record_id.in_(_IDS_PARAM))
# PostgreSQL: both deletes in one round trip.
_DELETE_BOTH_PG = text(
    "WITH gone AS (DELETE FROM search_identifiers WHERE record_id = ANY(:ids)) "
    "DELETE FROM search_docs WHERE record_id = ANY(:ids)"
)
# PostgreSQL: new words only, in one statement over an array. Row by row ON CONFLICT took
# a sequence value and a speculative insertion per word, known or not (~9 ms a record).
_ADD_TERMS_PG = text(
    "INSERT INTO search_terms (term) SELECT DISTINCT t FROM unnest(CAST(:terms AS text[])) AS t "
    "WHERE NOT EXISTS (SELECT 1 FROM search_terms s WHERE s.term = t) ON CONFLICT DO NOTHING"
)
# SQLite: straight to the driver's executemany; SQLAlchemy building a parameter set per
# word cost ~1 ms a record.
_ADD_TERMS_SQLITE = "INSERT INTO search_terms (term) VALUES (?) ON CONFLICT DO NOTHING"


def _chunks(ids: Iterable[int | None]) -> Iterator[list[int]]:
    unique = sorted({i for i in ids if i is not None})
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]


def index_records(session: Session, record_ids: Iterable[int | None]) -> None:
    """(Re)build the index entries of these records from their pages, metadata and register
    item; a record without pages (never archived) has none."""
    for chunk in _chunks(record_ids):
        _index_chunk(session, chunk)


def sync_states(session: Session, record_ids: Iterable[int | None]) -> None:
    """Copy the records' state to their index entries (the text did not change)."""
    for chunk in _chunks(record_ids):
        state = select(Record.state).where(Record.id == _DOCS.c.record_id).scalar_subquery()
        session.execute(update(_DOCS).where(_DOCS.c.record_id.in_(chunk)).values(state=state))


def refresh_items(session: Session, item_ids: Iterable[int | None]) -> None:
    """Reindex the records linked to these register items (their title, code, unit or year
    changed)."""
    for chunk in _chunks(item_ids):
        linked = select(Record.id).where(Record.inventory_item_id.in_(chunk))
        index_records(session, session.scalars(linked))


def rebuild(session: Session) -> int:
    """Drop and rebuild the whole index; returns the number of records indexed."""
    for table in (_IDS, _DOCS, _TERMS):
        session.execute(delete(table))
    last = 0
    while True:  # keyset pages: memory stays flat at 10^6 records
        ids = list(
            session.scalars(
                select(Page.record_id).where(Page.record_id > last).distinct()
                .order_by(Page.record_id).limit(CHUNK)
            )
        )  # fmt: skip
        if not ids:
            break
        _index_chunk(session, ids, fresh=True)
        last = ids[-1]
    return session.scalar(select(func.count()).select_from(SearchDoc)) or 0


def page_texts(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """The OCR text of each record's pages, in page order (NFC)."""
    texts: dict[int, list[str]] = {}
    for record_id, page in session.execute(_PAGES, {"ids": ids}):
        texts.setdefault(record_id, []).append(unicodedata.normalize("NFC", page or ""))
    return texts


def _index_chunk(session: Session, ids: list[int], fresh: bool = False) -> None:
    postgresql = session.get_bind().dialect.name == "postgresql"
    records = session.execute(_READ, {"ids": ids}).all()
    texts = page_texts(session, ids)
    if not fresh and postgresql:
        session.execute(_DELETE_BOTH_PG, {"ids": ids})
    elif not fresh:
        session.execute(_DELETE_IDS, {"ids": ids})
        session.execute(_DELETE_DOCS, {"ids": ids})
    docs: list[dict[str, Any]] = []
    found: list[dict[str, Any]] = []
    words: set[str] = set()
    for row in records:
        pages = texts.get(row.id)
        if not pages:
            continue
        doc, doc_ids = _document(row, pages)
        words |= set(doc["folded"].split())
        if not postgresql:  # PostgreSQL filters on the columns, through their indexes
            doc["folded"] = " ".join([doc["folded"], *_facets(doc)])
        docs.append(doc)
        found += doc_ids
    if docs:
        session.execute(_DOCS.insert(), docs)
    if found:
        session.execute(_IDS.insert(), found)
    words = {w for w in words if FUZZY_MIN <= len(w) <= FUZZY_MAX and w.isalpha()}
    _add_terms(session, words, postgresql)


@dataclass(frozen=True)
class Dossier:
    code: str | None
    title: str
    unit: str | None
    year: int | None


def dossier_of(meta: dict[str, Any] | None, item: Any) -> Dossier:
    """The record's dossier from its register item (code, title, unit, year columns of a
    row, None when unlinked), else from the register values it was archived with."""
    meta = meta or {}
    kept = meta.get("register") or {}
    year = item.year if item.year is not None else kept.get("year")
    return Dossier(
        code=item.code or kept.get("code"),
        title=item.title or kept.get("title") or meta.get("title") or "",
        unit=item.unit or kept.get("unit"),
        year=year if isinstance(year, int) else None,
    )


def _document(row: Any, pages: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dossier = dossier_of(row.meta, row)
    fields = [dossier.code or "", dossier.title, str(dossier.year or ""), dossier.unit or ""]
    text = index_text([*fields, *pages])
    doc = {
        "record_id": row.id,
        "batch_id": row.batch_id,
        "state": row.state,
        "procedure": row.procedure,
        "procedure_code": row.procedure_code,
        "unit": dossier.unit,
        "year": dossier.year,
        "code": fold(dossier.code) if dossier.code else None,
        "exact": text.exact,
        "folded": text.folded,
    }
    # One pass over all pages (NUL between them: no pattern crosses it).
    joined = "\x00".join(pages)
    kinds = {("date", day) for day in dates(joined)}
    kinds.update(identifiers(joined))
    numbers = (row.meta or {}).get("doc_numbers") or ()
    kinds |= {("so", doc_number_key(n)[:_DOC_NUMBER_FIELDS]) for n in numbers}
    return doc, [{"record_id": row.id, "kind": k, "value": v} for k, v in sorted(kinds)]


def _facets(doc: dict[str, Any]) -> list[str]:
    """The filter tokens after the folded words (sohoa.records.search.engine matches them
    on SQLite); the procedure filter takes the catalogue key or the national code."""
    values = [("p", doc["procedure"]), ("p", doc["procedure_code"]), ("u", doc["unit"]),
              ("y", doc["year"]), ("b", doc["batch_id"])]  # fmt: skip
    return [facet(kind, value) for kind, value in values if value is not None and value != ""]


def _add_terms(session: Session, words: set[str], postgresql: bool) -> None:
    if not words:
        return
    terms = sorted(words)
    for start in range(0, len(terms), 5000):
        part = terms[start : start + 5000]
        if postgresql:
            session.execute(_ADD_TERMS_PG, {"terms": part})
        else:
            session.connection().exec_driver_sql(_ADD_TERMS_SQLITE, [(w,) for w in part])
