"""What the commands print: the consoles, and rows as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sohoa.pipeline import Reporter
    from sohoa.pipeline.register import RegisterReport

# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
FORMATS = click.Choice(["table", "json", "csv"])
QUIET = False  # -q: no progress and no advice on stderr; errors and results still


def emit(
    rows: list[dict[str, Any]],
    fmt: str,
    title: str | None = None,
    columns: Sequence[str] = (),
) -> None:
    """Print rows as a table, a JSON array, or CSV with a header (`columns`, or the keys of
    the first row; give `columns` where there may be no row, so an empty CSV has a header)."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    columns = list(columns or (rows[0] if rows else []))
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        numeric = rows and isinstance(rows[0].get(column), int | float)
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def bar_reporter() -> Reporter | None:
    """A progress bar on a terminal; off one the result rows say it all, and stdout stays
    pure JSON/CSV."""
    if QUIET or not err_console.is_terminal:
        return None
    from sohoa.progress import reporter_for

    return reporter_for(err_console)


def say(message: str) -> None:
    """A progress or advice line on stderr, so that stdout stays the command's data."""
    if QUIET:
        return
    err_console.print(message, highlight=False, soft_wrap=True)


def echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def safe_url(url: str) -> str:
    """A database URL without its password, fit to print."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def say_register_changes(applied: RegisterReport) -> None:
    """What applying the paper register did to archived files (see sohoa.pipeline.register)."""
    if applied.updated:
        say(
            f"{len(applied.updated)} archived file(s) renamed and re-signed with the paper "
            "register's dossier code and fields"
        )
    for uid, problem in applied.problems:  # shown with -q too: a file left as it was
        err_console.print(
            f"[yellow]warning:[/yellow] record {uid}: {problem}", highlight=False, soft_wrap=True
        )
