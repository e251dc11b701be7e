"""Questions an auditor or a team lead asks: status, failures, coverage, export, events."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from sohoa.cli.options import batch_option, find_batch_id, format_option, open_database, settings_of
from sohoa.cli.output import echo_json, emit

STATE_COLUMNS = ("state", "records")
FAILURE_COLUMNS = ("record_id", "batch", "source", "reason", "attempts", "message")
REASON_COLUMNS = ("reason", "records", "paths")


@click.command()
@batch_option("Only this batch (default: all batches).", positional_alias=True)
@format_option()
@click.pass_context
def status(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """Counts by state and the failures with their reasons, for one batch or all.

    As CSV, the counts alone (one table); 'sohoa failures' lists the failed records."""
    from sohoa.records import queries

    with open_database(settings_of(ctx)) as session:
        batch_id = find_batch_id(session, batch)
        counts = queries.state_counts(session, batch_id)
        failures = queries.failures(session, batch_id)
        speed = queries.throughput(session, batch_id)
    rate = speed.pages_per_minute
    states = [{"state": state, "records": n} for state, n in counts.items()]
    if fmt == "json":
        echo_json({
            "batch": batch,
            "counts": counts,
            "pages_archived": speed.pages,
            "records_archived": speed.records,
            "pages_per_minute": rate and round(rate, 2),
            "first_archived": speed.first_archived and speed.first_archived.isoformat(),
            "last_archived": speed.last_archived and speed.last_archived.isoformat(),
            "failures_by_reason": _by_reason(failures),
            "failures": [asdict(f) for f in failures],
        })  # fmt: skip
        return
    emit(states, fmt, title=f"batch {batch}" if batch else "all batches", columns=STATE_COLUMNS)
    if fmt == "csv":
        return
    pace = f", {rate:.1f} pages/min while archiving" if rate else ""
    click.echo(f"{speed.pages} page(s) archived in {speed.records} record(s){pace}")
    if failures:
        emit(_by_reason(failures), fmt, title="failures by reason")
        emit(_failure_rows(failures), fmt, title="failures")


def _by_reason(failures: list) -> list[dict[str, Any]]:
    by_reason: dict[str, list[str]] = {}
    for failure in failures:
        by_reason.setdefault(failure.reason, []).append(failure.rel_path)
    return [
        {"reason": reason, "records": len(paths), "paths": ", ".join(paths)}
        for reason, paths in sorted(by_reason.items(), key=lambda item: -len(item[1]))
    ]


def _failure_rows(found: list) -> list[dict[str, Any]]:
    return [
        {"record_id": f.uid, "batch": f.batch, "source": f.rel_path, "reason": f.reason,
         "attempts": f.attempts, "message": f.message}
        for f in found
    ]  # fmt: skip


@click.command()
@batch_option("Only this batch (default: all batches).", positional_alias=True)
@format_option(default="csv")
@click.pass_context
def failures(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """The failed records as a work list: record, batch, source, reason, attempts, message."""
    from sohoa.records import queries

    with open_database(settings_of(ctx)) as session:
        found = queries.failures(session, find_batch_id(session, batch))
    emit(_failure_rows(found), fmt, title="failures", columns=FAILURE_COLUMNS)


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
@format_option()
@click.pass_context
def coverage(ctx: click.Context, by: str, since: Any, fmt: str) -> None:
    """How far from 100% digitized: dossiers of the paper register with a signed copy /
    all registered dossiers (items and pages), with the remaining work and, from the last
    7 days' pace, a projected completion date. Without an imported register
    ('sohoa inventory import'), scanned records are the denominator.

    As JSON: {basis, rows, projection, handed_over}; as CSV: the rows."""
    from sohoa.pipeline import audit

    dims = tuple(d.strip() for d in by.split(",") if d.strip())
    answer = audit.coverage_report(settings_of(ctx), dims, since.date() if since else None)
    ahead = answer.projection
    if fmt == "json":
        echo_json(audit.coverage_json(answer))
        return
    emit(answer.rows, fmt, title=f"coverage (against {answer.basis})", columns=answer.columns)
    if fmt == "table" and answer.handed_over:
        click.echo(f"handed over to the historical archive: {answer.handed_over} dossier(s)")
    if fmt == "table" and ahead is not None:
        when = ahead.projected_completion or "unknown (nothing digitized in the last 7 days)"
        click.echo(
            f"remaining: {ahead.remaining} of {ahead.items} dossier(s); "
            f"pace {ahead.per_day:.1f}/day over {ahead.window_days} days; "
            f"projected completion: {when}"
        )


EXPORT_CSV_COLUMNS = (
    "record_id", "batch", "source", "state", "error", "procedure", "procedure_code",
    "procedure_confidence", "pages", "file_code", "title", "output", "output_sha256",
    "content_hash", "duplicate_of",
)  # fmt: skip


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A record for a spreadsheet: the page count instead of the pages, the dossier's code
    and title, no text (the JSON lines carry the text, pages and metadata)."""
    dossier = row.get("dossier") or {}
    flat = {key: row.get(key) for key in EXPORT_CSV_COLUMNS}
    flat |= {"pages": len(row["pages"]), "file_code": dossier.get("FileCode"),
             "title": dossier.get("Title")}  # fmt: skip
    return flat


@click.command()
@batch_option()
@format_option(default="jsonl", choices=click.Choice(["jsonl", "csv"]))
@click.pass_context
def export(ctx: click.Context, batch: str | None, fmt: str) -> None:
    """Every record. jsonl (default): one JSON line per record with record_id, batch,
    source, state, error, procedure, procedure_code, procedure_confidence, pages, text
    (pages split by form feed), output, output_sha256 (and more: see README). csv: one
    row per record with the page count, dossier code and title instead of pages and text."""
    import csv
    import sys

    from sohoa.records import queries

    with open_database(settings_of(ctx)) as session:
        rows = queries.export_rows(session, find_batch_id(session, batch))
        if fmt == "csv":
            writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(_flat(row) for row in rows)
            return
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))


class _HiddenOption(click.Option):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, hidden=True, **kwargs)


@click.command()
@click.argument("ident", metavar="RECORD", required=False)
@click.option("--record", "old_ident", cls=_HiddenOption, help="Old spelling of RECORD.")
@click.option("--batch", metavar="NAME", help="The batch, when the source path is in several.")
@click.option(
    "--premis", "premis_flag", is_flag=True, help="The record's PREMIS-style history as JSON."
)
@format_option()
@click.pass_context
def events(
    ctx: click.Context,
    ident: str | None,
    old_ident: str | None,
    batch: str | None,
    premis_flag: bool,
    fmt: str,
) -> None:
    """The audit trail of RECORD (its id, or its source path): every step (ingest, digest,
    deskew, ocr, classify, pdfa, sign, verify, review, ...) with its time, outcome, and the
    tool and version that did it. --premis prints it as a PREMIS 3.0-style JSON history:
    the object with its identifiers and fixity, the events, and the agents."""
    from sohoa.records import premis

    ident = ident or old_ident
    if not ident:
        raise click.UsageError("name the record: sohoa events RECORD_ID", ctx)
    with open_database(settings_of(ctx)) as session:
        record = premis.find_record(session, ident, batch)
        if premis_flag:
            echo_json(premis.premis_history(session, record))
            return
        rows = [premis.event_row(event) for event in premis.events_of(session, record)]
    if fmt != "json":
        for row in rows:
            row["detail"] = json.dumps(row["detail"], ensure_ascii=False)[:120]
    emit(rows, fmt, title=f"events of {record.uid} ({record.rel_path})")


COMMANDS = [status, failures, coverage, export, events]
