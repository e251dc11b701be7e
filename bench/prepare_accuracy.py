"""Page preparation alone: geometry on generated pages, and an ablation of the OCR cleanup.

Usage:
  .venv/bin/python bench/prepare_accuracy.py geometry [--pages N] [--seed S] [--dpi D]
  .venv/bin/python bench/prepare_accuracy.py cleanup [--records N] [--seed S] [--dpi D]
         [--variants V ...]

geometry: pages of the sample generator (every layout, font, seal and degradation it makes)
skewed by a random angle in [-10, 10] degrees (one page in eight left straight) and turned
0/90/180/270 in turn. Reports orientation accuracy, deskew error, whether straight pages
came out unchanged, and the CPU time of `prepare` per page.

cleanup: a generated corpus of the tuning split (bench/accuracy.py SPLITS; never the test
split) is prepared with each variant of `PrepareSettings.cleanup` and read by tesseract
(`-l vie+eng --dpi D`, as sohoa.ocr.tesseract runs it, text output only; a variant ending
in `@psmN` adds `--psm N`). Reports mean/median CER (scored as bench/accuracy.py scores),
prepare CPU ms/page and tesseract CPU s/page per variant. A variant is a comma-separated
list of step names from sohoa.ocr.cleanup.STEPS, or `none`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import SPLITS, page_cer, split_seed
from common import extract_pages, make_corpus, print_table, read_truth, write_json

from sohoa.config import load_settings
from sohoa.ocr.prepare import PrepareSettings, prepare
from sohoa.sample import plan_sample
from sohoa.sample.degrade import degrade
from sohoa.sample.render import render_page

DEFAULT_VARIANTS = (
    "none", "red", "flatten", "denoise", "leaders", "binarise",
    "red,flatten", "red,flatten,leaders", "red,flatten,denoise,leaders",
    "red,flatten,leaders@psm4",
)  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    geometry = sub.add_parser("geometry", help="orientation and deskew of +-10 degree pages")
    geometry.add_argument("--pages", type=int, default=64)
    geometry.add_argument("--split", choices=sorted(SPLITS), default="tune")
    geometry.add_argument("--seed", type=int, help="default: the split's first seed")
    geometry.add_argument("--dpi", type=int, default=200)
    cleanup = sub.add_parser("cleanup", help="CER with and without each cleanup step")
    cleanup.add_argument("--records", type=int, default=9, help="records (9 -> ~20 pages)")
    cleanup.add_argument("--seed", type=int, help="a tuning-split seed (default: 0)")
    cleanup.add_argument("--dpi", type=int, default=200)
    cleanup.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS))
    return parser.parse_args(argv)


def _catalogue() -> list[dict[str, Any]]:
    return list(load_settings(environ={}).classify.catalogue)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- geometry -------------------------------------------------------------------------------


def _geometry_page(job: tuple[Any, float, int, int]) -> dict[str, Any]:
    plan, skew, rotation, dpi = job
    params = dataclasses.replace(plan.degradation, skew_deg=skew, rotation=rotation)
    image = np.asarray(degrade(render_page(plan.doc, dpi).image, params, dpi))
    start = _cpu()
    page = prepare(image, dpi)
    cpu_ms = 1000 * (_cpu() - start)
    return {
        "kind": plan.doc.kind,
        "look": f"{plan.doc.family} {plan.doc.body_pt:g} pt, contrast {params.contrast:.2f}, "
        f"blur {params.blur_sigma:.1f}, jpeg {params.jpeg_quality}",
        "got": (page.rotation, round(page.skew_deg, 2)),
        "rotation": rotation,
        "rotation_ok": page.rotation == rotation,
        "skew": skew,
        "skew_err": abs(page.skew_deg - skew),
        "unchanged": np.array_equal(page.image, image) if skew == 0 and not rotation else None,
        "cpu_ms": cpu_ms,
    }


def geometry(args: argparse.Namespace) -> None:
    args.seed = split_seed(args.split, args.seed)
    plan = plan_sample(max(1, args.pages), args.seed, _catalogue(), unknown_share=0.1)
    pages = [p for record in plan.records for p in record.pages][: args.pages]
    rng = np.random.default_rng(args.seed)
    jobs = []
    for index, page in enumerate(pages):
        skew = 0.0 if index % 8 == 4 else round(float(rng.uniform(-10.0, 10.0)), 2)
        jobs.append((page, skew, (0, 90, 180, 270)[index % 4], args.dpi))
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_geometry_page, jobs))
    rows = []
    for kind in [*sorted({r["kind"] for r in results}), "all"]:
        subset = [r for r in results if kind in ("all", r["kind"])]
        errors = [r["skew_err"] for r in subset if r["rotation_ok"]]
        rows.append([
            kind, len(subset), f"{sum(r['rotation_ok'] for r in subset)}/{len(subset)}",
            statistics.fmean(errors) if errors else None, max(errors, default=None),
        ])  # fmt: skip
    print(
        f"{len(results)} generated pages, A4 at {args.dpi} dpi, {args.split} split seed "
        f"{args.seed}, skew uniform "
        "in [-10, 10] (1 in 8 straight), rotations 0/90/180/270 in turn"
    )
    print_table(
        "orientation and deskew",
        ["page kind", "N", "orientation ok", "skew |err| mean", "skew |err| max"],
        rows,
    )
    straight = [r["unchanged"] for r in results if r["unchanged"] is not None]
    print(f"straight upright pages returned unchanged: {sum(straight)}/{len(straight)}")
    for r in results:
        if not r["rotation_ok"] or r["skew_err"] > 0.2:
            print(
                f"  miss: {r['kind']} rotation {r['rotation']} skew {r['skew']:+.2f}: "
                f"got {r['got']}, |err| {r['skew_err']:.3f} ({r['look']})"
            )
    cpu = [r["cpu_ms"] for r in results]
    print(f"prepare CPU: mean {statistics.fmean(cpu):.0f} ms, max {max(cpu):.0f} ms per page")


# --- cleanup ablation -----------------------------------------------------------------------


def _variant(spec: str) -> tuple[tuple[str, ...], list[str]]:
    steps, _, psm = spec.partition("@psm")
    names = () if steps in ("", "none") else tuple(steps.split(","))
    return names, (["--psm", psm] if psm else [])


def _read(grey: np.ndarray, dpi: float, extra: list[str], tmp: Path) -> str:
    image = tmp / "page.pgm"
    cv2.imwrite(str(image), grey)
    command = ["tesseract", str(image), "-", "-l", "vie+eng", "--dpi", str(round(dpi)), *extra]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout


def _cleanup_page(job: tuple[Path, float, str, Sequence[str]]) -> dict[str, dict[str, float]]:
    png, dpi, truth, variants = job
    image = np.asarray(Image.open(png).convert("RGB"))
    out = {}
    with tempfile.TemporaryDirectory(prefix="sohoa-ablation-") as tmp:
        for spec in variants:
            steps, extra = _variant(spec)
            start = _cpu()
            page = prepare(image, dpi, PrepareSettings(cleanup=steps))
            prepare_ms = 1000 * (_cpu() - start)
            before = _children_cpu()
            text = _read(page.ocr_image, dpi, extra, Path(tmp))
            out[spec] = {
                "cer": page_cer(text, truth),
                "prepare_ms": prepare_ms,
                "ocr_s": _children_cpu() - before,
            }
    return out


def cleanup(args: argparse.Namespace) -> None:
    seed = split_seed("tune", args.seed)
    for spec in args.variants:
        PrepareSettings(cleanup=_variant(spec)[0])  # fail now on a misspelt step
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sohoa-ablation-") as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(corpus, args.records, seed, dpi=args.dpi)
        pages = extract_pages(corpus, read_truth(corpus), Path(tmp) / "pages")
        jobs = [(p.png, p.dpi, p.truth["text"], args.variants) for p in pages]
        with ProcessPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(_cleanup_page, jobs))
    rows = []
    base = [r[args.variants[0]]["cer"] for r in results]
    for spec in args.variants:
        cers = [r[spec]["cer"] for r in results]
        better = sum(c < b - 0.005 for c, b in zip(cers, base, strict=True))
        worse = sum(c > b + 0.005 for c, b in zip(cers, base, strict=True))
        rows.append([
            spec, statistics.fmean(cers), statistics.median(cers), max(cers),
            f"{better}/{worse}",
            statistics.fmean(r[spec]["prepare_ms"] for r in results),
            statistics.fmean(r[spec]["ocr_s"] for r in results),
        ])  # fmt: skip
    worst = max(range(len(pages)), key=lambda i: results[i][args.variants[-1]]["cer"])
    path = write_json("prepare-ablation", {
        "seed": seed, "dpi": args.dpi, "variants": args.variants,
        "pages": [{"file": p.file, "index_in_file": p.index_in_file, "results": r}
                  for p, r in zip(pages, results, strict=True)],
    })  # fmt: skip
    print(
        f"{len(pages)} pages, tune split seed {seed} ({SPLITS['tune'].start}-"
        f"{SPLITS['tune'].stop - 1}), {args.dpi} dpi, {time.perf_counter() - started:.0f} s"
    )
    print_table(
        "cleanup ablation (CER after tesseract -l vie+eng)",
        ["variant", "mean CER", "median CER", "worst CER",
         f"pages better/worse than {args.variants[0]}", "prepare CPU ms/page",
         "tesseract CPU s/page"],
        rows,
    )  # fmt: skip
    print(
        f"worst page of {args.variants[-1]}: {pages[worst].file}#{pages[worst].index_in_file}; "
        f"per page: {path}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    geometry(args) if args.mode == "geometry" else cleanup(args)


if __name__ == "__main__":
    main()
