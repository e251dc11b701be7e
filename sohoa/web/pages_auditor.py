"""The auditor's pages: the dashboard, the dossiers not scanned yet (and their CSV),
verification, and a record's events. Figures and steps only: no page text, no files."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from sohoa.records import accounts, audit, record_view
from sohoa.report.reasons import reason_label
from sohoa.web.dashboard import Dashboard, DashboardCache
from sohoa.web.render import render
from sohoa.web.security import allow, web_of

router = APIRouter(include_in_schema=False)
auditor = allow("auditor")
UNSCANNED_SHOWN = 500
UNSCANNED_COLUMNS = ("code", "title", "unit", "year", "location")


def dashboard_of(request: Request) -> Dashboard:
    web = web_of(request)
    cache = web.caches.get("dashboard")
    if cache is None:
        cache = web.caches.setdefault("dashboard", DashboardCache(web))
    return cache.get()


@router.get("/dashboard")
def dashboard(request: Request, _account: accounts.Account = auditor) -> Response:
    board = dashboard_of(request)
    return render(request, "dashboard.html", board=board, data=board.report,
                  reason_label=reason_label)  # fmt: skip


def unscanned_rows(request: Request, limit: int | None) -> tuple[int, list[audit.UnscannedItem]]:
    with web_of(request).pool.reading() as session:
        total = audit.unscanned_count(session)
        return total, audit.unscanned_items(session, total if limit is None else limit)


@router.get("/coverage/unscanned")
def unscanned(request: Request, _account: accounts.Account = auditor) -> Response:
    total, rows = unscanned_rows(request, UNSCANNED_SHOWN)
    return render(request, "unscanned.html", total=total, rows=rows, shown=UNSCANNED_SHOWN)


@router.get("/coverage/unscanned.csv")
def unscanned_csv(request: Request, _account: accounts.Account = auditor) -> Response:
    _total, rows = unscanned_rows(request, None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(UNSCANNED_COLUMNS)
    for row in rows:
        writer.writerow([row.code, row.title, row.unit, row.year or "", row.location])
    # With a BOM: Excel, which most offices open CSV files with, then reads UTF-8.
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="chua-quet.csv"'})


@router.get("/verification")
def verification(request: Request, _account: accounts.Account = auditor) -> Response:
    board = dashboard_of(request)
    with web_of(request).pool.reading() as session:
        runs = record_view.verify_runs(session)
    return render(request, "verification.html", data=board.report, runs=runs)


@router.get("/records/{uid}/events")
def events(request: Request, uid: str, _account: accounts.Account = auditor) -> Response:
    """A record's steps, without their details (which name the dossier's people)."""
    with web_of(request).pool.reading() as session:
        view = record_view.record_view(session, uid, text=False)
    if view is None:
        raise HTTPException(404)
    return render(request, "events.html", record=view)


@router.get("/events")
def events_lookup(
    request: Request, uid: str = "", _account: accounts.Account = auditor
) -> Response:
    """The form of the verification page: a record id to its events."""
    if not record_view.RECORD_ID.match(uid):
        raise HTTPException(404)
    return RedirectResponse(f"/records/{uid}/events", status_code=303)
