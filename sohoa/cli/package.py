"""`sohoa package`: BagIt transfer packages for the historical archive (thin: parse, call
`sohoa.pipeline.package`, print)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sohoa.cli import output
from sohoa.cli.options import settings_of
from sohoa.cli.output import err_console
from sohoa.cli.run import interrupt_on_sigterm
from sohoa.errors import ExitCode, SohoaError


@click.command("package")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the bag to write (must not exist, or be this selection's, "
    "unfinished: the run continues).",
)
@click.option(
    "--validate",
    "to_validate",
    type=click.Path(file_okay=False, path_type=Path),
    help="Re-validate the bag in this folder instead of writing one.",
)
@click.option("--batch", help="Only records of this batch.")
@click.option("--procedure", help="Only this procedure (catalogue key or code, e.g. 1.001193).")
@click.option("--year", type=int, help="Only dossiers of this year (paper register).")
@click.option("--unit", help="Only dossiers of this unit (paper register).")
@click.pass_context
def package(
    ctx: click.Context,
    out: Path | None,
    to_validate: Path | None,
    batch: str | None,
    procedure: str | None,
    year: int | None,
    unit: str | None,
) -> None:
    """Write a BagIt 1.0 transfer package (nộp lưu) of archived records for the historical
    archive: each record's signed PDF/A as archived (its SHA-256 checked first), its
    NĐ 30/2020 dossier metadata as XML and a METS document with its PREMIS history; an
    inventory CSV; SHA-256 and SHA-512 manifests; the fonds metadata of TT 02/2019/TT-BNV
    (config.yaml archive.fonds) in bag-info.txt. Records whose copy fails its fixity check
    are left out and listed with the reason (exit 2). An interrupted run continues when the
    same command is given again; the bag gets its name only when complete and valid.

    \b
      sohoa package --out /mnt/nop-luu/2024-khai-sinh --procedure khai_sinh --year 2024
      sohoa package --validate /mnt/nop-luu/2024-khai-sinh
    """
    from sohoa.pipeline.package import PackageRequest, make_package, validate_package
    from sohoa.records.packages import Selection

    if (out is None) == (to_validate is None):
        raise SohoaError("give --out DIR to write a package, or --validate DIR to check one")
    if to_validate is not None:
        report = validate_package(to_validate)
        for problem in report.problems:
            click.echo(f"invalid: {problem}")
        verdict = "valid" if report.ok else "NOT valid"
        click.echo(
            f"{to_validate}: {verdict} ({report.payload_files} payload files, "
            f"{report.mets_documents} METS documents; bagit and METS schema)"
        )
        sys.exit(ExitCode.OK if report.ok else ExitCode.FAILED_RECORDS)
    assert out is not None
    request = PackageRequest(out, Selection(batch, procedure, year, unit))
    reporter = output.bar_reporter()
    interrupt_on_sigterm()
    try:
        report = make_package(settings_of(ctx), request, reporter)
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: the unfinished package is kept; run the same command again to continue",
            highlight=False,
        )
        sys.exit(ExitCode.INTERRUPTED)
    for uid, source, reason in report.excluded_sample:
        click.echo(f"left out: {uid} {source}: {reason}")
    if report.excluded > len(report.excluded_sample):
        click.echo(
            f"... and {report.excluded - len(report.excluded_sample)} more "
            "(data/excluded.csv in the bag)"
        )
    continued = " (continued)" if report.resumed else ""
    click.echo(
        f"wrote {report.target}{continued}: {report.records} record(s), "
        f"{report.payload_bytes} bytes in their files, {report.excluded} left out; "
        f"identifier {report.identifier}; valid (bagit and METS schema)"
    )
    sys.exit(ExitCode.FAILED_RECORDS if report.excluded else ExitCode.OK)


COMMANDS = [package]
