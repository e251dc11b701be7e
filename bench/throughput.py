"""Throughput of sohoa against OCRmyPDF and raw tesseract on one generated corpus.

Usage: .venv/bin/python bench/throughput.py [--records N] [--repeat R] [--dpi D] [--seed S]
       [--languages L] [--sohoa-languages L] [--skip-ocrmypdf] [--quick] [--corpus DIR]
       [--out DIR]

`--quick`: one repetition of 45 records (~90 pages of 1-3 page records, the four formats,
300 dpi: the shape of a box), ~15 min on a loaded 2-core machine instead of ~1 h.
`--corpus DIR`: generate the corpus there, or reuse it if DIR already holds one (to compare
two versions of sohoa on the same pages without generating them twice).

Per repetition, in the same run (the order of the three rotates between repetitions, so that
a neighbour's load does not always fall on the same system): (a) `sohoa run --workers 2`
with a fresh data folder (`sohoa init` untimed); (b) `ocrmypdf -l L --deskew --rotate-pages
--output-type pdfa-2 --jobs 1` on each source file as delivered, two files at a time; (c)
`tesseract PAGE.png - -l L` on each page (PNGs extracted before timing), one per usable core.
All three OCR with the same languages (`--languages`, default vie, the baselines' setting of
issue 8); `--sohoa-languages vie+eng` measures sohoa's default configuration instead.
Baselines run with OMP_THREAD_LIMIT=1. Medians over the repetitions.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CPU_NOTE,
    PageImage,
    PoolRun,
    baseline_env,
    cpu_probe_us,
    extract_pages,
    images_to_pdf,
    machine_line,
    make_corpus,
    median,
    ocrmypdf_command,
    print_table,
    ratio,
    read_truth,
    run_pool,
    run_sohoa,
    source_files,
    tesseract_commands,
    write_json,
)

from sohoa.pipeline import usable_cores
from sohoa.sample import TRUTH_NAME

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
TARGET_SPEED = 3.0  # sohoa pages/min >= 3x OCRmyPDF's
TARGET_TESSERACT_SPEED = 0.9  # sohoa pages/min >= 0.9x raw tesseract's (issue 16)
TARGET_CPU = 1.15  # sohoa CPU-s/page <= 1.15x raw tesseract's (issue 16)
QUICK_RECORDS = 45
TARGET_WORKER_RSS_MB = 600


@dataclass
class Measure:
    wall_s: float
    cpu_s: float
    max_rss_kb: int  # largest single process (GNU time, reaped descendants included)
    failures: int
    peaks_kb: dict[str, int] = field(default_factory=dict)  # sampled, by role (sohoa only)


@dataclass
class SystemRuns:
    name: str
    runs: list[Measure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def pages_per_min(self, pages: int) -> float:
        return median([pages * 60 / m.wall_s for m in self.runs])

    def cpu_per_page(self, pages: int) -> float:
        return median([m.cpu_s / pages for m in self.runs])

    def rss_mb(self) -> float:
        return median([m.max_rss_kb / 1024 for m in self.runs])

    def role_rss_mb(self, role: str) -> float:
        return max((m.peaks_kb.get(role, 0) / 1024 for m in self.runs), default=0.0)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=40, help="records (40 -> ~80 pages)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dpi", type=int, default=300, help="A4 scans at this resolution")
    parser.add_argument("--languages", default="vie", help="tesseract languages, all systems")
    parser.add_argument("--sohoa-languages", help="sohoa's languages (default: --languages)")
    parser.add_argument("--workers", type=int, default=2, help="sohoa workers")
    parser.add_argument("--skip-ocrmypdf", action="store_true")
    parser.add_argument("--quick", action="store_true", help="45 records, 1 repetition")
    parser.add_argument("--corpus", type=Path, help="corpus folder to reuse (made if absent)")
    parser.add_argument("--out", type=Path, help="keep corpus and outputs in this folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.records, args.repeat = QUICK_RECORDS, 1
    return args


def measure(pool: PoolRun) -> Measure:
    peaks: dict[str, int] = {}
    for result in pool.results:
        for role, kb in result.peaks_kb.items():
            peaks[role] = max(peaks.get(role, 0), kb)
    return Measure(pool.wall_s, pool.cpu_s, pool.max_rss_kb, len(pool.failed()), peaks)


def sohoa_once(corpus: Path, work: Path, args: argparse.Namespace, system: SystemRuns) -> None:
    shutil.rmtree(work, ignore_errors=True)
    languages = args.sohoa_languages or args.languages
    run = run_sohoa(
        corpus, work, workers=args.workers, extra_env={"SOHOA_OCR_LANGUAGES": languages}
    )
    if run.run.returncode not in (0, 2):
        system.notes.append(f"sohoa run exit {run.run.returncode}: {run.run.stderr[-300:]}")
    failed = [r for r in run.export if r["state"] == "failed"]
    for row in failed:
        system.notes.append(f"sohoa failed record {row['source']}: {row['error']}")
    result = measure(run.pool)
    result.failures = len(failed)
    system.runs.append(result)


def ocrmypdf_once(
    corpus: Path, files: Sequence[str], work: Path, args: argparse.Namespace, system: SystemRuns
) -> None:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    outputs = [work / f"{n:04d}.pdf" for n in range(len(files))]
    commands = [
        ocrmypdf_command(corpus / rel, out, languages=args.languages)
        for rel, out in zip(files, outputs, strict=True)
    ]
    pool = run_pool(commands, parallel=2, env=baseline_env())
    refused = [i for i, r in enumerate(pool.results) if r.returncode != 0]
    if refused:
        # Convert refused image files to PDF (untimed), then time OCRmyPDF on those.
        retry = []
        for i in refused:
            reason = pool.results[i].stderr.strip().splitlines()[-1:]
            if not files[i].lower().endswith(IMAGE_SUFFIXES):
                system.notes.append(f"ocrmypdf refused {files[i]}: {reason} (not retried)")
                continue
            pdf = images_to_pdf(corpus / files[i], work / f"{i:04d}-input.pdf")
            system.notes.append(f"ocrmypdf refused {files[i]}: {reason}; retried as Pillow PDF")
            retry.append(ocrmypdf_command(pdf, outputs[i], languages=args.languages))
        pool.results = [r for i, r in enumerate(pool.results) if i not in refused]
        pool.add(run_pool(retry, parallel=2, env=baseline_env()))
    system.runs.append(measure(pool))


def tesseract_once(
    pages: Sequence[PageImage], args: argparse.Namespace, system: SystemRuns
) -> None:
    commands = tesseract_commands(pages, args.languages)
    pool = run_pool(commands, parallel=usable_cores(), env=baseline_env())
    system.runs.append(measure(pool))


def report(systems: Sequence[SystemRuns], pages: int, repeat: int) -> None:
    headers = ["system", "runs", "pages/min", "CPU-s/page", "peak RSS MB (largest process)",
               "failures (last run)"]  # fmt: skip
    rows = [
        [s.name, len(s.runs), s.pages_per_min(pages), s.cpu_per_page(pages), s.rss_mb(),
         s.runs[-1].failures]
        for s in systems
    ]  # fmt: skip
    print_table(f"throughput: {pages} pages, median of {repeat} run(s)", headers, rows)
    by_name = {s.name: s for s in systems}
    sohoa = by_name["sohoa"]
    for other in ("ocrmypdf", "tesseract"):
        if other in by_name:
            speed = ratio(sohoa.pages_per_min(pages), by_name[other].pages_per_min(pages))
            cpu = ratio(sohoa.cpu_per_page(pages), by_name[other].cpu_per_page(pages))
            print(f"sohoa/{other}: pages/min x{speed:.2f}, CPU-s/page x{cpu:.2f}")
    print(f"targets: pages/min vs ocrmypdf >= {TARGET_SPEED}, vs tesseract >= "
          f"{TARGET_TESSERACT_SPEED}; CPU-s/page vs tesseract <= {TARGET_CPU}")  # fmt: skip
    roles = ", ".join(
        f"{role} {sohoa.role_rss_mb(role):.0f}"
        for role in ("driver", "worker", "tesseract", "pdftoppm")
        if sohoa.role_rss_mb(role)
    )
    print(f"sohoa peak RSS MB by process (sampled VmHWM, max over runs): {roles}; "
          f"target worker <= {TARGET_WORKER_RSS_MB}")  # fmt: skip
    print(CPU_NOTE)
    for s in systems:
        for note in dict.fromkeys(s.notes):
            print(f"  note: {note}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(machine_line("start"), f"usable_cores={usable_cores()}")
    print(f"CPU probe: {cpu_probe_us():.1f} us per sum(range(1000)) (idle 3 GHz core: ~8-10)")
    with tempfile.TemporaryDirectory(prefix="sohoa-tp-") as tmp:
        work = args.out.resolve() if args.out else Path(tmp)
        corpus = args.corpus.resolve() if args.corpus else work / "corpus"
        if not (corpus / TRUTH_NAME).is_file():
            make_corpus(corpus, args.records, args.seed, dpi=args.dpi)
        truth = read_truth(corpus)
        summary = SimpleNamespace(records=len(truth), pages=sum(len(r["pages"]) for r in truth))
        files = source_files(truth)
        pages = extract_pages(corpus, truth, work / "pages")  # untimed
        print(f"corpus: {summary.records} records, {summary.pages} pages in {len(files)} files, "
              f"{corpus}, {args.dpi} dpi ({time.perf_counter() - started:.0f} s); "
              f"languages: baselines {args.languages}, "
              f"sohoa {args.sohoa_languages or args.languages}")  # fmt: skip
        sohoa, ocr, tess = SystemRuns("sohoa"), SystemRuns("ocrmypdf"), SystemRuns("tesseract")
        plan: list[tuple[SystemRuns, Callable[[], None]]] = [
            (sohoa, lambda: sohoa_once(corpus, work / "sohoa", args, sohoa)),
            (ocr, lambda: ocrmypdf_once(corpus, files, work / "ocrmypdf", args, ocr)),
            (tess, lambda: tesseract_once(pages, args, tess)),
        ]
        if args.skip_ocrmypdf:
            plan.pop(1)
        systems = [system for system, _ in plan]
        for rep in range(args.repeat):
            for system, step in plan[rep % len(plan) :] + plan[: rep % len(plan)]:
                step()
                last = system.runs[-1]
                print(f"run {rep + 1}: {system.name} {last.wall_s:.0f} s wall, "
                      f"{last.cpu_s:.0f} CPU-s, {summary.pages * 60 / last.wall_s:.1f} pages/min, "
                      f"{last.cpu_s / summary.pages:.2f} CPU-s/page", flush=True)  # fmt: skip
        report(systems, summary.pages, args.repeat)
    path = write_json("throughput", {
        "args": {k: str(v) for k, v in vars(args).items()}, "pages": summary.pages,
        "systems": {s.name: {"runs": [vars(m) for m in s.runs], "notes": s.notes}
                    for s in systems},
    })  # fmt: skip
    print(f"CPU probe: {cpu_probe_us():.1f} us per sum(range(1000))")
    print(machine_line("end"))
    print(f"raw results: {path}; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
