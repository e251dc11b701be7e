"""The operator's pages: batches by state, the failed records, the review queue."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from sohoa.errors import SohoaError
from sohoa.records import accounts, queries, record_view, store
from sohoa.report.reasons import reason_label
from sohoa.web.render import render
from sohoa.web.security import allow, web_of

router = APIRouter(include_in_schema=False)
operator = allow("operator")
SHOWN = 1000


def batch_id(session, name: str) -> int | None:
    if not name:
        return None
    try:
        return store.find_batch(session, name).id
    except SohoaError as exc:
        raise HTTPException(404) from exc


@router.get("/batches")
def batches(request: Request, _account: accounts.Account = operator) -> Response:
    with web_of(request).pool.reading() as session:
        rows = record_view.batches(session)
    return render(request, "batches.html", batches=rows)


@router.get("/failures")
def failures(request: Request, batch: str = "", _account: accounts.Account = operator) -> Response:
    with web_of(request).pool.reading() as session:
        found = queries.failures(session, batch_id(session, batch))
    by_reason: dict[str, int] = {}
    for failure in found:
        by_reason[failure.reason] = by_reason.get(failure.reason, 0) + 1
    return render(request, "failures.html", failures=found[:SHOWN], total=len(found), batch=batch,
                  by_reason=sorted(by_reason.items(), key=lambda item: -item[1]),
                  reason_label=reason_label)  # fmt: skip


@router.get("/reviews")
def reviews(request: Request, batch: str = "", _account: accounts.Account = operator) -> Response:
    with web_of(request).pool.reading() as session:
        found = queries.review_queue(session, batch_id(session, batch))
    return render(request, "reviews.html", items=found[:SHOWN], total=len(found), batch=batch)
