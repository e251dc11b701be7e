"""Progress of a batch: a live bar on a terminal, one plain line per record otherwise."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sohoa.pipeline import Reporter


class BarReporter:
    """rich progress bar: records done of total, pages, pages per minute, ETA."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records · {task.fields[pages]} pages · {task.fields[rate]} pages/min"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._task = None
        self._pages = 0
        self._started = 0.0

    def start(self, batch: str, total: int) -> None:
        self._started = time.monotonic()
        self._progress.start()
        self._task = self._progress.add_task(batch, total=total, pages=0, rate="-")

    def pages_read(self, rel_path: str, pages: int) -> None:
        self._count(pages, advance=0)

    def record_done(self, rel_path: str, state: str, pages: int, note: str) -> None:
        if state == "failed":
            self._progress.console.print(f"[red]failed[/red] {rel_path}: {note}")
        self._count(pages, advance=1)

    def _count(self, pages: int, advance: int) -> None:
        self._pages += pages
        minutes = (time.monotonic() - self._started) / 60
        rate = f"{self._pages / minutes:.1f}" if minutes > 0 else "-"
        self._progress.update(self._task, advance=advance, pages=self._pages, rate=rate)

    def close(self) -> None:
        self._progress.stop()


class LineReporter:
    """One line per finished record, for logs and pipes."""

    def __init__(self) -> None:
        self._done = 0
        self._total = 0
        self._pages = 0
        self._started = 0.0

    def start(self, batch: str, total: int) -> None:
        self._total, self._started = total, time.monotonic()
        print(f"batch {batch}: {total} record(s) to process", file=sys.stderr, flush=True)

    def pages_read(self, rel_path: str, pages: int) -> None:
        self._line(f"{'reading':<12} {rel_path} (+{pages} pages)", pages)

    def record_done(self, rel_path: str, state: str, pages: int, note: str) -> None:
        self._done += 1
        self._line(f"{state:<12} {rel_path} ({note})", pages)

    def _line(self, what: str, pages: int) -> None:
        self._pages += pages
        minutes = (time.monotonic() - self._started) / 60
        rate = self._pages / minutes if minutes > 0 else 0.0
        print(
            f"[{self._done}/{self._total}] {what} {self._pages} pages, {rate:.1f} pages/min",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        pass


class SilentReporter:
    """`sohoa -q`: no progress at all; the summary and errors still come."""

    def start(self, batch: str, total: int) -> None:
        pass

    def pages_read(self, rel_path: str, pages: int) -> None:
        pass

    def record_done(self, rel_path: str, state: str, pages: int, note: str) -> None:
        pass

    def close(self) -> None:
        pass


def reporter_for(console: Console, quiet: bool = False) -> Reporter:
    if quiet:
        return SilentReporter()
    return BarReporter(console) if console.is_terminal else LineReporter()
