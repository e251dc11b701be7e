"""The `sohoa` group: the options every command shares, and the one place where an error
becomes a line on stderr and an exit code (DESIGN.md): 1 usage or configuration error
(click's own usage errors included, which would otherwise exit 2, the code of "the batch
finished with failed records"), 2 failed records, 130 interrupted. Never a traceback for
something the user can fix; a bug still raises."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sohoa import __version__
from sohoa.cli import output
from sohoa.errors import ExitCode, SohoaError
from sohoa.quiet import quiet_library_warnings

# Libraries that log to the root logger's last-resort handler (stderr) what sohoa already
# says in one line, e.g. pyHanko a wrong passphrase's traceback, Dask a closing worker's.
LIBRARY_LOGGERS = ("distributed", "pyhanko", "alembic", "asyncio", "tornado", "ocrmypdf")


class SohoaGroup(click.Group):
    """A click group that maps every user-facing error to its exit code and one line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except SohoaError as exc:
            code = _fail(str(exc), exc.exit_code)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            code = _fail(f"{exc.format_message()}{hint}", ExitCode.USAGE)
        except click.ClickException as exc:
            code = _fail(exc.format_message(), ExitCode.USAGE)
        except click.Abort:  # Ctrl-C at a prompt, or outside a batch
            code = _fail("interrupted", ExitCode.INTERRUPTED)
        except Exception as exc:
            damaged = _damaged_database(exc)
            if damaged is None:
                raise
            code = _fail(str(damaged), damaged.exit_code)
        sys.exit(code if isinstance(code, int) else ExitCode.OK)


def _damaged_database(exc: Exception) -> SohoaError | None:
    """A SQLite file damaged under a running command, as a user error saying what to restore;
    None for anything else (a bug, which raises). SQLAlchemy is imported only by commands
    that open the database, so without it there is no database error to look at."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sohoa.records import damaged_database

    return damaged_database(exc)


def _fail(message: str, code: int) -> int:
    output.err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return code


def configure_logging(verbose: int) -> None:
    """sohoa's own warnings on stderr; the libraries' only with -v (INFO) or -vv (DEBUG)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.setLevel(logging.NOTSET if verbose else logging.CRITICAL + 1)
        library.propagate = True
    if not verbose:
        quiet_library_warnings()


@click.group(cls=SohoaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SOHOA_CONFIG",
    help="config.yaml to use (default: ./config.yaml if present, then built-in defaults).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Only errors and the results on stdout: no progress."
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Also the libraries' log messages (Dask, pyHanko, Alembic); -vv for debug.",
)
@click.version_option(__version__, prog_name="sohoa")
@click.pass_context
def main(ctx: click.Context, config: Path | None, quiet: bool, verbose: int) -> None:
    """Digitize paper administrative records: scans in, signed PDF/A and a records database out.

    \b
    Typical session:
      sohoa init                          # database, folders, TEST signing key
      sohoa sample scans/ --records 12    # synthetic scans to try it on
      sohoa run scans/ --batch box-001    # OCR, classify, PDF/A, sign, record
      sohoa status --batch box-001        # counts by state, failures with reasons
      sohoa coverage --by procedure       # how far from 100% digitized
      sohoa export > records.jsonl        # one JSON line per record
      sohoa verify                        # re-check hashes, signatures, PDF/A

    Settings come from config.yaml, then SOHOA_* environment variables
    (SOHOA_DATABASE_URL, SOHOA_DATA_DIR, SOHOA_WORKERS, SOHOA_SIGNING_PASSPHRASE);
    'sohoa config show' prints the effective values. Exit codes: 0 all good, 1 usage or
    configuration error, 2 failed records (or a failed check), 130 interrupted.
    """
    if quiet and verbose:
        raise click.UsageError("choose -q or -v, not both")
    configure_logging(verbose)
    output.QUIET = quiet
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
