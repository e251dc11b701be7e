"""`sohoa`: the command line. Thin: parse, call the pipeline, print.

Exit codes: 0 all good; 1 usage or configuration error; 2 the batch finished with failed
records (or `verify` found a problem); 130 interrupted.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from sohoa import __version__
from sohoa.config import Settings, load_settings
from sohoa.errors import ExitCode, SohoaError
from sohoa.pipeline import (
    RunReport,
    RunRequest,
    audit,
    initialise,
    review,
    run_batch,
    verify_archive,
)
from sohoa.progress import reporter_for
from sohoa.records import (
    check_schema,
    database_session,
    grant_auditor,
    make_engine,
    queries,
    store,
)

# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
FORMATS = click.Choice(["table", "json", "csv"])


def _settings(ctx: click.Context) -> Settings:
    return load_settings(ctx.obj.get("config"))


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


def emit(rows: list[dict[str, Any]], fmt: str, title: str | None = None) -> None:
    """Print rows as a table, a JSON array, or CSV with a header."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    columns = list(rows[0]) if rows else []
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        numeric = rows and isinstance(rows[0][column], int | float)
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _database(settings: Settings) -> AbstractContextManager[Session]:
    """One transaction on the configured database; the engine is closed afterwards."""
    return database_session(settings.database_url)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SOHOA_CONFIG",
    help="config.yaml to use (default: ./config.yaml if present, then built-in defaults).",
)
@click.version_option(__version__, prog_name="sohoa")
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Digitize paper administrative records: scans in, signed PDF/A and a records database out.

    \b
    Typical session:
      sohoa init                          # database, folders, TEST signing key
      sohoa sample scans/ --records 12    # synthetic scans to try it on
      sohoa run scans/ --batch box-001    # OCR, classify, PDF/A, sign, record
      sohoa status box-001                # counts by state, failures with reasons
      sohoa coverage --by procedure       # how far from 100% digitized
      sohoa export > records.jsonl        # one JSON line per record
      sohoa verify                        # re-check hashes, signatures, PDF/A

    Settings come from config.yaml, then SOHOA_* environment variables
    (SOHOA_DATABASE_URL, SOHOA_DATA_DIR, SOHOA_WORKERS, SOHOA_SIGNING_PASSPHRASE).
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


@main.command()
@click.pass_context
@friendly_errors
def init(ctx: click.Context) -> None:
    """Create or upgrade the database and folders, and a TEST signing key if none is set.

    Safe to run again: nothing that exists is replaced.
    """
    settings = _settings(ctx)
    report = initialise(settings)
    click.echo(f"database ready at schema {report.revision}: {_safe_url(settings.database_url)}")
    click.echo(f"archive folder: {settings.archive_dir}")
    click.echo(f"signing key: {report.signing_key} ({report.signing_note})")
    if report.signing_note.startswith("TEST"):
        click.echo(
            "  the TEST key is NOT FOR PRODUCTION: set signing.pkcs12 to the agency's certificate"
        )


