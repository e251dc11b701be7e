"""One big record: its pages read in parts on all the workers (pipeline.pages_per_task, the
default 8) against the same record read whole by one worker (pages_per_task above its page
count), with raw `tesseract` one page per core on the same pages as the floor, in one run.

Target (issue 16): a big record no longer leaves a worker idle: with 2 workers its wall time
comes near half of one worker's, i.e. near raw tesseract's pages/min on all cores.

    python bench/big_record.py --pages 40
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from common import (
    baseline_env,
    cpu_probe_us,
    extract_pages,
    fmt,
    machine_line,
    make_corpus,
    print_table,
    ratio,
    read_truth,
    run_pool,
    run_sohoa,
    tesseract_commands,
)
from PIL import Image

from sohoa.pipeline import usable_cores


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="pages of the big record")
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args(argv)


def big_pdf(work: Path, pages: int, seed: int, dpi: int) -> tuple[Path, list]:
    """A scanned PDF of `pages` pages (the sample's pages, JPEG in the PDF as a scanner
    writes them) alone in a batch folder; returns the folder and the pages as PNGs."""
    corpus = work / "corpus"
    make_corpus(corpus, records=max(4, pages // 2 + 2), seed=seed, dpi=dpi, unknown_share=0.0)
    images = extract_pages(corpus, read_truth(corpus), work / "pages")[:pages]
    if len(images) < pages:
        raise SystemExit(f"the sample gave {len(images)} pages, fewer than {pages}")
    batch = work / "batch"
    batch.mkdir()
    frames = [Image.open(page.png).convert("RGB") for page in images]
    frames[0].save(batch / "HS-BIG.pdf", "PDF", save_all=True, append_images=frames[1:],
                   resolution=float(dpi), quality=85)  # fmt: skip
    return batch, images


def sohoa_wall(batch: Path, work: Path, pages_per_task: int, workers: int) -> tuple[float, float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = {"pipeline": {"pages_per_task": pages_per_task}}
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    run = run_sohoa(batch, work, workers=workers)
    [row] = run.export
    if row["state"] not in ("archived", "needs_review") or len(row["pages"]) == 0:
        raise SystemExit(f"the big record did not archive: {row['state']} {row.get('error')}")
    return run.pool.wall_s, run.pool.cpu_s


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine_line("start"), f"usable_cores={usable_cores()}")
    print(f"CPU probe: {cpu_probe_us():.1f} us per sum(range(1000)) (idle 3 GHz core: ~8-10)")
    with tempfile.TemporaryDirectory(prefix="sohoa-big-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        batch, images = big_pdf(work, args.pages, args.seed, args.dpi)
        print(f"one record of {args.pages} pages at {args.dpi} dpi "
              f"(made in {time.perf_counter() - started:.0f} s, untimed)")  # fmt: skip
        whole = sohoa_wall(batch, work / "whole", args.pages + 1, args.workers)
        parts = sohoa_wall(batch, work / "parts", 8, args.workers)
        pool = run_pool(tesseract_commands(images), parallel=usable_cores(), env=baseline_env())
        floor = (pool.wall_s, pool.cpu_s)
    rows = [
        [name, fmt(wall, 1), fmt(args.pages * 60 / wall, 1), fmt(cpu / args.pages, 2)]
        for name, (wall, cpu) in (("sohoa, read whole by one worker", whole),
                                  ("sohoa, parts of 8 on all workers", parts),
                                  ("raw tesseract, one page per core", floor))
    ]  # fmt: skip
    print_table(f"one {args.pages}-page record, {args.workers} workers",
                ["system", "wall s", "pages/min", "CPU-s/page"], rows)  # fmt: skip
    print(f"parts/whole wall x{fmt(ratio(parts[0], whole[0]), 2)}; "
          f"parts pages/min vs raw tesseract x{fmt(ratio(floor[0], parts[0]), 2)}")
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
