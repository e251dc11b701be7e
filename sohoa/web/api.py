"""The JSON API under /api/: the same reads as the pages, for client programs (the city's
public-service portal looks a dossier up by its code), each authenticated with its client's
token (`Authorization: Bearer sohoa_...`, made by `sohoa token add`) or a signed-in session.
The OpenAPI description and its page are behind the same door."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from sohoa.pipeline.audit import coverage_answer, coverage_json
from sohoa.records import accounts, audit, queries, record_view
from sohoa.records.search import Hit
from sohoa.web.pages_auditor import dashboard_of
from sohoa.web.pages_officer import PER_PAGE, SearchForm, run_search, signed_download, viewed
from sohoa.web.pages_operator import batch_id
from sohoa.web.render import render
from sohoa.web.security import allow, web_of

router = APIRouter(prefix="/api")
officer, auditor = allow("officer"), allow("auditor")
operator, admin = allow("operator"), allow("admin")
anyone = allow(*accounts.ROLES)
DOSSIER_CODE = re.compile(r"^[\w./-]{1,80}$")
DIMENSIONS = ("procedure", "unit", "year", "batch")


def _plain(value: Any) -> Any:
    """Dataclasses, dates and tuples as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _public(hits: list[Hit]) -> list[Hit]:
    """Hits for a client: `path` is the download URL, not where the file lies on the server."""
    return [dataclasses.replace(h, path=h.path and f"/api/records/{h.record_id}/pdf") for h in hits]


class SearchPage(BaseModel):
    hits: list[Hit]
    page: int
    per_page: int
    more: bool  # a next page exists
    ignored: list[str]  # field:value pairs of the query that were not understood


@router.get("/search", response_model=SearchPage, tags=["officer"])
def search(
    request: Request,
    q: str = Query(..., description='Words, "a phrase", prefix*, code:, cccd:, so:, year:, date:'),
    procedure: str = "",
    unit: str = "",
    year: str = "",
    batch: str = "",
    state: str = "",
    page: int = 1,
    per_page: int = Query(PER_PAGE, ge=1, le=100),
    account: accounts.Account = officer,
) -> Any:
    """Archived dossiers matching the words and filters, best first (as `sohoa search`)."""
    form = SearchForm(q, procedure, unit, year, batch, state, page)
    hits, more, ignored = run_search(request, form, account, per_page)
    return {"hits": _public(hits), "page": page, "per_page": per_page, "more": more,
            "ignored": list(ignored)}  # fmt: skip


@router.get("/dossiers/{code}", response_model=list[Hit], tags=["officer"])
def dossier(request: Request, code: str, account: accounts.Account = officer) -> Any:
    """The archived records of the dossier with this code (mã hồ sơ), e.g. HS-2019-000123."""
    if not DOSSIER_CODE.match(code):
        raise HTTPException(400, "a dossier code: letters, digits and . / - _")
    hits, _more, _ignored = run_search(request, SearchForm(f"code:{code}"), account, 100)
    return _public(hits)


@router.get("/records/{uid}", tags=["officer"])
def record(request: Request, uid: str, account: accounts.Account = officer) -> Any:
    """A record: dossier fields, NĐ 30 metadata, pages with their OCR text, signature, last
    verification, events. Written to the access log."""
    view = viewed(request, uid, account)
    body = _plain(view)
    body.pop("id")
    body.pop("output_path")
    body["download"] = f"/api/records/{view.uid}/pdf" if view.has_file else None
    return JSONResponse(body)


@router.get("/records/{uid}/pdf", tags=["officer"],
            responses={200: {"content": {"application/pdf": {}}}})  # fmt: skip
def record_pdf(request: Request, uid: str, account: accounts.Account = officer) -> Response:
    """The signed PDF/A (PAdES) of an archived record. Written to the access log."""
    return signed_download(request, uid, account)


@router.get("/coverage", tags=["auditor"])
def coverage(
    request: Request,
    by: str = Query("", description="procedure, unit, year and/or batch, comma-separated"),
    since: dt.date | None = None,
    _account: accounts.Account = auditor,
) -> Any:
    """As `sohoa coverage --format json`: {basis, rows, projection, handed_over}."""
    dims = tuple(d.strip() for d in by.split(",") if d.strip())
    if any(d not in DIMENSIONS for d in dims):
        raise HTTPException(400, f"by: any of {', '.join(DIMENSIONS)}")
    with web_of(request).pool.reading() as session:
        return JSONResponse(coverage_json(coverage_answer(session, dims, since)))


