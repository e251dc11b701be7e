"""Signing in and out, the language, and the landing page of each role."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from sohoa.records import accounts
from sohoa.web.render import LANDING, Web, render
from sohoa.web.security import (
    allow,
    check_csrf,
    client_address,
    start_session,
    web_of,
)

router = APIRouter(include_in_schema=False)
signed_in = allow(*accounts.ROLES)


def _local(target: str | None) -> str | None:
    """A path on this server to go back to after signing in; nothing else (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_local(next) or "", error=None)


@router.post("/login")
async def login(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    csrf: str | None = Form(None),
    next: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    web = web_of(request)
    try:
        attempt, stored = await run_in_threadpool(_count_attempt, web, name,
                                                  client_address(request))  # fmt: skip
    except accounts.LoginThrottled:
        return _login_error(request, next, "throttled", 429)
    # Argon2 (~150 ms of CPU) in the threads for blocking work: in the route thread, the
    # one a process has (web.threads), every other request of the process would wait.
    account = await anyio.to_thread.run_sync(accounts.password_matches, stored, password,
                                             limiter=web.blocking)  # fmt: skip
    if account is None:  # its attempt stays counted as a failure
        return _login_error(request, next, "bad_login", 401)
    await run_in_threadpool(_settle_attempt, web, attempt, account, password)
    start_session(request, account)
    target = _local(next) or LANDING[account.role]
    return RedirectResponse(target, status_code=303)


# Short transactions, the password hash outside them: a burst of sign-ins never holds the
# database's write lock while Argon2 works (every view and download would wait).
def _count_attempt(web: Web, name: str, address: str) -> tuple[int, accounts.StoredLogin]:
    """The attempt, counted as a failure until the password is found right (so parallel
    guesses cannot pass the limits), and what the password is checked against."""
    config = web.config
    limits = accounts.LoginLimits(config.login_window_s, config.login_failures_per_name,
                                  config.login_failures_per_address)  # fmt: skip
    with web.pool.writing() as session:
        attempt = accounts.count_attempt(session, name, address, limits)
    with web.pool.reading() as session:
        return attempt, accounts.stored_login(session, name)


def _settle_attempt(web: Web, attempt: int, account: accounts.Account, password: str) -> None:
    with web.pool.writing() as session:
        accounts.settle_attempt(session, attempt, account, password)
        accounts.forget_login_failures(session, web.config.login_window_s)


@router.post("/logout")
def logout(
    request: Request, csrf: str | None = Form(None), _account: accounts.Account = signed_in
) -> Response:
    check_csrf(request, csrf)
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def language(request: Request, csrf: str | None = Form(None), back: str = Form("/")) -> Response:
    check_csrf(request, csrf)
    current = request.session.get("lang") or web_of(request).config.language
    request.session["lang"] = "en" if current == "vi" else "vi"
    return RedirectResponse(_local(back) or "/", status_code=303)


@router.get("/")
def home(account: accounts.Account = signed_in) -> Response:
    return RedirectResponse(LANDING[account.role], status_code=303)


def _login_error(request: Request, next: str, error: str, status: int) -> Response:
    return render(request, "login.html", status_code=status, next=_local(next) or "", error=error)
