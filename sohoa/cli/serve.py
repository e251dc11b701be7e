"""`sohoa serve` (the web app) and its accounts: `sohoa user ...`, `sohoa token ...`.

FastAPI and uvicorn are imported inside `serve` only: `sohoa --help` and `sohoa status`
must not pay for them."""

from __future__ import annotations

import os
from dataclasses import asdict

import click

from sohoa.cli.options import format_option, open_database, settings_of
from sohoa.cli.output import emit

ROLES = ("officer", "auditor", "operator", "admin")  # sohoa.records.accounts.ROLES


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True,
    help="Address to listen on (0.0.0.0: every interface; put HTTPS in front).",
)  # fmt: skip
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(min=1),
              help="Server processes (default: web.workers, else usable cores); each "
                   "works on web.threads requests at once (default 1: raise it when "
                   "PostgreSQL runs on another machine).")  # fmt: skip
@click.option("--access-log", is_flag=True, help="Print one line per HTTP request.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None, access_log: bool) -> None:
    """The web app: search, records and downloads for officers, the live coverage dashboard
    for auditors, batches and failures for operators, users and tokens for admins, and a
    JSON API under /api/ (docs at /api/docs once signed in).

    \b
    Make the first account with:  sohoa user add NAME --role admin
    Every view and download of a record is logged (who, when, which record, from where).
    """
    import uvicorn

    from sohoa.pipeline.cluster import usable_cores
    from sohoa.web.app import create_app, secret_key

    settings = settings_of(ctx)
    config_path = ctx.find_root().obj.get("config")
    if config_path:  # the worker processes load the same settings
        os.environ["SOHOA_CONFIG"] = str(config_path)
    create_app(settings).state.web.pool.dispose()  # fails here, once, if the database is not ready
    secret_key(settings)  # made before the workers start, so that they share it
    count = workers or settings.web.workers or usable_cores()
    click.echo(f"sohoa serve: http://{host}:{port}/ ({count} process(es))", err=True)
    uvicorn.run(
        "sohoa.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=count,
        access_log=access_log,
        proxy_headers=True,  # X-Forwarded-For from a reverse proxy on this machine
        server_header=False,
        log_level="info",
        # uvicorn's default (5 s) equals httpx's own idle expiry: a client reusing a connection
        # idle for nearly 5 s sent its request just as the server closed it, and got no
        # answer (RemoteProtocolError, ReadError).
        timeout_keep_alive=settings.web.keep_alive_s,
    )


@click.group("user")
def user_group() -> None:
    """Accounts of the web app (sohoa serve)."""


def _password_option(help_text: str):
    return click.option("--password", envvar="SOHOA_USER_PASSWORD", prompt=True, hide_input=True,
                        confirmation_prompt=True, help=help_text)  # fmt: skip


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="officer: search, view, download; auditor: dashboard, coverage, "
                   "verification, events; operator: batches, failures, reviews; admin: users, "
                   "tokens, access log.")  # fmt: skip
@_password_option("At least 10 characters (or SOHOA_USER_PASSWORD; asked for when missing).")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password: str) -> None:
    """Add a user NAME with a ROLE; the password is kept as an Argon2id hash."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        accounts.add_user(session, name, role, password)
    click.echo(f"user {name} ({role}) added")


@user_group.command("list")
@format_option()
@click.pass_context
def user_list(ctx: click.Context, fmt: str) -> None:
    """The users, their roles, and whether they may sign in."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        rows = [asdict(u) for u in accounts.users(session)]
    emit(rows, fmt, title="users", columns=("name", "role", "active", "created_at"))


@user_group.command("passwd")
@click.argument("name")
@_password_option("The new password (or SOHOA_USER_PASSWORD; asked for when missing).")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password: str) -> None:
    """Set the password of NAME."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        accounts.set_password(session, name, password)
    click.echo(f"password of {name} changed")


@user_group.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str) -> None:
    """Give NAME another ROLE (effective within seconds, also in open sessions)."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        accounts.set_role(session, name, role)
    click.echo(f"{name} is now {role}")


@user_group.command("disable")
@click.argument("name")
@click.pass_context
def user_disable(ctx: click.Context, name: str) -> None:
    """Stop NAME from signing in (open sessions end within seconds); kept for the log."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        accounts.set_active(session, name, False)
    click.echo(f"{name} disabled")


@user_group.command("enable")
@click.argument("name")
@click.pass_context
def user_enable(ctx: click.Context, name: str) -> None:
    """Let a disabled NAME sign in again."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        accounts.set_active(session, name, True)
    click.echo(f"{name} enabled")


@user_group.command("log")
@click.option("--user", "actor", help="Only this user (or token:CLIENT).")
@click.option("--record", help="Only this record id.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@format_option()
@click.pass_context
def user_log(ctx: click.Context, actor: str | None, record: str | None, limit: int,
             fmt: str) -> None:  # fmt: skip
    """The record access log of the web app: who viewed or downloaded which record, when,
    from which address; newest first."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        total, rows = accounts.access_log(session, limit, 0, actor, record)
    emit([asdict(r) for r in rows], fmt, title=f"record access log ({total} line(s))",
         columns=("at", "actor", "action", "record_id", "address"))  # fmt: skip


@click.group("token")
def token_group() -> None:
    """API tokens for client programs (the public-service portal)."""


@token_group.command("add")
@click.argument("client")
@click.option("--role", type=click.Choice(ROLES), default="officer", show_default=True)
@click.pass_context
def token_add(ctx: click.Context, client: str, role: str) -> None:
    """A token for CLIENT, printed once (only its SHA-256 is kept): the client sends it as
    'Authorization: Bearer TOKEN'."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        token = accounts.add_token(session, client, role)
    click.echo(token)


@token_group.command("list")
@format_option()
@click.pass_context
def token_list(ctx: click.Context, fmt: str) -> None:
    """The clients with a token, live or revoked."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        rows = [asdict(t) for t in accounts.tokens(session)]
    emit(rows, fmt, title="API tokens", columns=("client", "role", "created_at", "revoked_at"))


@token_group.command("revoke")
@click.argument("client")
@click.pass_context
def token_revoke(ctx: click.Context, client: str) -> None:
    """Revoke CLIENT's token (refused within seconds)."""
    from sohoa.records import accounts

    with open_database(settings_of(ctx)) as session:
        accounts.revoke_token(session, client)
    click.echo(f"token of {client} revoked")


COMMANDS = [serve, user_group, token_group]