@router.get("/dashboard", tags=["auditor"])
def dashboard(request: Request, _account: accounts.Account = auditor) -> Any:
    """The dashboard's figures (refreshed every few seconds): headline, backlog,
    verification, files signed with the TEST key."""
    board = dashboard_of(request)
    data = board.report
    return JSONResponse({
        "as_of": board.at.isoformat(),
        "coverage": coverage_json(board.total),
        "headline": board.headline,
        "failures": _plain(data.failures),
        "reviews": _plain(data.reviews),
        "verification": _plain(data.verification),
        "test_signed_total": data.test_signed_total,
        "unscanned_total": data.missing_total,
    })  # fmt: skip


@router.get("/unscanned", tags=["auditor"])
def unscanned(
    request: Request, limit: int = Query(1000, ge=1, le=100_000),
    _account: accounts.Account = auditor,
) -> Any:  # fmt: skip
    """Registered dossiers with no scanned record, by code."""
    with web_of(request).pool.reading() as session:
        total = audit.unscanned_count(session)
        rows = audit.unscanned_items(session, limit)
    return JSONResponse({"total": total, "items": _plain(rows)})


@router.get("/records/{uid}/events", tags=["auditor"])
def events(request: Request, uid: str, _account: accounts.Account = auditor) -> Any:
    """A record's steps (time, step, outcome, tool, version), without their details."""
    with web_of(request).pool.reading() as session:
        view = record_view.record_view(session, uid, text=False)
    if view is None:
        raise HTTPException(404)
    rows = [{k: v for k, v in _plain(e).items() if k != "detail"} for e in view.events]
    return JSONResponse({"record_id": view.uid, "state": view.state, "events": rows})


@router.get("/batches", tags=["operator"])
def batches(request: Request, _account: accounts.Account = operator) -> Any:
    """Every batch with its records counted by state."""
    with web_of(request).pool.reading() as session:
        return JSONResponse(_plain(record_view.batches(session)))


@router.get("/failures", tags=["operator"])
def failures(request: Request, batch: str = "", _account: accounts.Account = operator) -> Any:
    """The failed records, as `sohoa failures`."""
    with web_of(request).pool.reading() as session:
        return JSONResponse(_plain(queries.failures(session, batch_id(session, batch))))


@router.get("/reviews", tags=["operator"])
def reviews(request: Request, batch: str = "", _account: accounts.Account = operator) -> Any:
    """Records waiting for review, least confident first."""
    with web_of(request).pool.reading() as session:
        return JSONResponse(_plain(queries.review_queue(session, batch_id(session, batch))))


@router.get("/access-log", tags=["admin"])
def access_log(
    request: Request, limit: int = Query(100, ge=1, le=10_000), offset: int = Query(0, ge=0),
    actor: str = "", record: str = "", _account: accounts.Account = admin,
) -> Any:  # fmt: skip
    """Who viewed or downloaded which record, when, from which address; newest first."""
    with web_of(request).pool.reading() as session:
        total, rows = accounts.access_log(session, limit, offset, actor or None, record or None)
    return JSONResponse({"total": total, "rows": _plain(rows)})


def openapi_schema(request: Request) -> dict[str, Any]:
    app = request.app
    if app.openapi_schema is None:
        app.openapi_schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes,
            description="Send `Authorization: Bearer <token>` (`sohoa token add CLIENT "
                        "--role officer`). Each route is for one role.",
        )  # fmt: skip
    return app.openapi_schema


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _account: accounts.Account = anyone) -> Any:
    return JSONResponse(openapi_schema(request))


@router.get("/docs", include_in_schema=False)
def docs(request: Request, _account: accounts.Account = anyone) -> Response:
    """The API described on one page, from the OpenAPI document (nothing fetched elsewhere)."""
    schema = openapi_schema(request)
    operations = [
        {"path": path, "method": method.upper(), "tag": (op.get("tags") or [""])[0],
         "summary": op.get("summary", ""), "description": op.get("description", ""),
         "parameters": op.get("parameters", [])}
        for path, methods in schema["paths"].items() for method, op in methods.items()
    ]  # fmt: skip
    return render(request, "api_docs.html", operations=operations)
