"""sohoa serve in-process (FastAPI's TestClient) on both backends: every route refuses an
anonymous request, each role reaches its own pages and API and nothing else, forms need
their CSRF token, bad ids and script are refused or escaped, GET writes nothing but the
access logs, views and downloads are logged, sign-ins are rate-limited, API tokens work
and can be revoked, and the dashboard gives the numbers of `sohoa coverage --format json`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import Mount

from sohoa.config import Settings, load_settings
from sohoa.pipeline.context import record_uid
from sohoa.records import (
    EventRow,
    PageRow,
    RecordOutcome,
    accounts,
    database_session,
    session_scope,
    store,
)
from sohoa.records.models import Base
from sohoa.web.app import create_app
from tests.conftest import POSTGRES_ENV, fresh_database, invoke
from tests.pdfa_audit import exclude

PASSWORD = "correct horse battery"
ROLE_USERS = {role: f"{role}-user" for role in accounts.ROLES}
SPARE_USERS = {"locked-out": "auditor", "to-disable": "officer"}  # for tests that spoil them
# Who may use each route: a new route fails test_the_access_table_names_every_route until it
# is added here. Public: the sign-in page, the language switch and static files.
PUBLIC = {"/login", "/language", "/static"}
ACCESS = {
    "/": set(accounts.ROLES),
    "/logout": set(accounts.ROLES),
    "/search": {"officer"},
    "/records/{uid}": {"officer"},
    "/records/{uid}/pdf": {"officer"},
    "/records/{uid}/pages/{number}.png": {"officer"},
    "/dashboard": {"auditor"},
    "/coverage/unscanned": {"auditor"},
    "/coverage/unscanned.csv": {"auditor"},
    "/verification": {"auditor"},
    "/records/{uid}/events": {"auditor"},
    "/events": {"auditor"},
    "/batches": {"operator"},
    "/failures": {"operator"},
    "/reviews": {"operator"},
    "/admin/users": {"admin"},
    "/admin/users/{name}/{change}": {"admin"},
    "/admin/tokens": {"admin"},
    "/admin/tokens/{client}/revoke": {"admin"},
    "/admin/access": {"admin"},
    "/api/search": {"officer"},
    "/api/dossiers/{code}": {"officer"},
    "/api/records/{uid}": {"officer"},
    "/api/records/{uid}/pdf": {"officer"},
    "/api/coverage": {"auditor"},
    "/api/dashboard": {"auditor"},
    "/api/unscanned": {"auditor"},
    "/api/records/{uid}/events": {"auditor"},
    "/api/batches": {"operator"},
    "/api/failures": {"operator"},
    "/api/reviews": {"operator"},
    "/api/access-log": {"admin"},
    "/api/openapi.json": set(accounts.ROLES),
    "/api/docs": set(accounts.ROLES),
}
KHAI_SINH = "TỜ KHAI ĐĂNG KÝ KHAI SINH\nNgười được khai sinh: {name}\nMã hồ sơ: {code}\n"


@dataclass
class Site:
    settings: Settings
    client: TestClient
    archived: str  # uid of an archived record with its file in the archive
    other: str  # archived too, another dossier
    outside: str  # archived, but its recorded path leads outside the archive
    failed: str


def _page(index: int, text: str) -> PageRow:
    return PageRow(index, f"p{index}.png", 0, 0, 0.0, 91.0, 100, 100, 300.0, (), text)


def _archive(session, settings: Settings, rel_path: str, name: str, code: str, pdf: bytes,
             output: Path | None = None) -> str:  # fmt: skip
    batch = store.get_or_create_batch(session, "box-1", "/scans/box-1", {})
    uid = record_uid("box-1", rel_path)
    store.register_records(session, batch.id, [(uid, rel_path)])
    path = output or settings.archive_dir / "khai_sinh" / f"{code}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    exclude(path)  # unsigned: a stand-in for these tests, which read no signature
    meta = {"register": {"code": code, "title": f"Đăng ký khai sinh - {name}", "unit": "UBND xã A",
                         "year": 2019},
            "dossier": {"FileCode": code, "Title": f"Đăng ký khai sinh - {name}"},
            "signed_by": {"subject": "Common Name: TEST sohoa signer", "test_certificate": True}}
    outcome = RecordOutcome(
        uid, ok=True, procedure="khai_sinh", pages=(_page(0, KHAI_SINH.format(name=name,
                                                                             code=code)),),
        output_path=str(path), output_sha256=hashlib.sha256(pdf).hexdigest(), metadata=meta,
        events=(EventRow("sign", tool="pyHanko", detail={"level": "PAdES-B-B"}),),
    )  # fmt: skip
    store.commit_outcome(session, outcome)
    return uid


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         unsigned_pdf: bytes) -> Iterator[Site]:  # fmt: skip
    """One data folder, database and app per backend for the whole module (an init and the
    Argon2 hashes cost seconds): tests that change accounts use accounts of their own."""
    folder = tmp_path_factory.mktemp("web")
    with fresh_database(request.param, folder) as url, pytest.MonkeyPatch.context() as patch:
        for var in [v for v in os.environ if v.startswith("SOHOA_") and v != POSTGRES_ENV]:
            patch.delenv(var)
        patch.chdir(folder)
        patch.setenv("SOHOA_DATABASE_URL", url)
        assert invoke("init").exit_code == 0
        settings = load_settings()
        pdf = unsigned_pdf
        with database_session(settings.database_url) as session:
            archived = _archive(session, settings, "a.pdf", "Nguyễn Văn Bình", "HS-2019-0001", pdf)
            other = _archive(session, settings, "b.pdf", "Trần Thị Mai", "HS-2019-0002", pdf)
            outside = _archive(session, settings, "c.pdf", "Lê Văn Cường", "HS-2019-0003", pdf,
                               output=folder / "elsewhere.pdf")  # fmt: skip
            batch = store.get_or_create_batch(session, "box-1", "/scans/box-1", {})
            failed = record_uid("box-1", "d.pdf")
            store.register_records(session, batch.id, [(failed, "d.pdf")])
            store.commit_outcome(session, RecordOutcome(failed, ok=False, error_reason="unreadable",
                                                        error_message="cannot decode"))  # fmt: skip
            for name, role in {**{v: k for k, v in ROLE_USERS.items()}, **SPARE_USERS}.items():
                accounts.add_user(session, name, role, PASSWORD)
        with TestClient(create_app(settings), follow_redirects=False) as client:
            yield Site(settings, client, archived, other, outside, failed)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client: TestClient, role: str, name: str | None = None) -> TestClient:
    client.cookies.clear()
    answer = client.post("/login", data={"name": name or ROLE_USERS[role], "password": PASSWORD,
                                         "csrf": csrf_of(client)})  # fmt: skip
    assert answer.status_code == 303, answer.text
    return client


def _routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found += [(route.path, method) for method in sorted(route.methods)]
        elif isinstance(route, Mount):
            found.append((route.path, "GET"))
        else:  # Starlette's own routes: none may slip in unguarded
            raise AssertionError(f"unexpected route {route}")
    return found


def _concrete(path: str, site: Site) -> str:
    values = {"uid": site.archived, "number": "1", "name": ROLE_USERS["officer"],
              "change": "enable", "client": "portal", "code": "HS-2019-0001"}  # fmt: skip
    query = {"/api/search": "?q=binh", "/search": "?q=binh", "/events": f"?uid={site.archived}"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path) + query.get(path, "")


def test_the_access_table_names_every_route(site: Site) -> None:
    paths = {path for path, _method in _routes(site.client.app)}
    assert paths - PUBLIC == set(ACCESS)
    for route in site.client.app.routes:
        if isinstance(route, APIRoute) and route.path not in PUBLIC:
            guards = [d.call for d in route.dependant.dependencies if hasattr(d.call, "roles")]
            assert len(guards) == 1, route.path
            assert set(guards[0].roles) == ACCESS[route.path], route.path


def test_every_route_refuses_an_anonymous_request(site: Site) -> None:
    for path, method in _routes(site.client.app):
        if path in PUBLIC:
            continue
        site.client.cookies.clear()
        answer = site.client.request(method, _concrete(path, site))
        if path.startswith("/api/"):
            assert answer.status_code == 401, (method, path)
            assert answer.headers["www-authenticate"] == "Bearer"
        else:
            assert answer.status_code == 303, (method, path)
            assert answer.headers["location"].startswith("/login"), (method, path)


@pytest.mark.parametrize("role", accounts.ROLES)
def test_each_role_reaches_its_own_pages_and_no_other(site: Site, role: str) -> None:
    sign_in(site.client, role)
    for path, method in _routes(site.client.app):
        if path in PUBLIC or method != "GET":
            continue
        answer = site.client.get(_concrete(path, site))
        if role in ACCESS[path]:
            assert answer.status_code in (200, 303), (path, answer.status_code, answer.text[:300])
        else:
            assert answer.status_code == 403, (path, answer.status_code)
    # POST routes of another role: refused before the form is even read.
    if role != "admin":
        refused = site.client.post("/admin/users", data={"csrf": csrf_of(site.client, "/login")})
        assert refused.status_code == 403


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    client = site.client
    client.cookies.clear()
    assert client.post("/login", data={"name": ROLE_USERS["admin"],
                                       "password": PASSWORD}).status_code == 403  # fmt: skip
    sign_in(client, "admin")
    form = {"name": "eve", "role": "admin", "password": "x" * 12}
    assert client.post("/admin/users", data=form).status_code == 403
    assert client.post("/admin/users", data={**form, "csrf": "forged"}).status_code == 403
    assert "eve" not in client.get("/admin/users").text
    token = csrf_of(client, "/admin/users")
    assert client.post("/admin/users", data={**form, "csrf": token}).status_code == 303
    assert 'data-name="eve"' in client.get("/admin/users").text
    assert client.post("/logout", data={}).status_code == 403  # no token, still signed in
    assert client.get("/admin/users").status_code == 200


def test_cookies_are_httponly_samesite_and_signed(site: Site) -> None:
    client = site.client
    client.cookies.clear()
    answer = client.post("/login", data={"name": ROLE_USERS["officer"], "password": PASSWORD,
                                         "csrf": csrf_of(client)})  # fmt: skip
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    # A cookie edited to another user (or role) is not signed: it is no session.
    value = client.cookies["sohoa_session"]
    client.cookies.set("sohoa_session", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"))
    assert client.get("/search").status_code == 303


NOT_RECORDS = (
    "/records/nothex/pdf", "/records/0123456789abcdef/pdf", "/records/..%2F..%2Fetc%2Fpasswd/pdf",
    "/records/%2e%2e/pdf", "/records/../../etc/passwd", "/api/records/zz", "/api/records/a'--",
    "/records/0123456789abcdef", "/records/0123456789abcdef/pages/1.png",
    "/api/records/..%2F..%2Fetc%2Fpasswd/pdf", "/records/{archived}/pages/0.png",
    "/records/{archived}/pages/99.png",
)  # fmt: skip


def test_ids_that_are_not_records_are_404(site: Site) -> None:
    sign_in(site.client, "officer")
    for path in NOT_RECORDS:
        answer = site.client.get(path.format(archived=site.archived))
        assert answer.status_code == 404, path


def test_no_file_is_given_outside_the_archive_or_for_a_failed_record(site: Site) -> None:
    sign_in(site.client, "officer")
    for uid in (site.outside, site.failed):
        assert site.client.get(f"/records/{uid}/pdf").status_code == 404
        assert site.client.get(f"/api/records/{uid}/pdf").status_code == 404
    assert site.client.get(f"/records/{site.failed}").status_code == 200  # the record, no file


def test_script_in_a_query_string_is_escaped_or_refused(site: Site) -> None:
    attack = "<script>alert(1)</script>"
    sign_in(site.client, "officer")
    page = site.client.get("/search", params={"q": attack, "unit": attack})
    assert page.status_code in (200, 400)
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    bad_year = site.client.get("/search", params={"q": "binh", "year": attack})
    assert bad_year.status_code == 400 and "<script>" not in bad_year.text
    assert site.client.get("/search", params={"q": "binh", "page": attack}).status_code == 400
    assert site.client.get("/login", params={"next": attack}).text.count("<script>") == 0
    # After sign-in only paths of this server are followed (no open redirect).
    client = site.client
    client.cookies.clear()
    answer = client.post("/login", data={"name": ROLE_USERS["officer"], "password": PASSWORD,
                                         "csrf": csrf_of(client), "next": "//evil.example/x"})
    assert answer.headers["location"] == "/search"


def _row_counts(settings: Settings) -> dict[str, int]:
    with database_session(settings.database_url) as session:
        return {name: session.scalar(select(func.count()).select_from(table))
                for name, table in Base.metadata.tables.items()}  # fmt: skip


def test_get_writes_nothing_but_the_access_logs(site: Site) -> None:
    before = _row_counts(site.settings)
    for role in accounts.ROLES:
        sign_in(site.client, role)
        for path, method in _routes(site.client.app):
            if method == "GET" and path not in PUBLIC and role in ACCESS[path]:
                site.client.get(_concrete(path, site))
    after = _row_counts(site.settings)
    logs = {"record_access_log", "search_access_log", "web_login_failures"}
    assert {k: v for k, v in after.items() if k not in logs} == {
        k: v for k, v in before.items() if k not in logs
    }
    assert after["record_access_log"] > before["record_access_log"]


def test_views_and_downloads_are_logged_for_the_admin(site: Site, unsigned_pdf: bytes) -> None:
    sign_in(site.client, "officer")
    assert site.client.get(f"/records/{site.other}").status_code == 200
    pdf = site.client.get(f"/records/{site.other}/pdf")
    assert pdf.status_code == 200 and pdf.content == unsigned_pdf
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="HS-2019-0002.pdf"'
    sign_in(site.client, "admin")
    log = site.client.get("/api/access-log", params={"record": site.other}).json()
    assert [(r["actor"], r["action"], r["record_id"], r["address"]) for r in log["rows"]] == [
        ("officer-user", "download", site.other, "testclient"),
        ("officer-user", "view", site.other, "testclient"),
    ]
    page = site.client.get("/admin/access", params={"record": site.other})
    assert page.text.count('class="access"') == 2


def test_a_page_thumbnail_is_rendered_once_then_read_from_the_cache(site: Site) -> None:
    sign_in(site.client, "officer")
    first = site.client.get(f"/records/{site.archived}/pages/1.png")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n")
    cached = list((site.settings.data_dir / "cache" / "thumbnails").rglob("*-1-*.png"))
    assert [p.read_bytes() for p in cached] == [first.content]
    assert site.client.get(f"/records/{site.archived}/pages/1.png").content == first.content


def test_sign_ins_are_rate_limited_per_name(site: Site) -> None:
    client = site.client
    for _ in range(site.settings.web.login_failures_per_name):
        client.cookies.clear()
        wrong = client.post("/login", data={"name": "locked-out", "password": "nope",
                                            "csrf": csrf_of(client)})  # fmt: skip
        assert wrong.status_code == 401
    client.cookies.clear()
    right = client.post("/login", data={"name": "locked-out", "password": PASSWORD,
                                        "csrf": csrf_of(client)})  # fmt: skip
    assert right.status_code == 429  # even the right password, until the window passes
    sign_in(client, "auditor")  # other names are not locked out


def test_sign_ins_in_flight_count_against_the_limit(factory) -> None:
    """Each attempt counts as a failure before its password is checked (outside any lock),
    so parallel guesses cannot pass the limit; a right password takes its attempt back."""
    limits = accounts.LoginLimits(window_s=900, per_name=2, per_address=100)
    with session_scope(factory) as session:
        accounts.add_user(session, "clerk", "officer", PASSWORD)
    with session_scope(factory) as session:
        first = accounts.count_attempt(session, "clerk", "10.0.0.1", limits)
        accounts.count_attempt(session, "clerk", "10.0.0.2", limits)  # both still checking
        with pytest.raises(accounts.LoginThrottled):
            accounts.count_attempt(session, "clerk", "10.0.0.3", limits)
        clerk = accounts.stored_login(session, "clerk")
        account = accounts.password_matches(clerk, PASSWORD)
        assert account == accounts.Account("clerk", "officer")
        accounts.settle_attempt(session, first, account, PASSWORD)
        accounts.count_attempt(session, "clerk", "10.0.0.4", limits)  # room for one again
        assert accounts.password_matches(clerk, "wrong") is None
        nobody = accounts.stored_login(session, "nobody")  # a dummy hash: the same work
        assert nobody.password_hash.startswith("$argon2id$")
        assert accounts.password_matches(nobody, PASSWORD) is None
        accounts.set_active(session, "clerk", False)
        assert accounts.password_matches(accounts.stored_login(session, "clerk"), PASSWORD) is None


def test_an_admin_changes_a_role_and_the_pages_follow(site: Site) -> None:
    client = sign_in(site.client, "admin")
    token = csrf_of(client, "/admin/users")
    form = {"name": "frank", "role": "officer", "password": PASSWORD, "csrf": token}
    assert client.post("/admin/users", data=form).status_code == 303
    changed = client.post("/admin/users/frank/role", data={"role": "auditor", "csrf": token})
    assert changed.status_code == 303
    own = client.post(f"/admin/users/{ROLE_USERS['admin']}/role",
                      data={"role": "officer", "csrf": token})  # fmt: skip
    assert own.status_code == 400 and "cannot change their own role" in own.text
    wrong = client.post("/admin/users/frank/role", data={"role": "mayor", "csrf": token})
    assert wrong.status_code == 400
    sign_in(client, "auditor", "frank")
    assert client.get("/dashboard").status_code == 200
    assert client.get("/search", params={"q": "binh"}).status_code == 403


def test_a_disabled_user_is_signed_out(site: Site) -> None:
    sign_in(site.client, "officer", "to-disable")
    assert site.client.get("/search").status_code == 200
    with database_session(site.settings.database_url) as session:
        accounts.set_active(session, "to-disable", False)
    site.client.app.state.web.accounts.forget()  # what ACCOUNT_TTL_S seconds do
    assert site.client.get("/search").status_code == 303


def test_api_tokens_look_a_dossier_up_and_stop_when_revoked(site: Site) -> None:
    with database_session(site.settings.database_url) as session:
        token = accounts.add_token(session, "portal", "officer")
        auditor_token = accounts.add_token(session, "audit-tool", "auditor")
    client = site.client
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    hits = client.get("/api/dossiers/HS-2019-0001", headers=bearer).json()
    assert [h["record_id"] for h in hits] == [site.archived]
    assert hits[0]["path"] == f"/api/records/{site.archived}/pdf"  # not the server's path
    record = client.get(f"/api/records/{site.archived}", headers=bearer).json()
    assert record["dossier"]["FileCode"] == "HS-2019-0001"
    assert record["download"] == f"/api/records/{site.archived}/pdf"
    assert "output_path" not in record
    assert client.get("/api/coverage", headers=bearer).status_code == 403
    assert client.get("/api/records/x/events",
                      headers={"Authorization": f"Bearer {auditor_token}"}).status_code == 404
    assert client.get("/api/search", params={"q": "x"},
                      headers={"Authorization": f"Bearer {auditor_token}"}).status_code == 403
    assert client.get("/api/search", params={"q": "binh"},
                      headers={"Authorization": "Bearer sohoa_forged"}).status_code == 401
    assert client.get("/api/search", params={"q": "binh"},
                      headers={"Authorization": f"Basic {token}"}).status_code == 401
    with database_session(site.settings.database_url) as session:
        accounts.revoke_token(session, "portal")
    client.app.state.web.accounts.forget()
    assert client.get("/api/dossiers/HS-2019-0001", headers=bearer).status_code == 401
    schema = client.get("/api/openapi.json",
                        headers={"Authorization": f"Bearer {auditor_token}"}).json()
    assert "/api/dossiers/{code}" in schema["paths"]


def test_search_without_diacritics_pages_and_marks(site: Site) -> None:
    sign_in(site.client, "officer")
    page = site.client.get("/search", params={"q": "nguyen van binh"})
    assert re.findall(r'data-record="(\w+)"', page.text) == [site.archived]
    assert "<mark>Nguyễn</mark>" in page.text
    api = site.client.get("/api/search", params={"q": "dang ky khai sinh", "per_page": 1})
    body = api.json()
    assert len(body["hits"]) == 1 and body["more"] is True
    second = site.client.get("/api/search", params={"q": "dang ky khai sinh", "per_page": 1,
                                                    "page": 2}).json()  # fmt: skip
    assert second["hits"][0]["record_id"] != body["hits"][0]["record_id"]


def test_dashboard_numbers_are_those_of_sohoa_coverage(site: Site) -> None:
    cli = invoke("coverage", "--format", "json")
    assert cli.exit_code == 0, cli.output
    expected = json.loads(cli.output)
    sign_in(site.client, "auditor")
    api = site.client.get("/api/coverage").json()
    for answer in (api, expected):
        answer["projection"] and answer["projection"].pop("as_of")
    assert api == expected
    page = site.client.get("/dashboard").text
    row = expected["rows"][0]
    assert f'<span id="headline-digitized">{row["digitized"]}</span>' in page
    assert f'<span id="headline-items">{row["registered"]}</span>' in page
    assert f'<span id="headline-percent">{row["percent"]:.1f}</span>' in page
    assert 'id="test-signed" data-value="3"' in page  # the three archived, TEST-signed files
    by_cli = json.loads(invoke("coverage", "--by", "procedure", "--format", "json").output)
    for cli_row in by_cli["rows"]:
        assert (f'data-key="{cli_row["procedure"]}" data-items="{cli_row["registered"]}" '
                f'data-digitized="{cli_row["digitized"]}"') in page  # fmt: skip


def test_english_on_request(site: Site) -> None:
    sign_in(site.client, "officer")
    assert "Tra cứu" in site.client.get("/search").text
    switched = site.client.post("/language", data={"csrf": csrf_of(site.client, "/search"),
                                                   "back": "/search"})  # fmt: skip
    assert switched.headers["location"] == "/search"
    assert ">Search<" in site.client.get("/search").text


def test_user_and_token_commands(initialised: Settings) -> None:
    env = {"SOHOA_USER_PASSWORD": PASSWORD}
    assert invoke("user", "add", "lan", "--role", "officer", env=env).exit_code == 0
    again = invoke("user", "add", "lan", "--role", "officer", env=env)
    assert again.exit_code == 1 and "exists" in again.output
    short = invoke("user", "add", "kim", "--role", "officer", env={"SOHOA_USER_PASSWORD": "short"})
    assert short.exit_code == 1 and "at least 10" in short.output
    listed = json.loads(invoke("user", "list", "--format", "json").output)
    assert [(u["name"], u["role"], u["active"]) for u in listed] == [("lan", "officer", True)]
    token = invoke("token", "add", "portal").output.strip()
    assert token.startswith("sohoa_") and len(token) > 40
    assert invoke("token", "revoke", "portal").exit_code == 0
    assert invoke("token", "add", "portal").exit_code == 0  # a new one after revoking
    with database_session(initialised.database_url) as session:
        stored = session.scalar(select(func.count()).select_from(Base.metadata.tables["api_tokens"])
                                .where(Base.metadata.tables["api_tokens"].c.token_sha256
                                       == hashlib.sha256(token.encode()).hexdigest()))
        assert stored == 1  # the digest, never the token
        [user] = accounts.users(session)
        assert user.name == "lan"
