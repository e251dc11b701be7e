"""The data person's commands: train the classifier, measure it, choose the active model."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import click

from sohoa.cli.options import format_option, settings_of, workers_option
from sohoa.cli.output import FORMATS, emit, say
from sohoa.errors import SohoaError


@click.group("classify")
def classify_group() -> None:
    """The trained classifier: train it, measure it, choose the active model."""


def _cores() -> int:
    from sohoa.pipeline import usable_cores

    return usable_cores()


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

    settings = settings_of(ctx)
    report = training.train_model(
        settings, list(folders), use_database=not no_db, workers=workers or _cores(),
        seed=seed, say=say,
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
        settings_of(ctx), list(folders), model_path=model_path, rules_only=rules_only,
        workers=workers or _cores(), say=say,
    )  # fmt: skip
    _echo_report(fmt, evaluation.payload, evaluation.render, report)


@classify_group.command("models")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def classify_models(ctx: click.Context, fmt: str) -> None:
    """The trained models recorded in the database; the active one classifies new records."""
    from sohoa.pipeline import models

    rows = [asdict(row) for row in models.list_models(settings_of(ctx))]
    columns = [f.name for f in fields(models.ModelRow)]
    emit(rows, fmt, title="classifier models", columns=columns)


@classify_group.command("activate")
@click.argument("version")
@click.pass_context
def classify_activate(ctx: click.Context, version: str) -> None:
    """Make model VERSION the active one (e.g. to roll back); 'none' for the rules alone."""
    from sohoa.pipeline import models

    models.activate(settings_of(ctx), None if version == "none" else version)
    click.echo("classifying with the rules alone" if version == "none" else f"active: {version}")


@click.command()
@format_option()
@click.pass_context
def procedures(ctx: click.Context, fmt: str) -> None:
    """The procedure catalogue (classify.catalogue): the keys 'sohoa review set' and the
    paper register take, the national codes (mã thủ tục) and the names."""
    from sohoa.classify import load_catalogue

    catalogue = load_catalogue(list(settings_of(ctx).classify.catalogue))
    rows = [
        {"key": p.key, "code": p.code, "name": p.name, "level": p.level}
        for p in catalogue.procedures
    ]
    emit(rows, fmt, title="procedures", columns=("key", "code", "name", "level"))


COMMANDS = [classify_group, procedures]