def _safe_url(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def _print_report(report: RunReport) -> None:
    rate = report.pages / (report.seconds / 60) if report.seconds > 0 else 0.0
    rows = [{"state": state, "records": n} for state, n in report.counts.items() if n]
    emit(rows, "table", title=f"batch {report.batch}")
    click.echo(
        f"this run: {report.processed} record(s), {report.pages} page(s) in "
        f"{report.seconds:.1f} s ({rate:.1f} pages/min)"
    )


def _interrupt_on_sigterm() -> None:
    """A service manager's stop (SIGTERM) ends a batch as cleanly as Ctrl-C does."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _finish_run(report: RunReport) -> None:
    _print_report(report)
    if report.interrupted:
        err_console.print(
            f"interrupted: in-flight records went back to pending; "
            f"run 'sohoa resume {report.batch}' to finish",
            highlight=False,
        )
        sys.exit(ExitCode.INTERRUPTED)
    if report.failed:
        err_console.print(
            f"{report.failed} record(s) failed: see 'sohoa status {report.batch}', "
            f"then 'sohoa resume {report.batch}'",
            highlight=False,
        )
        sys.exit(ExitCode.FAILED_RECORDS)


workers_option = click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes (default: usable cores)."
)
scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (use PostgreSQL then).",
)


@main.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batch", help="Batch name (default: the folder's name). Re-running it resumes.")
@workers_option
@scheduler_option
@click.pass_context
@friendly_errors
def run(
    ctx: click.Context, source: Path, batch: str | None, workers: int | None, scheduler: str | None
) -> None:
    """Process the batch in SOURCE: each sub-folder, and each loose file, is one record.

    Names starting with '.' or '_' are skipped. Running the same batch again only does what
    is not archived yet. Exit code 2 when some records failed.
    """
    settings = _settings(ctx)
    request = RunRequest(
        batch=batch or source.absolute().name, source=source, workers=workers, scheduler=scheduler
    )
    _interrupt_on_sigterm()
    _finish_run(run_batch(request, settings, reporter_for(err_console)))


@main.command()
@click.argument("batch", required=False)
@click.option("--retry-all", is_flag=True, help="Also retry records past the attempt limit.")
@workers_option
@scheduler_option
@click.pass_context
@friendly_errors
def resume(
    ctx: click.Context,
    batch: str | None,
    retry_all: bool,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Finish BATCH (default: the latest): pending, interrupted and failed records.

    Failed records are retried up to pipeline.max_attempts times (--retry-all ignores it).
    """
    settings = _settings(ctx)
    if batch is None:
        with _database(settings) as session:
            batch = store.find_batch(session, None).name
    request = RunRequest(batch=batch, workers=workers, scheduler=scheduler, retry_all=retry_all)
    _interrupt_on_sigterm()
    _finish_run(run_batch(request, settings, reporter_for(err_console)))


@main.command()
@click.argument("batch", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def status(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """Counts by state and the failures with their reasons, for BATCH or all batches."""
    with _database(_settings(ctx)) as session:
        batch_id = _batch_id(session, batch)
        counts = queries.state_counts(session, batch_id)
        failures = queries.failures(session, batch_id)
        speed = queries.throughput(session, batch_id)
    rate = speed.pages_per_minute
    if fmt == "json":
        payload = {
            "batch": batch,
            "counts": counts,
            "pages_archived": speed.pages,
            "pages_per_minute": rate and round(rate, 2),
            "first_archived": speed.first_archived and speed.first_archived.isoformat(),
            "last_archived": speed.last_archived and speed.last_archived.isoformat(),
            "failures": [f.__dict__ for f in failures],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    rows = [{"state": state, "records": n} for state, n in counts.items()]
    emit(rows, fmt, title=f"batch {batch}" if batch else "all batches")
    if fmt == "table":
        pace = f", {rate:.1f} pages/min while archiving" if rate else ""
        click.echo(f"{speed.pages} page(s) archived in {speed.records} record(s){pace}")
    if failures and fmt == "table":
        by_reason: dict[str, list[str]] = {}
        for failure in failures:
            by_reason.setdefault(failure.reason, []).append(failure.rel_path)
        grouped = [
            {"reason": reason, "records": len(paths), "paths": ", ".join(paths)}
            for reason, paths in sorted(by_reason.items(), key=lambda item: -len(item[1]))
        ]
        emit(grouped, fmt, title="failures by reason")
    if failures:
        emit(_failure_rows(failures), fmt, title="failures")


def _failure_rows(found: list) -> list[dict[str, Any]]:
    return [
        {"record_id": f.uid, "source": f.rel_path, "reason": f.reason,
         "attempts": f.attempts, "message": f.message}
        for f in found
    ]  # fmt: skip


def _batch_id(session: Any, batch: str | None) -> int | None:
    """The id of the named batch (an error if unknown), or None for all batches."""
    return store.find_batch(session, batch).id if batch else None


@main.command()
@click.argument("batch", required=False)
@click.option("--format", "fmt", type=FORMATS, default="csv", show_default=True)
@click.pass_context
@friendly_errors
def failures(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """The failed records of BATCH (default: all) as a work list: reason, path, message."""
    with _database(_settings(ctx)) as session:
        batch_id = _batch_id(session, batch)
        found = queries.failures(session, batch_id)
    emit(_failure_rows(found), fmt, title="failures")


@main.command()
@click.option(
    "--by",
    "by",
    default="",
    metavar="DIMS",
    help="Group by procedure, unit, year and/or batch, comma-separated, e.g. "
    "--by procedure,year (unit and year need the paper register).",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Count only copies archived on or after this day (YYYY-MM-DD).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def coverage(ctx: click.Context, by: str, since: Any, fmt: str) -> None:
    """How far from 100% digitized: dossiers of the paper register with a signed copy /
    all registered dossiers (items and pages), with the remaining work and, from the last
    7 days' pace, a projected completion date. Without an imported register
    ('sohoa inventory import'), scanned records are the denominator."""
    dims = tuple(d.strip() for d in by.split(",") if d.strip())
    answer = audit.coverage_report(_settings(ctx), dims, since.date() if since else None)
    emit(answer.rows, fmt, title=f"coverage (against {answer.basis})")
    ahead = answer.projection
    if fmt == "table" and ahead is not None:
        when = ahead.projected_completion or "unknown (nothing digitized in the last 7 days)"
        click.echo(
            f"remaining: {ahead.remaining} of {ahead.items} dossier(s); "
            f"pace {ahead.per_day:.1f}/day over {ahead.window_days} days; "
            f"projected completion: {when}"
        )


@main.group("inventory")
def inventory_group() -> None:
    """The paper register (mục lục hồ sơ): the denominator of coverage."""


@inventory_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@friendly_errors
def inventory_import(ctx: click.Context, file: Path) -> None:
    """Load FILE (CSV, UTF-8 with or without BOM; comma, semicolon or tab separated).

    \b
    Columns: code (required, mã hồ sơ), title, unit, procedure (catalogue key or
    national code), year, location, expected_pages. Re-importing updates by code.
    Bad rows are reported with line and column; the good rows are imported.
    Exit code 2 when some rows had problems.
    """
    report, links = audit.import_register(_settings(ctx), file)
    for problem in report.problems:
        err_console.print(str(problem), highlight=False, soft_wrap=True)
    click.echo(
        f"{report.added} added, {report.changed} changed, {report.unchanged} unchanged "
        f"({report.delimiter_name}-separated); {links.linked} scanned record(s) linked"
    )
    if report.problems:
        sys.exit(ExitCode.FAILED_RECORDS)


@main.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def link(ctx: click.Context, fmt: str) -> None:
    """Link scanned records to register items by dossier code (folder or file name), and
    list what could not be linked, both ways."""
    report = audit.link(_settings(ctx))
    if fmt == "table":
        click.echo(f"{report.linked} record(s) linked ({report.newly_linked} new)")
    unregistered = [{"record_id": r.uid, "batch": r.batch, "source": r.rel_path}
                    for r in report.unregistered]  # fmt: skip
    unscanned = [{"code": i.code, "title": i.title} for i in report.unscanned]
    if fmt == "json":
        payload = {
            "linked": report.linked,
            "scanned_not_registered": unregistered,
            "registered_not_scanned": unscanned,
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    emit(unregistered, fmt, title="scanned but not in the register")
    emit(unscanned, fmt, title="in the register but not scanned")


@main.command()
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the self-contained HTML report.",
)
@click.pass_context
@friendly_errors
def report(ctx: click.Context, html_path: Path) -> None:
    """A self-contained HTML report for the city: headline percentage, burn-up toward 100%,
    bars by procedure and unit, failure and review backlog, verification status."""
    audit.write_report(_settings(ctx), html_path)
    click.echo(f"wrote {html_path}")


@main.command()
@click.option("--batch", help="Only this batch.")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.pass_context
@friendly_errors
def export(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """One JSON line per record: record_id, batch, source, state, error, procedure,
    procedure_code, procedure_confidence, pages, text (pages split by form feed),
    output, output_sha256 (and more: see README)."""
    with _database(_settings(ctx)) as session:
        batch_id = _batch_id(session, batch)
        for row in queries.export_rows(session, batch_id):
            click.echo(json.dumps(row, ensure_ascii=False, default=str))


@main.command()
@click.option("--batch", help="Only this batch.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def verify(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """Re-hash every archived file, validate its signatures and its PDF/A-2B claim.

    Each verdict is recorded as a 'verify' event. Exit code 2 when anything fails.
    """
    results = verify_archive(_settings(ctx), batch)
    rows = [
        {
            "record": r.uid,
            "ok": r.ok,
            "problems": "; ".join(r.problems),
            "pdfa_validator": r.pdfa_validator,
            "path": r.path,
        }
        for r in results
    ]
    emit(rows, fmt, title="verification")
    bad = sum(not r.ok for r in results)
    if fmt == "table":
        click.echo(f"{len(results) - bad} of {len(results)} archived file(s) verified")
    if bad:
        sys.exit(ExitCode.FAILED_RECORDS)


@main.group("db")
def db_group() -> None:
    """Database administration."""


@db_group.command("grant-auditor")
@click.argument("role")
@click.option(
    "--password",
    envvar="SOHOA_AUDITOR_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The role's password (or SOHOA_AUDITOR_PASSWORD; asked for when missing).",
)
@click.pass_context
@friendly_errors
def db_grant_auditor(ctx: click.Context, role: str, password: str) -> None:
    """Create a read-only PostgreSQL login ROLE for auditors.

    With it, status, coverage, export, failures and report work while a
    batch is running; nothing can be changed.
    """
    settings = _settings(ctx)
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
        grant_auditor(engine, role, password)
    finally:
        engine.dispose()
    click.echo(f"role {role} can now read {_safe_url(settings.database_url)}")


@main.group("review")
def review_group() -> None:
    """Records whose procedure or OCR a person should check: list, show, accept, set."""


@review_group.command("list")
@click.option("--batch", help="Only this batch.")
@click.option("--procedure", help="Only records classified as this procedure (catalogue key).")
@click.option("--below", type=float, help="Only records with a confidence below this.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def review_list(
    ctx: click.Context, batch: str | None, procedure: str | None, below: float | None, fmt: str
) -> None:
    """Records in needs_review, least confident first."""
    with _database(_settings(ctx)) as session:
        items = queries.review_queue(session, _batch_id(session, batch), procedure, below)
    rows = [
        {"record_id": i.uid, "batch": i.batch, "source": i.rel_path, "procedure": i.procedure,
         "confidence": i.confidence, "ocr_confidence": i.mean_ocr_confidence}
        for i in items
    ]  # fmt: skip
    emit(rows, fmt, title="waiting for review")


@review_group.command("show")
@click.argument("record_id")
@click.pass_context
@friendly_errors
def review_show(ctx: click.Context, record_id: str) -> None:
    """The start of page 1 and the classifier's top candidates for RECORD_ID."""
    detail = review.show(_settings(ctx), record_id)
    click.echo(f"record {detail.uid} ({detail.rel_path}), {detail.state}")
    click.echo(f"procedure: {detail.procedure} (confidence {detail.confidence})")
    for rank, (key, score) in enumerate(detail.candidates[:3], start=1):
        click.echo(f"  candidate {rank}: {key} {score:.3f}")
    click.echo("--- page 1 ---")
    click.echo(detail.excerpt)


@review_group.command("accept")
@click.argument("record_ids", nargs=-1, required=True)
@click.pass_context
@friendly_errors
def review_accept(ctx: click.Context, record_ids: tuple[str, ...]) -> None:
    """Confirm the classifier's procedure for RECORD_IDS: they become archived."""
    count = review.accept(_settings(ctx), list(record_ids))
    click.echo(f"accepted {count} record(s)")


@review_group.command("set")
@click.argument("record_id")
@click.argument("procedure")
@click.pass_context
@friendly_errors
def review_set(ctx: click.Context, record_id: str, procedure: str) -> None:
    """Correct RECORD_ID's procedure: its PDF/A is rebuilt, re-signed and moved."""
    output = review.correct(_settings(ctx), record_id, procedure)
    click.echo(f"record {record_id} is now {procedure}: {output}")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--records", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dpi", type=click.IntRange(min=50, max=600), default=200, show_default=True)
@click.option(
    "--unknown-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of records of procedures outside the catalogue.",
)
@click.pass_context
@friendly_errors
def sample(
    ctx: click.Context, directory: Path, records: int, seed: int, dpi: int, unknown_share: float
) -> None:
    """Write synthetic Vietnamese scans to DIRECTORY, with _truth.jsonl and _inventory.csv."""
    from sohoa.sample import generate_sample

    settings = _settings(ctx)
    if directory.exists() and any(directory.iterdir()):
        raise SohoaError(f"{directory} is not empty: choose a new folder")
    summary = generate_sample(
        directory,
        records,
        seed,
        settings.section("classify")["catalogue"],
        dpi=dpi,
        unknown_share=unknown_share,
    )
    click.echo(
        f"wrote {summary.records} record(s), {summary.pages} page(s) to {summary.out_dir} "
        f"(truth: {summary.truth_path.name}, register: {summary.inventory_path.name})"
    )


if __name__ == "__main__":
    main()
