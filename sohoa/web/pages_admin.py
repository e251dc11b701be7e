"""The admin's pages: users, API tokens, and the record access log."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from sohoa.errors import SohoaError
from sohoa.records import accounts
from sohoa.web.render import render
from sohoa.web.security import allow, check_csrf, web_of

router = APIRouter(include_in_schema=False)
admin = allow("admin")
ACCESS_PER_PAGE = 100


def _users_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    with web_of(request).pool.reading() as session:
        rows = accounts.users(session)
    return render(request, "users.html", status_code=status, users=rows, roles=accounts.ROLES,
                  error=error)  # fmt: skip


@router.get("/admin/users")
def users(request: Request, _account: accounts.Account = admin) -> Response:
    return _users_page(request)


@router.post("/admin/users")
def add_user(
    request: Request,
    name: str = Form(""),
    role: str = Form(""),
    password: str = Form(""),
    csrf: str | None = Form(None),
    _account: accounts.Account = admin,
) -> Response:
    check_csrf(request, csrf)
    web = web_of(request)
    try:
        with web.pool.writing() as session:
            accounts.add_user(session, name, role, password)
    except SohoaError as exc:
        return _users_page(request, str(exc), 400)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/{change}")
def change_user(
    request: Request,
    name: str,
    change: str,
    csrf: str | None = Form(None),
    password: str = Form(""),
    role: str = Form(""),
    account: accounts.Account = admin,
) -> Response:
    check_csrf(request, csrf)
    web = web_of(request)
    if change not in ("disable", "enable", "password", "role"):
        raise HTTPException(404)
    if change in ("disable", "role") and name == account.name:
        # The last admin could lock everyone out; another admin (or the CLI) does it.
        what = "disable their own account" if change == "disable" else "change their own role"
        return _users_page(request, f"an admin cannot {what}", 400)
    try:
        with web.pool.writing() as session:
            if change == "password":
                accounts.set_password(session, name, password)
            elif change == "role":
                accounts.set_role(session, name, role)
            else:
                accounts.set_active(session, name, change == "enable")
    except SohoaError as exc:
        return _users_page(request, str(exc), 400)
    web.accounts.forget()
    return RedirectResponse("/admin/users", status_code=303)


def _tokens_page(request: Request, new: str | None = None, error: str | None = None,
                 status: int = 200) -> Response:  # fmt: skip
    with web_of(request).pool.reading() as session:
        rows = accounts.tokens(session)
    return render(request, "tokens.html", status_code=status, tokens=rows, roles=accounts.ROLES,
                  new=new, error=error)  # fmt: skip


@router.get("/admin/tokens")
def tokens(request: Request, _account: accounts.Account = admin) -> Response:
    return _tokens_page(request)


@router.post("/admin/tokens")
def add_token(
    request: Request,
    client: str = Form(""),
    role: str = Form("officer"),
    csrf: str | None = Form(None),
    _account: accounts.Account = admin,
) -> Response:
    check_csrf(request, csrf)
    try:
        with web_of(request).pool.writing() as session:
            token = accounts.add_token(session, client, role)
    except SohoaError as exc:
        return _tokens_page(request, error=str(exc), status=400)
    return _tokens_page(request, new=token)  # shown once, in the answer to the POST


@router.post("/admin/tokens/{client}/revoke")
def revoke_token(
    request: Request, client: str, csrf: str | None = Form(None),
    _account: accounts.Account = admin,
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    web = web_of(request)
    try:
        with web.pool.writing() as session:
            accounts.revoke_token(session, client)
    except SohoaError as exc:
        return _tokens_page(request, error=str(exc), status=400)
    web.accounts.forget()
    return RedirectResponse("/admin/tokens", status_code=303)


@router.get("/admin/access")
def access(
    request: Request, actor: str = "", record: str = "", page: int = 1,
    _account: accounts.Account = admin,
) -> Response:  # fmt: skip
    if not 1 <= page <= 100_000:
        raise HTTPException(400, "page")
    with web_of(request).pool.reading() as session:
        total, rows = accounts.access_log(session, ACCESS_PER_PAGE, (page - 1) * ACCESS_PER_PAGE,
                                          actor or None, record or None)  # fmt: skip
    return render(request, "access.html", rows=rows, total=total, page=page, actor=actor,
                  record=record, more=page * ACCESS_PER_PAGE < total)  # fmt: skip
