"""What every page shares: the per-process state (`Web`), the menus of the roles, and
rendering with Jinja2 (autoescaped; snippets' «marks» become <mark>)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from sohoa.config import Settings, WebConfig
from sohoa.records.pool import Pool
from sohoa.web import i18n
from sohoa.web.security import Accounts, csrf_token

HERE = Path(__file__).parent
LANDING = {"officer": "/search", "auditor": "/dashboard", "operator": "/batches",
           "admin": "/admin/users"}  # fmt: skip
# The menu of each role: (path, word key).
MENUS = {
    "officer": [("/search", "search")],
    "auditor": [("/dashboard", "dashboard"), ("/coverage/unscanned", "unscanned"),
                ("/verification", "verification"), ("/api/docs", "api_docs")],
    "operator": [("/batches", "batches"), ("/failures", "failures"), ("/reviews", "reviews")],
    "admin": [("/admin/users", "users"), ("/admin/tokens", "tokens"),
              ("/admin/access", "access_log"), ("/api/docs", "api_docs")],
}  # fmt: skip


@dataclass
class Web:
    """What every request shares within one server process."""

    settings: Settings
    config: WebConfig
    pool: Pool
    zone: ZoneInfo
    procedure_names: dict[str, str]
    accounts: Accounts = field(init=False)
    caches: dict[str, Any] = field(default_factory=dict)
    # Threads for blocking work that is not a route's: file reads, page renders, sign-ins'
    # password checks (web.files).
    # Made when the server starts, in its event loop.
    blocking: anyio.CapacityLimiter | None = None

    def __post_init__(self) -> None:
        self.accounts = Accounts(self)


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        auto_reload=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["marked"] = marked
    return env


def marked(snippet: str) -> Markup:
    """A search snippet with its «matches» as <mark>, everything else escaped."""
    out = []
    for n, piece in enumerate(snippet.replace("»", "«").split("«")):
        out.append(f"<mark>{escape(piece)}</mark>" if n % 2 else str(escape(piece)))
    return Markup("".join(out))


def language_of(request: Request) -> str:
    chosen = request.session.get("lang")
    return chosen if chosen in i18n.LANGUAGES else request.app.state.web.config.language


def render(
    request: Request, template: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    web: Web = request.app.state.web
    language = language_of(request)
    account = getattr(request.state, "account", None)
    context = {
        "t": lambda key, **v: i18n.word(key, language, **v),
        "when": lambda moment: i18n.local_time(moment, web.zone),
        "day": i18n.local_day,
        "lang": language,
        "account": account,
        "menu": MENUS.get(account.role, []) if account else [],
        "csrf": csrf_token(request),
        "path": request.url.path,
        "procedure_name": lambda key: web.procedure_names.get(key or "", key or "—"),
        **values,
    }
    body = _templates().get_template(template).render(context)
    return HTMLResponse(body, status_code=status_code)


