"""Setting sohoa up and keeping it sound: init, config, verify, db, sample."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sohoa.cli import output
from sohoa.cli.options import batch_option, format_option, scheduler_option, settings_of
from sohoa.cli.output import FORMATS, emit, safe_url, say
from sohoa.config import effective_values, read_config_file
from sohoa.errors import ExitCode, SohoaError


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the database and folders, and a TEST signing key if none is set.

    Safe to run again: nothing that exists is replaced.
    """
    settings = settings_of(ctx)
    from sohoa.pipeline import initialise

    report = initialise(settings)
    click.echo(f"database ready at schema {report.revision}: {safe_url(settings.database_url)}")
    click.echo(f"archive folder: {settings.archive_dir}")
    click.echo(f"signing key: {report.signing_key} ({report.signing_note})")
    if report.signing_note.startswith("TEST"):
        click.echo(
            "  the TEST key is NOT FOR PRODUCTION: set signing.pkcs12 to the agency's certificate"
        )


VERIFY_COLUMNS = ("record", "ok", "problems", "pdfa_validator", "path", "source",
                  "structure_validator", "test_certificate")  # fmt: skip


@click.command()
@batch_option()
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only files archived on or after this day (YYYY-MM-DD).",
)
@click.option(
    "-j",
    "--workers",
    type=click.IntRange(min=1),
    help="Dask worker processes (default: none below 200 files, else the usable cores).",
)
@scheduler_option
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    metavar="N",
    help="Check N files drawn at random from the selection (a routine audit).",
)
@click.option(
    "--restart",
    is_flag=True,
    help="Begin a new run instead of continuing an interrupted one of the same selection.",
)
@click.option(
    "--orphans", is_flag=True, help="Only list archived files that no record owns (exit 2 if any)."
)
@click.pass_context
def verify(
    ctx: click.Context,
    batch: str | None,
    since: Any,
    workers: int | None,
    scheduler: str | None,
    fmt: str,
    sample: int | None,
    restart: bool,
    orphans: bool,
) -> None:
    """Re-hash every archived file, validate its signatures (intact, trusted, timestamps),
    its structure (libqpdf, the checks of qpdf --check) and its PDF/A-2B claim (veraPDF,
    else a quick check).

    Each verdict is recorded as a 'verify' event. Exit code 2 when anything fails.
    A copy that is missing, unreadable or no longer matches its SHA-256 fails its record
    as 'damaged': it stops counting in 'sohoa coverage', and 'sohoa resume --batch B' moves
    it to the quarantine folder (evidence, with an event) and makes a new copy from the source.

    An interrupted verify (Ctrl-C, a crash) is continued by the next 'sohoa verify' with the
    same --batch/--since/--sample: only the files it had not checked yet are checked
    (--restart begins anew).
    """
    from sohoa.pipeline import VerifyRequest, verify_archive

    if orphans:
        from sohoa.pipeline.quarantine import list_orphans

        found = list_orphans(settings_of(ctx))
        emit([{"orphan": str(path)} for path in found], fmt, title="files no record owns",
             columns=["orphan"])  # fmt: skip
        sys.exit(ExitCode.FAILED_RECORDS if found else ExitCode.OK)

    request = VerifyRequest(
        batch, since.date() if since else None, workers, scheduler, sample, restart
    )
    reporter = output.bar_reporter()
    outcome = verify_archive(settings_of(ctx), request, reporter)
    if outcome.continued_from is not None:
        done = outcome.run_files - len(outcome.results)
        say(
            f"continued the verify run started {outcome.continued_from:%Y-%m-%d %H:%M} UTC: "
            f"{done} file(s) had been checked before"
        )
    rows = [
        {
            "record": r.uid,
            "ok": r.ok,
            "problems": "; ".join(r.problems),
            "pdfa_validator": r.pdfa_validator,
            "path": r.path,
            "source": r.rel_path,
            "structure_validator": r.structure_validator,
            "test_certificate": r.test_certificate,
        }
        for r in outcome.results
    ]
    emit(rows, fmt, title="verification", columns=VERIFY_COLUMNS)
    if fmt == "table":
        verified = outcome.run_files - outcome.run_failed
        click.echo(f"{verified} of {outcome.run_files} archived file(s) verified")
    if outcome.run_failed:
        sys.exit(ExitCode.FAILED_RECORDS)


@click.group("db")
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
def db_grant_auditor(ctx: click.Context, role: str, password: str) -> None:
    """Create a read-only PostgreSQL login ROLE for auditors.

    With it, status, coverage, export, failures and report work while a
    batch is running; nothing can be changed.
    """
    settings = settings_of(ctx)
    from sohoa.records import check_schema, grant_auditor, make_engine

    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
        grant_auditor(engine, role, password)
    finally:
        engine.dispose()
    click.echo(f"role {role} can now read {safe_url(settings.database_url)}")


@click.command()
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
def sample(
    ctx: click.Context, directory: Path, records: int, seed: int, dpi: int, unknown_share: float
) -> None:
    """Write synthetic Vietnamese scans to DIRECTORY, with _truth.jsonl and _inventory.csv."""
    from sohoa.sample import generate_sample

    settings = settings_of(ctx)
    if directory.exists() and any(directory.iterdir()):
        raise SohoaError(f"{directory} is not empty: choose a new folder")
    summary = generate_sample(
        directory,
        records,
        seed,
        list(settings.classify.catalogue),
        dpi=dpi,
        unknown_share=unknown_share,
    )
    click.echo(
        f"wrote {summary.records} record(s), {summary.pages} page(s) to {summary.out_dir} "
        f"(truth: {summary.truth_path.name}, register: {summary.inventory_path.name})"
    )


@click.group("config")
def config_group() -> None:
    """The effective settings, and checking a config.yaml before using it."""


@config_group.command("show")
@format_option()
@click.pass_context
def config_show(ctx: click.Context, fmt: str) -> None:
    """Every setting's effective value and where it came from: default (sohoa/config.yaml),
    file (the config.yaml in use) or env (a SOHOA_* variable). Passwords are not shown."""
    settings = settings_of(ctx)
    rows = [
        {"setting": name, "value": _shown(name, value), "from": origin}
        for name, value, origin in effective_values(settings)
    ]
    emit(rows, fmt, title=f"settings ({settings.source})")


def _shown(name: str, value: Any) -> Any:
    if name == "database_url" and isinstance(value, str):
        return safe_url(value)
    if isinstance(value, tuple):
        return list(value)
    return value


@config_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def config_check(file: Path) -> None:
    """Check FILE as a config.yaml: every name known, every value of the right type."""
    read_config_file(file)
    click.echo(f"{file}: ok")


COMMANDS = [init, config_group, verify, db_group, sample]
