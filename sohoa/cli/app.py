"""The `sohoa` group: the options every command shares."""

from __future__ import annotations

from pathlib import Path

import click

from sohoa import __version__


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
