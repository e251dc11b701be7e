"""Questions an auditor or a team lead asks: status, failures, coverage, export, events."""

from __future__ import annotations

import json
from typing import Any

import click

from sohoa.cli.options import find_batch_id, friendly_errors, open_database, settings_of
from sohoa.cli.output import FORMATS, emit
from sohoa.pipeline import audit
from sohoa.records import premis, queries


@click.command()
@click.argument("batch", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly_errors
def status(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """Counts by state and the failures with their reasons, for BATCH or all batches."""
    with open_database(settings_of(ctx)) as session:
        batch_id = find_batch_id(session, batch)
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


@click.command()
@click.argument("batch", required=False)
@click.option("--format", "fmt", type=FORMATS, default="csv", show_default=True)
@click.pass_context
@friendly_errors
def failures(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """The failed records of BATCH (default: all) as a work list: reason, path, message."""
    with open_database(settings_of(ctx)) as session:
        batch_id = find_batch_id(session, batch)
        found = queries.failures(session, batch_id)
    emit(_failure_rows(found), fmt, title="failures")


@click.command()
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
    answer = audit.coverage_report(settings_of(ctx), dims, since.date() if since else None)
    emit(answer.rows, fmt, title=f"coverage (against {answer.basis})")
    ahead = answer.projection
    if fmt == "table" and ahead is not None:
        when = ahead.projected_completion or "unknown (nothing digitized in the last 7 days)"
        click.echo(
            f"remaining: {ahead.remaining} of {ahead.items} dossier(s); "
            f"pace {ahead.per_day:.1f}/day over {ahead.window_days} days; "
            f"projected completion: {when}"
        )


@click.command()
@click.option("--batch", help="Only this batch.")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.pass_context
@friendly_errors
def export(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """One JSON line per record: record_id, batch, source, state, error, procedure,
    procedure_code, procedure_confidence, pages, text (pages split by form feed),
    output, output_sha256 (and more: see README)."""
    with open_database(settings_of(ctx)) as session:
        batch_id = find_batch_id(session, batch)
        for row in queries.export_rows(session, batch_id):
            click.echo(json.dumps(row, ensure_ascii=False, default=str))


@click.command()
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
    with open_database(settings_of(ctx)) as session:
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


COMMANDS = [status, failures, coverage, export, events]
