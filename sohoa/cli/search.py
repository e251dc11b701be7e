"""`sohoa search`: find dossiers by text and fields; rebuild the index; show the access log."""

from __future__ import annotations

from dataclasses import asdict

import click

from sohoa.cli.options import settings_of
from sohoa.cli.output import FORMATS, emit, err_console
from sohoa.errors import SohoaError

# The record states (sohoa.records.RecordState), spelt out: importing the models here would
# load SQLAlchemy for every `sohoa --help`.
STATES = ("pending", "processing", "archived", "needs_review", "failed", "duplicate")
HIT_COLUMNS = ("record_id", "code", "title", "procedure", "year", "state", "batch", "score",
               "match", "page", "snippet", "path")  # fmt: skip
LOG_COLUMNS = ("at", "os_user", "database_role", "query", "filters", "hits")


@click.command("search")
@click.argument("query", required=False)
@click.option("--procedure", help="Catalogue key (khai_sinh) or national code (1.001193).")
@click.option("--unit", help="Unit (đơn vị) exactly as in the register.")
@click.option("--year", type=int, help="Year of the dossier (from the register).")
@click.option("--batch", help="Only records of this batch.")
@click.option("--state", type=click.Choice(STATES),
              help="Only records in this state (damaged copies are failed).")  # fmt: skip
@click.option("--limit", type=int, help="Most hits to show (default from config: 20).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--reindex", is_flag=True, help="Rebuild the whole index from the records.")
@click.option("--log", "show_log", is_flag=True, help="Show the search access log (auditors).")
@click.pass_context
def search_command(
    ctx: click.Context,
    query: str | None,
    procedure: str | None,
    unit: str | None,
    year: int | None,
    batch: str | None,
    state: str | None,
    limit: int | None,
    fmt: str,
    reindex: bool,
    show_log: bool,
) -> None:
    """Find archived dossiers by the words of their pages, title and code.

    \b
    Without diacritics it still finds ("dang ky ket hon" finds "Đăng ký kết hôn"); words
    typed with diacritics rank their exact matches first; a name OCR misread by a letter
    is still found (match: fuzzy). All words must match.
    \b
      "tờ khai kết hôn"   a phrase        Nguy*          a prefix
      code:HS-2019-0001   dossier code    cccd:079...    a CCCD/CMND number in the text
      so:15/QĐ-UBND       document number year:2019      the dossier's year
      date:15/03/2019     a date written in the text (or 2019-03-15)
    \b
    Every search is written to the access log (who, when, query, hits): --log shows it.
    """
    from sohoa.records import search

    settings = settings_of(ctx)
    if reindex:
        count = search.reindex(settings)
        click.echo(f"indexed {count} record(s)")
        return
    if show_log:
        rows = [asdict(entry) for entry in search.access_log(settings, limit or 100)]
        emit(rows, fmt, title="search access log", columns=LOG_COLUMNS)
        return
    if query is None or not query.strip():
        raise SohoaError("give a QUERY (see 'sohoa search --help'), or --reindex or --log")
    request = search.SearchRequest(query, procedure, unit, year, batch, state, limit)
    result = search.find(settings, request)
    for pair in result.ignored:
        err_console.print(f"ignored {pair}: not understood", highlight=False)
    rows = [asdict(hit) for hit in result.hits]
    if fmt == "table":
        if not rows:
            click.echo("no hits")
            return
        for row in rows:  # engine scores are small numbers: three digits that differ
            row["score"] = f"{row['score']:.3g}"
    emit(rows, fmt, title=f"{len(rows)} hit(s)", columns=HIT_COLUMNS)


COMMANDS = [search_command]
