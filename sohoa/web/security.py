"""Who is asking, and may they: the signed session cookie or an API token, one role per page,
CSRF tokens on every form, and the headers every answer carries.

Every route states its roles with `allow(...)`; a route without it answers nobody but the
sign-in page and static files (tests/test_web.py enumerates the routes). The account behind
a session is looked up again every few seconds, so a disabled user or a revoked token stops
working within ACCOUNT_TTL_S without a restart.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from sohoa.records import accounts

if TYPE_CHECKING:
    from sohoa.web.render import Web

ACCOUNT_TTL_S = 5.0
NOT_CACHED = object()  # an account not in the caches (account_of with cached_only)
SESSION_KEYS = ("user", "since", "csrf", "lang")


class NotSignedIn(Exception):
    """No session or token: the sign-in page (pages) or 401 (API)."""


class Forbidden(Exception):
    """Signed in, but the role may not see this: 403."""


class BadForm(Exception):
    """A form without its CSRF token, or with another session's: 403."""


class _Cache:
    """A small time-limited map (account lookups), safe across the server's threads."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any] | None) -> Any:
        """The value of `key`, loaded when it is not cached or has expired; without `load`,
        NOT_CACHED then."""
        now = time.monotonic()
        found = self._items.get(key)
        if found is not None and found[0] > now:
            return found[1]
        if load is None:
            return NOT_CACHED
        value = load()
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Accounts:
    """Sessions and tokens to accounts, through the caches."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self.users = _Cache(ACCOUNT_TTL_S)
        self.tokens = _Cache(ACCOUNT_TTL_S)

    def of_user(self, name: str, cached_only: bool = False) -> Any:
        def load() -> accounts.Account | None:
            with self.web.pool.reading() as session:
                return accounts.active_account(session, name)

        return self.users.get(name, None if cached_only else load)

    def of_token(self, token: str, cached_only: bool = False) -> Any:
        def load() -> accounts.Account | None:
            with self.web.pool.reading() as session:
                return accounts.token_account(session, token)

        return self.tokens.get(accounts._token_digest(token), None if cached_only else load)

    def forget(self) -> None:
        """After an admin's change: the next request reads the accounts again."""
        self.users.clear()
        self.tokens.clear()


def web_of(request: Request) -> Web:
    return request.app.state.web


def account_of(request: Request, cached_only: bool = False) -> Any:
    """The bearer token's account, else the session's (None when it has expired);
    `cached_only`: NOT_CACHED when it would have to be read from the database."""
    web = web_of(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return web.accounts.of_token(token.strip(), cached_only)
    session = request.session
    name = session.get("user")
    since = session.get("since")
    if not isinstance(name, str) or not isinstance(since, int | float):
        return None
    if time.time() - since > web.config.session_hours * 3600:
        return None
    return web.accounts.of_user(name, cached_only)


async def current_account(request: Request) -> accounts.Account | None:
    """account_of, from the event loop: the caches there, the database in a route thread.
    (A sync dependency would take each request through the route threads' queue twice,
    web.threads, once for this and once for the route.)"""
    account = account_of(request, cached_only=True)
    if account is NOT_CACHED:
        account = await run_in_threadpool(account_of, request)
    return account


def allow(*roles: str) -> Any:
    """The dependency of a route that these roles (and no other) may use."""
    unknown = set(roles) - set(accounts.ROLES)
    assert not unknown, unknown

    async def check(request: Request) -> accounts.Account:
        account = await current_account(request)
        if account is None:
            raise NotSignedIn()
        if account.role not in roles:
            raise Forbidden()
        request.state.account = account
        return account

    check.roles = roles  # type: ignore[attr-defined]  # read by the route test
    return Depends(check)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not isinstance(given, str):
        raise BadForm()
    if not secrets.compare_digest(expected.encode(), given.encode()):
        raise BadForm()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def start_session(request: Request, account: accounts.Account) -> None:
    """A fresh session for the account: nothing of the signed-out one carries over but the
    language (no fixation)."""
    language = request.session.get("lang")
    request.session.clear()
    request.session.update(
        {"user": account.name, "since": int(time.time()), "csrf": secrets.token_urlsafe(32)}
    )
    if language:
        request.session["lang"] = language


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Plain ASGI middleware (no per-request task, unlike BaseHTTPMiddleware): the headers
    above on every answer, and no caching of pages that show personal data."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not static and not any(k.lower() == b"cache-control" for k, _v in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
