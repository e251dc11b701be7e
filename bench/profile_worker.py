"""Where a worker's CPU goes: run the worker steps of `sohoa run` in this process, no Dask.

Usage: .venv/bin/python bench/profile_worker.py [--records N] [--dpi D] [--seed S]
       [--py-spy] [--out DIR]

Generates a small corpus, `sohoa init`s a data folder, then digests and processes every record
with the same functions the Dask workers call. Prints CPU-s per page split into this Python
process (decode, preparation, JPEG, PDF/A, signing, ...) and its child processes (tesseract,
pdftoppm), and the per-step wall time the worker records in its `sign` event. With --py-spy the
run is sampled by py-spy (must be installed in .venv) and the top functions by self and total
share of the Python process's samples are printed.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_BIN, clean_env, make_corpus, read_truth

from sohoa.config import load_settings
from sohoa.ingest import discover
from sohoa.pipeline import (
    RecordTask,
    digest_record,
    initialise,
    process_record,
    record_uid,
    worker_settings,
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=6)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--py-spy", action="store_true", help="sample with py-spy (re-runs)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="keep corpus and outputs in this folder")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def run_records(work: Path) -> None:
    """The measured part: every record of `work/corpus` through digest and process."""
    os.environ["SOHOA_DATA_DIR"] = str(work / "data")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    settings = load_settings(environ=dict(os.environ))
    initialise(settings)
    prepared = worker_settings(settings)  # loads the key and probes tesseract, as a run does
    corpus = work / "corpus"
    tasks = [
        RecordTask(record_uid("prof", ref.rel_path), "prof", str(corpus), ref.rel_path, ref.is_dir)
        for ref in discover(corpus)
    ]
    steps: collections.Counter[str] = collections.Counter()
    pages = 0
    self_0, kids_0 = _cpu()
    wall_0 = time.perf_counter()
    for task in tasks:
        digest = digest_record(task)
        outcome = process_record(task, digest.content_hash or "", prepared)
        if not outcome.ok:
            print(f"  {task.rel_path}: {outcome.error_reason} {outcome.error_message}")
            continue
        pages += len(outcome.pages)
        sign_event = next(e for e in outcome.events if e.kind == "sign")
        steps.update(sign_event.detail["seconds"])
    self_1, kids_1 = _cpu()
    wall = time.perf_counter() - wall_0
    own, kids = self_1 - self_0, kids_1 - kids_0
    print(f"{len(tasks)} records, {pages} pages, {wall:.1f} s wall")
    print(
        f"CPU-s/page: total {(own + kids) / pages:.3f} = python {own / pages:.3f} "
        f"+ children (tesseract, pdftoppm) {kids / pages:.3f}"
    )
    print("worker step wall-s/page (from the records' sign events):")
    for step, seconds in steps.most_common():
        print(f"  {step:8s} {seconds / pages:.3f}")


RECORD_STEPS = ("process_record (", "digest_record (")


def summarise_collapsed(path: Path, top: int, python_s_per_page: float) -> None:
    """Top functions by self and total share of py-spy's samples (collapsed stack format),
    each share also as ms per page of the Python process's CPU (`python_s_per_page`)."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not any(step in stack for step in RECORD_STEPS):
            continue  # imports and the worker's one-time set-up are not the per-page cost
        n = int(count)
        samples += n
        frames = [
            f.split(" (")[0] + " " + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
            for f in stack.split(";")
        ]
        own[frames[-1]] += n
        for frame in dict.fromkeys(frames):
            total[frame] += n
    print(
        f"py-spy: {samples} samples of the Python process in the measured loop "
        "(tesseract runs as a child)"
    )
    for title, counts in (("self", own), ("total", total)):
        print(f"top {top} by {title} share (and ms of Python CPU per page):")
        for frame, n in counts.most_common(top):
            ms = 1000 * python_s_per_page * n / samples
            print(f"  {100 * n / samples:5.1f}%  {ms:6.1f}  {frame}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sohoa-prof-") as tmp:
        work = (args.out or Path(tmp)).resolve()
        if args.inner:
            run_records(work)
            return 0
        if not (work / "corpus").is_dir():
            summary = make_corpus(work / "corpus", args.records, args.seed, dpi=args.dpi)
            print(f"corpus: {summary.records} records, {summary.pages} pages, {args.dpi} dpi")
        pages = sum(len(r["pages"]) for r in read_truth(work / "corpus"))
        print(f"{pages} pages in {work / 'corpus'}")
        inner = [sys.executable, __file__, "--inner", "--out", str(work)]
        if not args.py_spy:
            return subprocess.run(inner, env=clean_env()).returncode
        collapsed = work / "py-spy.txt"
        spy = [str(VENV_BIN / "py-spy"), "record", "--gil", "--format", "raw", "--rate", "200",
               "--output", str(collapsed), "--"]  # fmt: skip
        done = subprocess.run([*spy, *inner], env=clean_env(), capture_output=True, text=True)
        print(done.stdout, end="")
        match = re.search(r"python ([0-9.]+)", done.stdout)
        summarise_collapsed(collapsed, args.top, float(match[1]) if match else float("nan"))
        return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
