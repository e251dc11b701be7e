"""Options shared by several commands, and the settings and database of the invocation."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import wraps
from typing import Any

import click
from sqlalchemy.orm import Session

from sohoa.cli.output import FORMATS, err_console
from sohoa.config import Settings, load_settings
from sohoa.errors import SohoaError


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this invocation (--config, config.yaml, SOHOA_* variables)."""
    return load_settings(ctx.find_root().obj.get("config"))


def open_database(settings: Settings) -> AbstractContextManager[Session]:
    """One transaction on the configured database; the engine is closed afterwards."""
    from sohoa.records import database_session

    return database_session(settings.database_url)


def friendly_errors(command: Callable) -> Callable:
    """A user's mistake is one line on stderr and an exit code, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SohoaError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)

    return wrapper


def format_option(default: str = "table", choices: click.Choice = FORMATS) -> Callable:
    return click.option(
        "--format", "fmt", type=choices, default=default, show_default=True, help="Output format."
    )


workers_option = click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes (default: usable cores)."
)
scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (use PostgreSQL then).",
)


def find_batch_id(session: Session, name: str | None) -> int | None:
    """The id of the named batch (an error if unknown), or None for all batches."""
    from sohoa.records import store

    return store.find_batch(session, name).id if name else None
