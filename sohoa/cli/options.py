"""Options shared by several commands, and the settings and database of the invocation."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from sohoa.cli.output import FORMATS
from sohoa.config import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this invocation (--config, config.yaml, SOHOA_* variables)."""
    return load_settings(ctx.find_root().obj.get("config"))


def open_database(settings: Settings) -> AbstractContextManager[Session]:
    """One transaction on the configured database; the engine is closed afterwards."""
    from sohoa.records import database_session

    return database_session(settings.database_url)


def format_option(default: str = "table", choices: click.Choice = FORMATS) -> Callable:
    return click.option(
        "--format", "fmt", type=choices, default=default, show_default=True, help="Output format."
    )


workers_option = click.option(
    "-j",
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes (default: usable cores).",
)


class _HiddenArgument(click.Argument):
    """An argument left out of the usage line: an old spelling kept working."""

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        return []


def batch_option(help_text: str = "Only this batch.", positional_alias: bool = False) -> Callable:
    """`--batch NAME`, the one spelling of every command; `positional_alias` also accepts the
    old positional BATCH (status, failures, resume), left out of the help."""

    def decorate(command: Callable) -> Callable:
        target = command
        if positional_alias:

            @wraps(command)
            def merged(*args: Any, old_batch: str | None = None, **kwargs: Any) -> Any:
                if old_batch and kwargs.get("batch") not in (None, old_batch):
                    raise click.UsageError(f"two batches given: {old_batch} and {kwargs['batch']}")
                kwargs["batch"] = kwargs.get("batch") or old_batch
                return command(*args, **kwargs)

            target = click.argument("old_batch", required=False, cls=_HiddenArgument)(merged)
        return click.option("--batch", metavar="NAME", help=help_text)(target)

    return decorate


scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (use PostgreSQL then).",
)


def find_batch_id(session: Session, name: str | None) -> int | None:
    """The id of the named batch (an error if unknown), or None for all batches."""
    if not name:
        return None
    from sohoa.records import store

    return store.find_batch(session, name).id
