"""The operator's commands: run a batch, resume it."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sohoa.cli import output
from sohoa.cli.options import (
    batch_option,
    open_database,
    scheduler_option,
    settings_of,
    workers_option,
)
from sohoa.cli.output import emit, err_console, say, say_register_changes
from sohoa.config import Settings
from sohoa.errors import ExitCode, SohoaError

if TYPE_CHECKING:
    from sohoa.pipeline import RunReport, RunRequest


def _print_report(report: RunReport, settings: Settings) -> None:
    rate = report.pages / (report.seconds / 60) if report.seconds > 0 else 0.0
    rows = [{"state": state, "records": n} for state, n in report.counts.items() if n]
    emit(rows, "table", title=f"batch {report.batch}")
    click.echo(
        f"this run: {report.processed} record(s), {report.pages} page(s) in "
        f"{report.seconds:.1f} s ({rate:.1f} pages/min)"
    )
    if report.counts.get("archived", 0) or report.waiting_for_review:
        click.echo(f"signed PDF/A copies: {settings.archive_dir}")


def interrupt_on_sigterm() -> None:
    """A service manager's stop (SIGTERM) ends a batch as cleanly as Ctrl-C does. SIGINT is
    handled too even when the parent ignored it (a job started with `&` by a script inherits
    SIGINT ignored, and Python then installs no handler): `kill -INT` must still stop it."""

    def handler(_signum: int, _frame: object) -> None:
        # A second SIGTERM (a service manager, an impatient script) must not cut short the
        # clean-up the first started: records back to pending, the batch released.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _run(request: RunRequest, settings: Settings) -> RunReport:
    from sohoa.pipeline import run_and_register
    from sohoa.progress import reporter_for

    outcome = run_and_register(
        request, settings, reporter_for(err_console, output.QUIET), notice=_notice
    )
    say_register_changes(outcome.register)
    return outcome.run


def _notice(text: str) -> None:
    """What a batch says before its first record (the signing identity): warnings always,
    the rest (e.g. that the TEST key signs) unless -q."""
    if text.startswith("warning") or not output.QUIET:
        err_console.print(text, highlight=False, soft_wrap=True)


RECORD_RULE = (
    "each sub-folder of SOURCE, and each loose file in it, is one record; "
    "names starting with '.' or '_' are skipped"
)


def _finish_run(report: RunReport, settings: Settings, source: Path | None = None) -> None:
    if source is not None and report.records == 0:
        raise SohoaError(f"no records found in {source}: {RECORD_RULE}")
    _print_report(report, settings)
    batch = report.batch
    if report.interrupted:
        err_console.print(
            f"interrupted: in-flight records went back to pending; "
            f"run 'sohoa resume --batch {batch}' to finish",
            highlight=False,
        )
        sys.exit(ExitCode.INTERRUPTED)
    if report.stopped:
        err_console.print(
            f"stopped handing out records, the archive cannot be written ({report.stopped}); "
            f"the rest stay pending: fix it, then 'sohoa resume --batch {batch}'",
            highlight=False,
            soft_wrap=True,  # one line, however long the path
        )
        sys.exit(ExitCode.FAILED_RECORDS)
    if report.waiting_for_review:
        say(
            f"{report.waiting_for_review} record(s) wait for a person to check their procedure "
            f"or OCR: 'sohoa review list --batch {batch}'"
        )
    if report.failed:
        err_console.print(_failed_advice(report), highlight=False, soft_wrap=True)
        sys.exit(ExitCode.FAILED_RECORDS)


def _failed_advice(report: RunReport) -> str:
    batch, at_limit = report.batch, report.failed_at_limit
    retryable = report.failed - at_limit
    advice = [f"{report.failed} record(s) failed (see 'sohoa failures --batch {batch}')"]
    if retryable:
        advice.append(f"{retryable} will be retried by 'sohoa resume --batch {batch}'")
    if at_limit:
        advice.append(
            f"{at_limit} failed {report.max_attempts} times (pipeline.max_attempts): fix their "
            f"source first, then 'sohoa resume --batch {batch} --retry-all'"
        )
    return "; ".join(advice)


@click.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batch", help="Batch name (default: the folder's name). Re-running it resumes.")
@workers_option
@scheduler_option
@click.option(
    "--engine",
    type=click.Choice(["tesseract", "null"]),
    default="tesseract",
    show_default=True,
    help="BENCHMARK ONLY: 'null' skips OCR, PDF/A and signing (records end in needs_review, "
    "no file is written) to time the driver, Dask and the database alone.",
)
@click.pass_context
def run(
    ctx: click.Context,
    source: Path,
    batch: str | None,
    workers: int | None,
    scheduler: str | None,
    engine: str,
) -> None:
    """Process the batch in SOURCE: each sub-folder, and each loose file, is one record.

    Names starting with '.' or '_' are skipped. Running the same batch again only does what
    is not archived yet. Exit code 2 when some records failed.
    """
    settings = settings_of(ctx)
    from sohoa.pipeline import RunRequest

    request = RunRequest(
        batch=batch or source.absolute().name,
        source=source,
        workers=workers,
        scheduler=scheduler,
        engine=engine,
    )
    interrupt_on_sigterm()
    _finish_run(_run(request, settings), settings, source)


@click.command()
@batch_option("The batch to finish (default: the latest).", positional_alias=True)
@click.option("--retry-all", is_flag=True, help="Also retry records past the attempt limit.")
@workers_option
@scheduler_option
@click.pass_context
def resume(
    ctx: click.Context,
    batch: str | None,
    retry_all: bool,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Finish a batch: its pending, interrupted and failed records.

    Failed records are retried up to pipeline.max_attempts times; one that failed that often
    needs its source fixed (rescan it), then --retry-all retries it anyway.
    """
    settings = settings_of(ctx)
    if batch is None:
        with open_database(settings) as session:
            from sohoa.records import store

            batch = store.find_batch(session, None).name
    from sohoa.pipeline import RunRequest

    request = RunRequest(batch=batch, workers=workers, scheduler=scheduler, retry_all=retry_all)
    interrupt_on_sigterm()
    _finish_run(_run(request, settings), settings)


COMMANDS = [run, resume]
