"""Big batches: the driver's memory and per-record overhead with `sohoa run --engine null`.

Usage: .venv/bin/python bench/scale_null.py [--records 200000] [--workers 2]
       [--database-url URL] [--keep DIR]

Generates N tiny records (8x8 PNGs with distinct content; every tenth record a folder of two
of them), `sohoa init`s a fresh data folder, then times `sohoa run --engine null`: every record
goes through discovery, registration, the Dask digest and process tasks and the database
commits, but the process step skips OCR, PDF/A and signing (benchmark-only engine). The driver
process and its workers are sampled with psutil every 0.5 s: the driver's peak RSS is its
kernel high-water mark (VmHWM), read until it exits. Targets (issue 8): driver peak RSS
< 300 MB and wall time per record < 20 ms for 200,000 records.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    VENV_BIN,
    clean_env,
    cpu_probe_us,
    machine_line,
    print_table,
    status_kb,
    write_json,
)

RSS_TARGET_MB = 300
OVERHEAD_TARGET_MS = 20
SAMPLE_EVERY_S = 0.5


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="default: SQLite in the data folder")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    return parser.parse_args(argv)


def make_records(corpus: Path, count: int) -> int:
    """`count` records of tiny PNGs whose bytes all differ (no record is a duplicate)."""
    from PIL import Image

    corpus.mkdir(parents=True, exist_ok=True)
    files = 0
    for n in range(count):
        name = f"HS-{n:07d}"
        pages = 2 if n % 10 == 0 else 1
        folder = corpus / name if pages > 1 else corpus
        folder.mkdir(exist_ok=True)
        for page in range(pages):
            image = Image.new("L", (8, 8), 255)
            image.putdata([(n >> (8 * (i % 3))) & 255 if i < 3 else page for i in range(64)])
            target = folder / (f"p{page + 1}.png" if pages > 1 else f"{name}.png")
            image.save(target, optimize=False, compress_level=1)
            files += 1
    return files


@dataclass
class Samples:
    driver_hwm_kb: int = 0
    worker_peak_kb: int = 0
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (role, CPU-s)
    planned_at: float | None = None  # when the driver printed "N record(s) to process"
    done: int = 0  # records the driver reported finished so far
    series: list[tuple[int, int]] = field(default_factory=list)  # (records done, driver RSS KiB)


def sample(proc: subprocess.Popen, samples: Samples, stop: threading.Event) -> None:
    driver = psutil.Process(proc.pid)
    last_point = 0.0
    while not stop.is_set():
        try:
            samples.driver_hwm_kb = max(samples.driver_hwm_kb, status_kb(proc.pid))
            if time.monotonic() - last_point >= 10:
                samples.series.append((samples.done, status_kb(proc.pid, "VmRSS")))
                last_point = time.monotonic()
            samples.cpu[proc.pid] = ("driver", sum(driver.cpu_times()[:2]))
            for child in driver.children(recursive=True):
                with child.oneshot():
                    samples.worker_peak_kb = max(samples.worker_peak_kb, status_kb(child.pid))
                    samples.cpu[child.pid] = ("worker", sum(child.cpu_times()[:2]))
        except psutil.Error:
            pass
        stop.wait(SAMPLE_EVERY_S)


def watch_stderr(proc: subprocess.Popen, samples: Samples, log: Path) -> None:
    with log.open("w", encoding="utf-8") as out:
        for line in proc.stderr:
            if samples.planned_at is None and "to process" in line:
                samples.planned_at = time.perf_counter()
            elif line.startswith("["):
                samples.done += 1
            out.write(line)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_null(work: Path, corpus: Path, args: argparse.Namespace) -> dict:
    env = clean_env(SOHOA_DATA_DIR=str(work / "data"))
    if args.database_url:
        env["SOHOA_DATABASE_URL"] = args.database_url
    sohoa = str(VENV_BIN / "sohoa")
    subprocess.run([sohoa, "init"], env=env, cwd=work, check=True, capture_output=True)
    command = [sohoa, "run", str(corpus), "--batch", "scale", "--engine", "null",
               "--workers", str(args.workers)]  # fmt: skip
    samples = Samples()
    stop = threading.Event()
    cpu_before = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    sampler = threading.Thread(target=sample, args=(proc, samples, stop), daemon=True)
    reader = threading.Thread(target=watch_stderr, args=(proc, samples, work / "run.log"))
    sampler.start()
    reader.start()
    stdout = proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    reader.join()
    planned = (samples.planned_at or started) - started
    by_role = {"driver": 0.0, "worker": 0.0}
    for role, seconds in samples.cpu.values():
        by_role[role] += seconds
    return {
        "returncode": proc.returncode,
        "summary": stdout.strip().splitlines()[-1:] if stdout else [],
        "wall_s": wall,
        "plan_s": planned,
        "cpu_s": children_cpu() - cpu_before,
        "driver_cpu_s": by_role["driver"],
        "workers_cpu_s": by_role["worker"],
        "driver_peak_rss_mb": samples.driver_hwm_kb / 1024,
        "worker_peak_rss_mb": samples.worker_peak_kb / 1024,
        "rss_series": samples.series,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine_line("start"))
    print(f"CPU probe: {cpu_probe_us():.1f} us per sum(range(1000)) (idle 3 GHz core: ~8-10)")
    with tempfile.TemporaryDirectory(prefix="sohoa-scale-") as tmp:
        work = (args.keep or Path(tmp)).resolve()
        corpus = work / "corpus"
        started = time.perf_counter()
        if not corpus.is_dir():
            files = make_records(corpus, args.records)
            print(f"generated {args.records} records ({files} files) in "
                  f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        result = run_null(work, corpus, args)
    records = args.records
    per_record_ms = 1000 * result["wall_s"] / records
    rows = [
        ["records", records, ""],
        ["exit code", result["returncode"], "0"],
        ["wall s (sohoa run, all of it)", result["wall_s"], ""],
        ["  of which discovery + registration s", result["plan_s"], ""],
        ["wall per record ms", per_record_ms, f"< {OVERHEAD_TARGET_MS}"],
        ["driver peak RSS MB (VmHWM)", result["driver_peak_rss_mb"], f"< {RSS_TARGET_MB}"],
        ["worker peak RSS MB (largest)", result["worker_peak_rss_mb"], ""],
        ["CPU ms per record (all processes)", 1000 * result["cpu_s"] / records, ""],
        ["  driver (incl. scheduler) ms", 1000 * result["driver_cpu_s"] / records, ""],
        ["  workers ms", 1000 * result["workers_cpu_s"] / records, ""],
    ]
    print_table(f"sohoa run --engine null, {args.workers} workers, {os.cpu_count()} cores",
                ["measure", "value", "target"], rows)  # fmt: skip
    print(f"driver summary: {' '.join(result['summary'])}")
    series = result["rss_series"]
    if series:
        marks = [next((p for p in series if p[0] >= records * q), series[-1]) for q in
                 (0.1, 0.25, 0.5, 0.75, 1.0)]  # fmt: skip
        print("driver RSS as the run goes (records done: MB): "
              + ", ".join(f"{done}: {kb / 1024:.0f}" for done, kb in marks))  # fmt: skip
    print(f"CPU probe: {cpu_probe_us():.1f} us per sum(range(1000))")
    print(machine_line("end"))
    path = write_json("scale_null", {"args": {k: str(v) for k, v in vars(args).items()},
                                     **result})  # fmt: skip
    print(f"raw results: {path}")
    return 0 if result["returncode"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
