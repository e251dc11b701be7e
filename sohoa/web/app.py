"""The FastAPI application of `sohoa serve`: the routes of every role's module, the
middleware (signed session cookie, security headers), and one answer per kind of refusal
(401 or the sign-in page, 403, 404, 400).

FastAPI on Starlette, served by uvicorn: typed routes whose OpenAPI description comes from
the code (the portal's developers read /api/docs), sync routes run in a bounded thread pool
next to a bounded database pool, and a server (uvicorn with httptools and several worker
processes) that is maintained and used in production widely.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from sohoa.config import Settings, load_settings
from sohoa.errors import SohoaError
from sohoa.records.pool import Pool
from sohoa.web import i18n
from sohoa.web.files import BLOCKING_THREADS
from sohoa.web.render import Web, render
from sohoa.web.security import BadForm, Forbidden, NotSignedIn, SecurityHeaders, current_account

HERE = Path(__file__).parent
SECRET_FILE = "web-secret-key"


def secret_key(settings: Settings) -> str:
    """The key that signs session cookies: made once, kept in the data folder (0600), the
    same for every server process and across restarts."""
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _refusal(request: Request, status: int, key: str, detail: str | None = None) -> Response:
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        message = detail or i18n.word(key, "en")
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return render(request, "error.html", status_code=status, message_key=key, detail=detail)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if _is_api(request):
            return _refusal(request, 401, "login", "sign in, or send an API token")
        target = request.url.path
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        return _refusal(request, 403, "forbidden")

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, _exc: BadForm) -> Response:
        return _refusal(request, 403, "csrf", "missing or wrong CSRF token")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return _refusal(request, 400, "bad_request", problems)

    @app.exception_handler(SohoaError)
    async def refused(request: Request, exc: SohoaError) -> Response:
        return _refusal(request, 400, "bad_request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = {404: "not_found", 403: "forbidden", 400: "bad_request"}.get(exc.status_code)
        if _is_api(request) or key is None:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 404 and await current_account(request) is None:
            return _refusal(request, 404, "not_found")
        return _refusal(request, exc.status_code, key)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application on the configured database (opened now, checked against the schema)."""
    from sohoa.classify import load_catalogue
    from sohoa.pipeline.audit import display_zone
    from sohoa.web import (
        api,
        pages_admin,
        pages_auditor,
        pages_login,
        pages_officer,
        pages_operator,
    )

    settings = settings or load_settings()
    config = settings.web
    if config.language not in i18n.LANGUAGES:
        raise SohoaError(f"web.language {config.language!r}: choose vi or en")
    catalogue = load_catalogue(list(settings.classify.catalogue))
    web = Web(
        settings=settings,
        config=config,
        # The route threads' connections, and the dashboard's recomputing thread's.
        pool=Pool(settings.database_url, size=config.threads + 1),
        zone=display_zone(settings),
        procedure_names={p.key: p.name for p in catalogue.procedures},
    )
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # Sync routes run in this many threads at once (the database pool has one
        # connection more, for the dashboard's thread). One by default: a process's
        # threads take turns at one interpreter lock, and each turn costs. At 10^5
        # records, 10 clients searching through one process cost it 8.3 ms of CPU per
        # search with 1 thread, 10.6 with 2, 12.3 with 4, 13.5 with 16; 50 clients on 2
        # processes (all four kinds) were served 344 requests/s with 1 thread each, 291
        # with 2, 226 with 16; on PostgreSQL (on the same 2 cores) 285 with 1, 258 with 2,
        # 223 with 4, 190 with 8.
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        web.blocking = anyio.CapacityLimiter(BLOCKING_THREADS)
        yield
        web.pool.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="sohoa",
        summary="Digitized administrative records: search, dossiers, signed files, coverage",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by api.py behind authentication
    )
    app.state.web = web
    _install_handlers(app)
    # The routers' routes go straight into the application's table (not include_router,
    # which newer FastAPI resolves lazily): `app.routes` lists every route, for the test
    # that checks each one refuses anonymous requests and other roles.
    for module in (pages_login, pages_officer, pages_auditor, pages_operator, pages_admin, api):
        app.router.routes.extend(module.router.routes)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie="sohoa_session",
        max_age=int(config.session_hours * 3600),
        same_site="strict",
        https_only=config.secure_cookies,
    )
    app.add_middleware(SecurityHeaders)
    return app


def app_from_environment() -> FastAPI:
    """uvicorn's factory in each worker process: the settings as `sohoa serve` found them
    (SOHOA_CONFIG and the other SOHOA_* variables are inherited)."""
    return create_app(load_settings())
