"""OCR accuracy of sohoa against raw tesseract and OCRmyPDF, on the same generated pages.

Usage: .venv/bin/python bench/accuracy.py [--split tune|test] [--records N] [--seed S]
       [--dpi D] [--unknown-share F] [--languages vie,vie+eng] [--skip-ocrmypdf] [--out DIR]

Splits: corpora generated from seeds 0-999 are the tuning split (every cleanup step and
threshold was chosen on them); seeds 1000-1999 are the test split, run only to report,
never to choose anything. `--split` picks the split's first seed unless `--seed` is given,
which must then lie in the split.

CER: NFC, whitespace runs as one space, and runs of four or more leader characters
(dots, ellipses, commas, underscores) removed from both texts - the dotted leaders of a
form are not text and the truth leaves them out; every system is scored the same way.

One corpus is generated (sohoa.sample, ground truth in _truth.jsonl), then in the same run:
(a) `sohoa run --workers 2` + `sohoa export`; (b) `tesseract PAGE.png - -l vie` per page;
(a) and (b) once per OCR language set of --languages (default both `vie` and `vie+eng`: the
default of `ocr.languages` is chosen from these numbers);
(c) `ocrmypdf -l vie --deskew --rotate-pages --output-type pdfa-2 --jobs 1` per page, text
read back with pdftotext. Baselines run two commands at a time with OMP_THREAD_LIMIT=1.
Raw per-page results go to bench/out/accuracy-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CPU_NOTE,
    PageImage,
    PoolRun,
    SohoaRun,
    baseline_env,
    cer,
    extract_pages,
    machine_line,
    make_corpus,
    mean,
    median,
    ocrmypdf_command,
    print_table,
    ratio,
    read_truth,
    run_command,
    run_pool,
    run_sohoa,
    tesseract_commands,
    write_json,
)

from sohoa.config import load_settings
from sohoa.sample import plan_sample

OTHER = "khac"
REVIEW = "needs_review"
SPLITS = {"tune": range(0, 1000), "test": range(1000, 2000)}
# Four or more leader characters in a row, single spaces allowed between them.
LEADERS = re.compile(r"(?:[.…·•‧_,](?: ?)){4,}")


def without_leaders(text: str) -> str:
    return LEADERS.sub(" ", text)


def page_cer(text: str, truth: str) -> float:
    return cer(without_leaders(text), without_leaders(truth))


def records_for(pages: int, seed: int, unknown_share: float) -> int:
    """The fewest records whose sample holds at least `pages` pages (planning is cheap)."""
    catalogue = list(load_settings(environ={}).classify.catalogue)
    records = max(1, pages // 3)
    while True:
        plan = plan_sample(records, seed, catalogue, unknown_share=unknown_share)
        if sum(len(r.pages) for r in plan.records) >= pages:
            return records
        records += 1


def split_seed(split: str, seed: int | None) -> int:
    seeds = SPLITS[split]
    if seed is None:
        return seeds.start
    if seed not in seeds:
        raise SystemExit(
            f"seed {seed} is not in the {split} split ({seeds.start}-{seeds.stop - 1})"
        )
    return seed


@dataclass
class PageResult:
    system: str
    record: str
    file: str
    index_in_file: int
    cer: float
    rotation: int | None = None
    rotation_truth: int = 0
    skew_deg: float | None = None
    skew_truth: float = 0.0
    note: str = ""


@dataclass
class SystemResult:
    name: str
    pages: list[PageResult]
    pool: PoolRun
    records: list[dict[str, Any]] | None = None  # sohoa only: record-level outcome


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, help="default: the fewest giving --pages pages")
    parser.add_argument("--pages", type=int, default=60, help="at least this many pages")
    parser.add_argument("--split", choices=sorted(SPLITS), default="tune")
    parser.add_argument("--seed", type=int, help="default: the split's first seed")
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--unknown-share", type=float, default=0.1)
    parser.add_argument("--skip-ocrmypdf", action="store_true", help="quick run without it")
    parser.add_argument(
        "--languages",
        default="vie,vie+eng",
        help="comma-separated tesseract language sets; sohoa and tesseract run once per set",
    )
    parser.add_argument("--out", type=Path, help="keep corpus and outputs in this folder")
    return parser.parse_args(argv)


# --- systems --------------------------------------------------------------------------------


def page_result(system: str, page: PageImage, text: str, note: str = "") -> PageResult:
    truth = page.truth
    return PageResult(
        system,
        page.record,
        page.file,
        page.index_in_file,
        page_cer(text, truth["text"]),
        rotation_truth=int(truth["rotation"]),
        skew_truth=float(truth["skew_deg"]),
        note=note,
    )


def sohoa_pages(name: str, pages: Sequence[PageImage], run: SohoaRun) -> list[PageResult]:
    rows = {row["source"]: row for row in run.export}
    by_record: dict[str, list[PageImage]] = {}
    for page in pages:
        by_record.setdefault(page.record, []).append(page)
    results = []
    for record, record_pages in by_record.items():
        row = rows.get(record)
        texts = row["text"].split("\f") if row and row.get("text") is not None else []
        meta = row["pages"] if row else []
        note = "" if row else "record missing from export"
        if row and len(texts) != len(record_pages):
            note = f"export has {len(texts)} page(s), truth {len(record_pages)}"
        for i, page in enumerate(record_pages):
            text = texts[i] if i < len(texts) else ""
            result = page_result(name, page, text, note or ("" if i < len(texts) else "no page"))
            if i < len(meta):
                result.rotation, result.skew_deg = meta[i]["rotation"], meta[i]["skew_deg"]
            results.append(result)
    return results


def run_sohoa_system(
    corpus: Path, work: Path, pages: Sequence[PageImage], languages: str
) -> SystemResult:
    name = f"sohoa -l {languages}"
    run = run_sohoa(
        corpus, work / f"sohoa-{languages}", extra_env={"SOHOA_OCR_LANGUAGES": languages}
    )
    if run.run.returncode not in (0, 2):
        print(f"!! sohoa run exit {run.run.returncode}: {run.run.stderr[-2000:]}")
    elif run.run.returncode == 2:
        print("!! sohoa run exit 2: some records failed (see record table)")
    records = [
        {k: row.get(k) for k in ("source", "state", "error", "procedure", "procedure_confidence")}
        for row in run.export
    ]
    return SystemResult(name, sohoa_pages(name, pages, run), run.pool, records)


def run_tesseract_system(pages: Sequence[PageImage], languages: str) -> SystemResult:
    name = f"tesseract -l {languages}"
    pool = run_pool(tesseract_commands(pages, languages), parallel=2, env=baseline_env())
    results = []
    for page, res in zip(pages, pool.results, strict=True):
        note = "" if res.returncode == 0 else f"exit {res.returncode}: {res.stderr[-200:]}"
        results.append(page_result(name, page, res.stdout, note))
    return SystemResult(name, results, pool)


def run_ocrmypdf_system(pages: Sequence[PageImage], out: Path) -> SystemResult:
    out.mkdir(parents=True, exist_ok=True)
    outputs = [out / f"{page.png.stem}.pdf" for page in pages]
    commands = [
        ocrmypdf_command(page.png, pdf, page.dpi) for page, pdf in zip(pages, outputs, strict=True)
    ]
    pool = run_pool(commands, parallel=2, env=baseline_env())  # pdftotext is outside the pool
    results = []
    for page, pdf, res in zip(pages, outputs, pool.results, strict=True):
        text, note = "", ""
        if res.returncode == 0:
            text = run_command(["pdftotext", str(pdf), "-"]).stdout
        else:
            note = f"exit {res.returncode}: {res.stderr.strip().splitlines()[-1:]}"
        results.append(page_result("ocrmypdf", page, text, note))
    return SystemResult("ocrmypdf", results, pool)


# --- metrics --------------------------------------------------------------------------------


def classification(truth: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]]):
    rows = {r["source"]: r for r in records}
    right, review, wrong = 0, 0, []
    for record in truth:
        row = rows.get(record["record"], {})
        procedure, state = row.get("procedure"), row.get("state")
        review += state == REVIEW
        ok = procedure == record["procedure"] or (
            record["procedure"] == OTHER and (procedure == OTHER or state == REVIEW)
        )
        right += ok
        if not ok:
            wrong.append(
                f"{record['record']}: truth {record['procedure']}, got {procedure} ({state})"
            )
    return right / len(truth), review / len(truth), wrong


def system_row(system: SystemResult, truth: Sequence[Mapping[str, Any]]) -> list[Any]:
    cers = [p.cer for p in system.pages]
    worst = max(system.pages, key=lambda p: p.cer)
    row: list[Any] = [
        system.name,
        len(cers),
        mean(cers),
        median(cers),
        f"{worst.cer:.3f} {worst.file}#{worst.index_in_file}",
    ]
    if system.name.startswith("sohoa"):
        reported = [p for p in system.pages if p.rotation is not None]
        upright = [p for p in reported if p.rotation == p.rotation_truth]
        skews = [abs(p.skew_deg - p.skew_truth) for p in upright if p.skew_deg is not None]
        accuracy, review, _ = classification(truth, system.records or [])
        row += [
            f"{len(upright)}/{len(system.pages)}",
            mean(skews),
            max(skews, default=None),
            accuracy,
            review,
        ]
    else:
        row += [None, None, None, None, None]
    row += [system.pool.cpu_s / len(cers), system.pool.wall_s]
    return row


def report(systems: Sequence[SystemResult], truth: Sequence[Mapping[str, Any]]) -> None:
    headers = [
        "system",
        "pages",
        "mean CER",
        "median CER",
        "worst CER (page)",
        "orient ok",
        "skew |err| mean",
        "skew |err| max",
        "class acc",
        "review share",
        "CPU-s/page",
        "wall s",
    ]
    print_table("accuracy (same pages, same run)", headers, [system_row(s, truth) for s in systems])
    by_name = {s.name: s for s in systems}
    sohoas = [s for s in systems if s.name.startswith("sohoa")]
    if sohoas and "ocrmypdf" in by_name:
        a, b = sohoas[0], by_name["ocrmypdf"]
        cer_ratio = ratio(mean([p.cer for p in a.pages]), mean([p.cer for p in b.pages]))
        cpu_ratio = ratio(a.pool.cpu_s, b.pool.cpu_s)
        med_ratio = ratio(median([p.cer for p in a.pages]), median([p.cer for p in b.pages]))
        print(
            f"{a.name}/ocrmypdf: mean CER x{cer_ratio:.2f}, median CER x{med_ratio:.2f}, "
            f"CPU-s/page x{cpu_ratio:.2f}"
        )
    print(CPU_NOTE)
    for sohoa in sohoas:
        details(sohoa, truth)


def details(sohoa: SystemResult | None, truth: Sequence[Mapping[str, Any]]) -> None:
    if sohoa is None:
        return
    _, _, wrong = classification(truth, sohoa.records or [])
    wrong_turns = [
        p for p in sohoa.pages if p.rotation is not None and p.rotation != p.rotation_truth
    ]
    for p in wrong_turns:
        print(
            f"  {sohoa.name} wrong rotation: {p.file}#{p.index_in_file} got {p.rotation}, "
            f"truth {p.rotation_truth} (CER {p.cer:.3f})"
        )
    for line in wrong:
        print(f"  {sohoa.name} misclassified: {line}")
    for p in sohoa.pages:
        if p.note:
            print(f"  {sohoa.name} page note: {p.file}#{p.index_in_file}: {p.note}")
    for r in sohoa.records or []:
        if r.get("error"):
            print(f"  {sohoa.name} record error: {r['source']}: {r['error']}")


# --- main -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.seed = split_seed(args.split, args.seed)
    args.records = args.records or records_for(args.pages, args.seed, args.unknown_share)
    started = time.perf_counter()
    print(machine_line("start"))
    with tempfile.TemporaryDirectory(prefix="sohoa-acc-") as tmp:
        work = args.out.resolve() if args.out else Path(tmp)
        corpus = work / "corpus"
        summary = make_corpus(
            corpus, args.records, args.seed, dpi=args.dpi, unknown_share=args.unknown_share
        )
        truth = read_truth(corpus)
        pages = extract_pages(corpus, truth, work / "pages")
        print(
            f"corpus: {summary.records} records, {summary.pages} pages, {args.split} split, "
            f"seed {args.seed}, "
            f"{args.dpi} dpi, unknown share {args.unknown_share} "
            f"({time.perf_counter() - started:.0f} s to generate and extract)"
        )
        systems = []
        for languages in args.languages.split(","):
            systems.append(run_sohoa_system(corpus, work, pages, languages))
            systems.append(run_tesseract_system(pages, languages))
            print(f"{languages}: sohoa {systems[-2].pool.wall_s:.0f} s wall, "
                  f"tesseract {systems[-1].pool.wall_s:.0f} s wall")  # fmt: skip
        if not args.skip_ocrmypdf:
            systems.append(run_ocrmypdf_system(pages, work / "ocrmypdf"))
            print(f"ocrmypdf done: {systems[-1].pool.wall_s:.0f} s wall")
        report(systems, truth)
    path = write_json(
        "accuracy",
        {
            "args": {k: str(v) for k, v in vars(args).items()},
            "systems": {
                s.name: {
                    "wall_s": s.pool.wall_s,
                    "cpu_s": s.pool.cpu_s,
                    "records": s.records,
                    "pages": [asdict(p) for p in s.pages],
                }
                for s in systems
            },
        },
    )
    print(machine_line("end"))
    print(f"raw results: {path}; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
