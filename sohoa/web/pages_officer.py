"""The officer's pages: search, a record, its page thumbnails, the signed file.

A record's view and its download each write a line of the record access log (who, when,
which record, from where) before anything is sent; if the line cannot be written, nothing
is sent. Searches go to the search access log like `sohoa search`'s."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from sohoa.records import accounts, record_view
from sohoa.records.search import SearchRequest, log_search, search_in, search_settings
from sohoa.web.files import FileStream
from sohoa.web.render import Web, render
from sohoa.web.security import allow, client_address, web_of
from sohoa.web.thumbnails import thumbnail

router = APIRouter(include_in_schema=False)
officer = allow("officer")
PER_PAGE = 20
STATES = ("archived", "needs_review")


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    procedure: str = ""
    unit: str = ""
    year: str = ""
    batch: str = ""
    state: str = ""
    page: int = 1


def _year(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1000 <= int(text) <= 2999:
        raise HTTPException(400, "year: four digits")
    return int(text)


def run_search(request: Request, form: SearchForm, account: accounts.Account, per_page: int):
    """(hits of the asked page, whether a next page exists, words not understood)."""
    web = web_of(request)
    config = search_settings(web.settings)
    if form.page < 1 or form.page * per_page > config.max_limit:
        raise HTTPException(400, f"page: 1 to {config.max_limit // per_page}")
    if form.state and form.state not in STATES:
        raise HTTPException(400, f"state: one of {', '.join(STATES)}")
    wanted = SearchRequest(form.q, form.procedure or None, form.unit or None, _year(form.year),
                           form.batch or None, form.state or None,
                           min(form.page * per_page + 1, config.max_limit))  # fmt: skip
    with web.pool.reading() as session:
        result = search_in(session, wanted, config)
    with web.pool.writing() as session:
        log_search(session, wanted, len(result.hits), who=f"web:{account.name}")
    first = (form.page - 1) * per_page
    shown = result.hits[first : first + per_page]
    return shown, len(result.hits) > first + per_page, result.ignored


@router.get("/search")
def search_page(
    request: Request,
    q: str = "",
    procedure: str = "",
    unit: str = "",
    year: str = "",
    batch: str = "",
    state: str = "",
    page: int = 1,
    account: accounts.Account = officer,
) -> Response:
    form = SearchForm(q, procedure, unit, year, batch, state, page)
    hits, more, ignored = ([], False, ())
    if q.strip():
        hits, more, ignored = run_search(request, form, account, PER_PAGE)
    web = web_of(request)
    return render(request, "search.html", form=form, hits=hits, more=more, ignored=ignored,
                  searched=bool(q.strip()), procedures=sorted(web.procedure_names.items()),
                  states=STATES, first=(page - 1) * PER_PAGE)  # fmt: skip


def viewed(request: Request, uid: str, account: accounts.Account, text: bool = True):
    """The record, its view written to the access log; 404 when there is none."""
    web = web_of(request)
    with web.pool.reading() as session:
        view = record_view.record_view(session, uid, text=text)
    if view is None:
        raise HTTPException(404)
    with web.pool.writing() as session:
        accounts.log_access(session, account.name, "view", view.id, client_address(request))
    return view


@router.get("/records/{uid}")
def record_page(request: Request, uid: str, account: accounts.Account = officer) -> Response:
    view = viewed(request, uid, account)
    return render(request, "record.html", record=view)


def _signed_file(web: Web, uid: str) -> record_view.SignedFile | None:
    with web.pool.reading() as session:
        return record_view.signed_file(session, uid, web.settings.archive_dir)


def signed_download(request: Request, uid: str, account: accounts.Account) -> Response:
    """The signed PDF/A, streamed, after its line in the access log."""
    web = web_of(request)
    found = _signed_file(web, uid)
    if found is None:
        raise HTTPException(404)
    with web.pool.writing() as session:
        accounts.log_access(session, account.name, "download", found.record_id,
                            client_address(request))  # fmt: skip
    if not found.path.is_file():
        raise HTTPException(404)
    return FileStream(found.path, found.name, "application/pdf", web.blocking)


@router.get("/records/{uid}/pdf")
def download(request: Request, uid: str, account: accounts.Account = officer) -> Response:
    return signed_download(request, uid, account)


@router.get("/records/{uid}/pages/{number}.png")
async def page_thumbnail(
    request: Request, uid: str, number: int, _account: accounts.Account = officer
) -> Response:
    """A page of the signed file as a small PNG (part of the record page already logged),
    rendered and read in the threads for blocking work: a render holds its thread ~60 ms."""
    web = web_of(request)
    found = await run_in_threadpool(_signed_file, web, uid)
    if found is None or not 1 <= number <= 10_000 or not found.sha256:
        raise HTTPException(404)
    cache_dir = web.settings.data_dir / "cache" / "thumbnails"
    png = await anyio.to_thread.run_sync(thumbnail, found.path, found.sha256, number,
                                         cache_dir, limiter=web.blocking)  # fmt: skip
    if png is None:
        raise HTTPException(404)
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip
