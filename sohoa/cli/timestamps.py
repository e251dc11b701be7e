"""`sohoa timestamps renew`: keep B-LTA archive timestamps ahead of their certificates."""

from __future__ import annotations

import sys

import click

from sohoa.cli.options import settings_of
from sohoa.cli.output import FORMATS, emit
from sohoa.errors import ExitCode

RENEWAL_COLUMNS = ["record", "outcome", "expired_on", "expires_on", "message", "path"]


@click.group("timestamps")
def timestamps() -> None:
    """Long-term archive timestamps of PAdES B-LTA files."""


@timestamps.command("renew")
@click.option(
    "--within",
    "days",
    type=click.IntRange(min=0),
    default=90,
    show_default=True,
    help="Renew files whose newest timestamp certificate expires within DAYS.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def renew(ctx: click.Context, days: int, fmt: str) -> None:
    """Add a fresh document timestamp (with the previous one's validation data) to every
    archived B-LTA file whose newest timestamp certificate expires within DAYS. Each renewal
    is a 'timestamp_renewal' event and updates the record's SHA-256. Exit code 2 when a file
    could not be renewed."""
    from sohoa.pipeline.timestamps import renew_timestamps

    report = renew_timestamps(settings_of(ctx), days)
    rows = [
        {
            "record": r.uid,
            "outcome": r.outcome,
            "expired_on": r.expired_on,
            "expires_on": r.expires_on,
            "message": r.message,
            "path": r.path,
        }
        for r in report.renewals
    ]
    emit(rows, fmt, title="timestamp renewals", columns=RENEWAL_COLUMNS)
    if fmt == "table":
        renewed = len(report.renewals) - report.failed
        click.echo(f"{renewed} of {report.checked} B-LTA file(s) renewed (within {days} days)")
    if report.failed:
        sys.exit(ExitCode.FAILED_RECORDS)


COMMANDS = [timestamps]
