"""A batch as the operator starts it: process its records, then bring the archived files of
the records linked to the paper register in line with it (name and metadata)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sohoa.config import Settings
from sohoa.pipeline.driver import Reporter, RunReport, RunRequest, run_batch
from sohoa.pipeline.register import RegisterReport, apply_register


@dataclass(frozen=True)
class BatchOutcome:
    run: RunReport
    register: RegisterReport  # files renamed and re-signed after the run, and problems


def run_and_register(
    request: RunRequest,
    settings: Settings,
    reporter: Reporter,
    notice: Callable[[str], None] | None = None,
) -> BatchOutcome:
    """Run the batch; unless it was interrupted, apply the register to its linked records
    (the run links newly archived records at its end, after their files were signed).
    `notice` hears what must be said before any record runs (see `run_batch`)."""
    report = run_batch(request, settings, reporter, notice)
    applied = RegisterReport() if report.interrupted else apply_register(settings, report.batch)
    return BatchOutcome(report, applied)
