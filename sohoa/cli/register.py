"""The paper register (mục lục hồ sơ): import it, link scanned records to it, report on it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sohoa.cli import output
from sohoa.cli.options import settings_of
from sohoa.cli.output import FORMATS, emit, err_console, say_register_changes
from sohoa.errors import ExitCode


@click.group("inventory")
def inventory_group() -> None:
    """The paper register (mục lục hồ sơ): the denominator of coverage."""


@inventory_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def inventory_import(ctx: click.Context, file: Path) -> None:
    """Load FILE (CSV, UTF-8 with or without BOM; comma, semicolon or tab separated).

    \b
    Columns: code (required, mã hồ sơ), title, unit, procedure (catalogue key or
    national code), year, location, expected_pages. Re-importing updates by code.
    Bad rows are reported with line and column; the good rows are imported.
    Exit code 2 when some rows had problems.
    """
    settings = settings_of(ctx)
    from sohoa.pipeline import audit

    imported = audit.import_register(settings, file, output.bar_reporter())
    say_register_changes(imported.applied)
    report, links = imported.rows, imported.links
    for problem in report.problems:
        err_console.print(str(problem), highlight=False, soft_wrap=True)
    click.echo(
        f"{report.added} added, {report.changed} changed, {report.unchanged} unchanged "
        f"({report.delimiter_name}-separated); {links.linked} scanned record(s) linked"
    )
    if report.problems:
        sys.exit(ExitCode.FAILED_RECORDS)


LINK_CSV_COLUMNS = ("kind", "record_id", "batch", "source", "code_on_page", "code", "title",
                    "linked_to", "claims")  # fmt: skip


@click.command()
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV linking records explicitly: columns code, and record_id or source (+ batch).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
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
    settings = settings_of(ctx)
    from sohoa.pipeline import audit

    outcome = audit.link(settings, mapping, output.bar_reporter())
    say_register_changes(outcome.applied)
    report = outcome.links
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
            "newly_linked": report.newly_linked,
            "mapped": report.mapped,
            "unlinked": report.unlinked,
            "scanned_not_registered": unregistered,
            "registered_not_scanned": unscanned,
            "conflicts": conflicts,
            "mapping_problems": [str(p) for p in report.problems],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
    elif fmt == "csv":  # one table: what each row is says its `kind`
        rows = [{"kind": "scanned_not_registered", **row} for row in unregistered]
        rows += [{"kind": "registered_not_scanned", **row} for row in unscanned]
        rows += [{"kind": "conflict", **row} for row in conflicts]
        emit(rows, fmt, columns=LINK_CSV_COLUMNS)
    else:
        emit(unregistered, fmt, title="scanned but not in the register")
        emit(unscanned, fmt, title="in the register but not scanned")
        if conflicts:
            emit(conflicts, fmt, title="sources that disagree (linked by the strongest)")
    if report.problems:
        sys.exit(ExitCode.FAILED_RECORDS)


@click.command()
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the self-contained HTML report.",
)
@click.pass_context
def report(ctx: click.Context, html_path: Path) -> None:
    """A self-contained HTML report for the city: headline percentage, burn-up toward 100%,
    bars by procedure and unit, failure and review backlog, verification status."""
    from sohoa.pipeline import audit

    audit.write_report(settings_of(ctx), html_path)
    click.echo(f"wrote {html_path}")


COMMANDS = [inventory_group, link, report]
