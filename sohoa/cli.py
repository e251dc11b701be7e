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
    VerifyRequest,
    audit,
    initialise,
    register,
    review,
    run_batch,
    usable_cores,
    verify_archive,
)
from sohoa.progress import reporter_for
from sohoa.records import (
    check_schema,
    database_session,
    grant_auditor,
    make_engine,
    premis,
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
    """A service manager's stop (SIGTERM) ends a batch as cleanly as Ctrl-C does. SIGINT is
    handled too even when the parent ignored it (a job started with `&` by a script inherits
    SIGINT ignored, and Python then installs no handler): `kill -INT` must still stop it."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


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


def _apply_register(settings: Settings, batch: str | None = None) -> None:
    """Archived files of records linked to the paper register get its code as their name and
    its fields in their metadata (rebuilt and re-signed); see sohoa.pipeline.register."""
    applied = register.apply_register(settings, batch)
    if applied.updated:
        err_console.print(
            f"{len(applied.updated)} archived file(s) renamed and re-signed with the paper "
            "register's dossier code and fields",
            highlight=False,
        )
    for uid, problem in applied.problems:
        err_console.print(f"[yellow]warning:[/yellow] record {uid}: {problem}", highlight=False)


def _run_and_apply_register(request: RunRequest, settings: Settings) -> RunReport:
    report = run_batch(request, settings, reporter_for(err_console))
    if not report.interrupted:
        _apply_register(settings, report.batch)
    return report


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
@click.option(
    "--engine",
    type=click.Choice(["tesseract", "null"]),
    default="tesseract",
    show_default=True,
    help="BENCHMARK ONLY: 'null' skips OCR, PDF/A and signing (records end in needs_review, "
    "no file is written) to time the driver, Dask and the database alone.",
)
@click.pass_context
@friendly_errors
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
    settings = _settings(ctx)
    request = RunRequest(
        batch=batch or source.absolute().name,
        source=source,
        workers=workers,
        scheduler=scheduler,
        engine=engine,
    )
    _interrupt_on_sigterm()
    _finish_run(_run_and_apply_register(request, settings))


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
    _finish_run(_run_and_apply_register(request, settings))


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
    settings = _settings(ctx)
    report, links = audit.import_register(settings, file)
    _apply_register(settings)
    for problem in report.problems:
        err_console.print(str(problem), highlight=False, soft_wrap=True)
    click.echo(
        f"{report.added} added, {report.changed} changed, {report.unchanged} unchanged "
        f"({report.delimiter_name}-separated); {links.linked} scanned record(s) linked"
    )
    if report.problems:
        sys.exit(ExitCode.FAILED_RECORDS)


@main.command()
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV linking records explicitly: columns code, and record_id or source (+ batch).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def link(ctx: click.Context, mapping: Path | None, fmt: str) -> None:
    """Link scanned records to register items by dossier code, and list what could not be
    linked, both ways, and the records whose sources name different dossiers.

    \b
    Sources, strongest first: the --mapping CSV (kept until another mapping moves the
    record), the folder or file name, a QR code on page 1, a code printed on page 1
    (config inventory.code_pattern). A conflict is linked by the strongest and listed.
    Mapping CSV columns: code (the register's dossier code), and record_id (as
    'sohoa export' shows it) or source (the record's path in its batch) with batch when
    that path is in several batches. Bad lines are reported with their line number and
    skipped; exit code 2 then.

    Linked records' files are then named by their dossier code and carry the register's
    fields (rebuilt and re-signed)."""
    settings = _settings(ctx)
    report = audit.link(settings, mapping)
    _apply_register(settings)
    for problem in report.problems:
        err_console.print(f"{mapping}: {problem}", highlight=False, soft_wrap=True)
    if fmt == "table":
        by_mapping = f", {report.mapped} by the mapping" if mapping else ""
        click.echo(
            f"{report.linked} record(s) linked ({report.newly_linked} new{by_mapping}, "
            f"{report.unlinked} unlinked); {len(report.conflicts)} conflict(s)"
        )
    unregistered = [{"record_id": r.uid, "batch": r.batch, "source": r.rel_path,
                     "code_on_page": r.found_code or ""} for r in report.unregistered]  # fmt: skip
    unscanned = [{"code": i.code, "title": i.title} for i in report.unscanned]
    conflicts = [
        {"record_id": c.uid, "batch": c.batch, "source": c.rel_path,
         "linked_to": c.linked_code or "",
         "claims": "; ".join(f"{source} {code}" for source, code in c.claims)}
        for c in report.conflicts
    ]  # fmt: skip
    if fmt == "json":
        payload = {
            "linked": report.linked,
            "scanned_not_registered": unregistered,
            "registered_not_scanned": unscanned,
            "conflicts": conflicts,
            "mapping_problems": [str(p) for p in report.problems],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        emit(unregistered, fmt, title="scanned but not in the register")
        emit(unscanned, fmt, title="in the register but not scanned")
        if conflicts:
            emit(conflicts, fmt, title="sources that disagree (linked by the strongest)")
    if report.problems:
        sys.exit(ExitCode.FAILED_RECORDS)


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
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only files archived on or after this day (YYYY-MM-DD).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Dask worker processes (default: none below 200 files, else the usable cores).",
)
@scheduler_option
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def verify(
    ctx: click.Context,
    batch: str | None,
    since: Any,
    workers: int | None,
    scheduler: str | None,
    fmt: str,
) -> None:
    """Re-hash every archived file, validate its signatures (intact, trusted, timestamps),
    its structure (qpdf --check) and its PDF/A-2B claim (veraPDF, else a quick check).

    Each verdict is recorded as a 'verify' event. Exit code 2 when anything fails.
    A copy that is missing, unreadable or no longer matches its SHA-256 fails its record
    as 'damaged': it stops counting in 'sohoa coverage', and 'sohoa resume BATCH' makes a
    new copy from the source.
    """
    request = VerifyRequest(batch, since.date() if since else None, workers, scheduler)
    # A bar on a terminal; off one the result rows say it all, and stdout stays pure JSON/CSV.
    reporter = reporter_for(err_console) if err_console.is_terminal else None
    results = verify_archive(_settings(ctx), request, reporter)
    rows = [
        {
            "record": r.uid,
            "ok": r.ok,
            "problems": "; ".join(r.problems),
            "pdfa_validator": r.pdfa_validator,
            "path": r.path,
            "source": r.rel_path,
            "structure_validator": r.structure_validator,
        }
        for r in results
    ]
    emit(rows, fmt, title="verification")
    bad = sum(not r.ok for r in results)
    if fmt == "table":
        click.echo(f"{len(results) - bad} of {len(results)} archived file(s) verified")
    if bad:
        sys.exit(ExitCode.FAILED_RECORDS)


@main.command()
@click.option("--record", "ident", required=True, metavar="ID", help="Record id or source path.")
@click.option("--batch", help="The batch, when the source path is in several.")
@click.option(
    "--premis", "premis_flag", is_flag=True, help="The record's PREMIS-style history as JSON."
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def events(ctx: click.Context, ident: str, batch: str | None, premis_flag: bool, fmt: str) -> None:
    """The audit trail of one record: every step (ingest, digest, deskew, ocr, classify,
    pdfa, sign, verify, review, ...) with its time, outcome, and the tool and version
    that did it. --premis prints it as a PREMIS 3.0-style JSON history: the object with its
    identifiers and fixity, the events, and the agents (programs and people)."""
    with _database(_settings(ctx)) as session:
        record = premis.find_record(session, ident, batch)
        if premis_flag:
            click.echo(json.dumps(premis.premis_history(session, record), ensure_ascii=False,
                                  indent=2))  # fmt: skip
            return
        rows = [premis.event_row(event) for event in premis.events_of(session, record)]
    if fmt != "json":
        for row in rows:
            row["detail"] = json.dumps(row["detail"], ensure_ascii=False)[:120]
    emit(rows, fmt, title=f"events of {record.uid} ({record.rel_path})")


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


@main.group("classify")
def classify_group() -> None:
    """The trained classifier: train it, measure it, choose the active model."""


def _say(message: str) -> None:
    err_console.print(message, highlight=False, soft_wrap=True)


def _echo_report(fmt: str, as_data: Callable, as_text: Callable, report: Any) -> None:
    if fmt == "json":
        click.echo(json.dumps(as_data(report), ensure_ascii=False, indent=2))
    else:
        click.echo(as_text(report))


labelled_option = click.option(
    "--from",
    "folders",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A labelled folder: records plus _truth.jsonl, as 'sohoa sample' writes. Repeatable.",
)


@classify_group.command("train")
@labelled_option
@click.option("--no-db", is_flag=True, help="Leave out the reviewed records of the database.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the folds.")
@workers_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
@friendly_errors
def classify_train(
    ctx: click.Context,
    folders: tuple[Path, ...],
    no_db: bool,
    seed: int,
    workers: int | None,
    fmt: str,
) -> None:
    """Train a model on the records a person reviewed ('sohoa review accept|set') and on
    labelled folders (OCR'd like 'sohoa run' does; the text is cached in the data folder).

    The model file goes to <data_dir>/models/, is recorded in the database and becomes the
    active model: 'sohoa run' classifies with it and the rules together.
    """
    from sohoa.pipeline import training

    settings = _settings(ctx)
    report = training.train_model(
        settings, list(folders), use_database=not no_db, workers=workers or usable_cores(),
        seed=seed, say=_say,
    )  # fmt: skip
    _echo_report(fmt, training.train_payload, training.render_train, report)


@classify_group.command("eval")
@labelled_option
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A model file to measure instead of the active model.",
)
@click.option("--rules-only", is_flag=True, help="Measure the rules without any model.")
@workers_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
@friendly_errors
def classify_eval(
    ctx: click.Context,
    folders: tuple[Path, ...],
    model_path: Path | None,
    rules_only: bool,
    workers: int | None,
    fmt: str,
) -> None:
    """Classify the records of labelled folders and compare with their truth: per-procedure
    precision/recall/F1, macro-F1, the confusion matrix, the share sent to review, the
    precision of what is accepted automatically, out-of-catalogue documents caught, and the
    calibration of the confidence.

    \b
    The frozen test split (never used for tuning):
      sohoa sample test --records 100 --seed 7901 --unknown-share 0.15
    trained on seeds 7101 (120 records) and 7102 (100 records), --unknown-share 0.12;
    seed 7201 (60 records, 0.15) was the development split.
    """
    from sohoa.pipeline import evaluation

    if not folders:
        raise SohoaError("give at least one labelled folder with --from DIR")
    report = evaluation.evaluate(
        _settings(ctx), list(folders), model_path=model_path, rules_only=rules_only,
        workers=workers or usable_cores(), say=_say,
    )  # fmt: skip
    _echo_report(fmt, evaluation.payload, evaluation.render, report)


@classify_group.command("models")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def classify_models(ctx: click.Context, fmt: str) -> None:
    """The trained models recorded in the database; the active one classifies new records."""
    from sohoa.pipeline import training

    rows = [row.__dict__ for row in training.list_models(_settings(ctx))]
    emit(rows, fmt, title="classifier models")


@classify_group.command("activate")
@click.argument("version")
@click.pass_context
@friendly_errors
def classify_activate(ctx: click.Context, version: str) -> None:
    """Make model VERSION the active one (e.g. to roll back); 'none' for the rules alone."""
    from sohoa.pipeline import training

    training.activate(_settings(ctx), None if version == "none" else version)
    click.echo("classifying with the rules alone" if version == "none" else f"active: {version}")


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


from sohoa.cli_search import search_command  # noqa: E402

main.add_command(search_command)

if __name__ == "__main__":
    main()
