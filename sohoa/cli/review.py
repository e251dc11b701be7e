"""The reviewer's commands: the queue, one record, accept, correct."""

from __future__ import annotations

import click

from sohoa.cli.options import batch_option, find_batch_id, open_database, settings_of
from sohoa.cli.output import FORMATS, emit


@click.group("review")
def review_group() -> None:
    """Records whose procedure or OCR a person should check: list, show, accept, set."""


REVIEW_COLUMNS = ("record_id", "batch", "source", "procedure", "confidence", "ocr_confidence")


@review_group.command("list")
@batch_option()
@click.option("--procedure", help="Only records classified as this procedure (catalogue key).")
@click.option("--below", type=float, help="Only records with a confidence below this.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def review_list(
    ctx: click.Context, batch: str | None, procedure: str | None, below: float | None, fmt: str
) -> None:
    """Records in needs_review, least confident first."""
    with open_database(settings_of(ctx)) as session:
        from sohoa.records import queries

        items = queries.review_queue(session, find_batch_id(session, batch), procedure, below)
    rows = [
        {"record_id": i.uid, "batch": i.batch, "source": i.rel_path, "procedure": i.procedure,
         "confidence": i.confidence, "ocr_confidence": i.mean_ocr_confidence}
        for i in items
    ]  # fmt: skip
    emit(rows, fmt, title="waiting for review", columns=REVIEW_COLUMNS)


@review_group.command("show")
@click.argument("record_id")
@click.pass_context
def review_show(ctx: click.Context, record_id: str) -> None:
    """The start of page 1 and the classifier's top candidates for RECORD_ID."""
    from sohoa.pipeline import review

    detail = review.show(settings_of(ctx), record_id)
    click.echo(f"record {detail.uid} ({detail.rel_path}), {detail.state}")
    click.echo(f"procedure: {detail.procedure} (confidence {detail.confidence})")
    for rank, (key, score) in enumerate(detail.candidates[:3], start=1):
        click.echo(f"  candidate {rank}: {key} {score:.3f}")
    click.echo("--- page 1 ---")
    click.echo(detail.excerpt)


@review_group.command("accept")
@click.argument("record_ids", nargs=-1, required=True)
@click.pass_context
def review_accept(ctx: click.Context, record_ids: tuple[str, ...]) -> None:
    """Confirm the classifier's procedure for RECORD_IDS: they become archived."""
    from sohoa.pipeline import review

    count = review.accept(settings_of(ctx), list(record_ids))
    click.echo(f"accepted {count} record(s)")


@review_group.command("set")
@click.argument("record_id")
@click.argument("procedure")
@click.pass_context
def review_set(ctx: click.Context, record_id: str, procedure: str) -> None:
    """Correct RECORD_ID's procedure: its PDF/A is rebuilt, re-signed and moved."""
    from sohoa.pipeline import review

    output = review.correct(settings_of(ctx), record_id, procedure)
    click.echo(f"record {record_id} is now {procedure}: {output}")


COMMANDS = [review_group]
