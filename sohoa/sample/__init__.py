"""Synthetic scanned dossiers with ground truth, for demos, tests and accuracy benchmarks.

`generate_sample` writes a batch folder as a scanning contractor would deliver it (record
folders and loose files in TIFF, PNG, JPEG and image-only PDF), plus `_truth.jsonl` (what is
really on every page) and `_inventory.csv` (the archive's list of dossiers, some unscanned).
Planning (`plan_sample`) is separate from drawing so that tests can re-render any page.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from sohoa.sample import fields, forms, people
from sohoa.sample.degrade import Degradation, choose
from sohoa.sample.degrade import degrade as degrade_page
from sohoa.sample.doc import PageDoc
from sohoa.sample.fonts import FAMILY_WEIGHTS, font_families
from sohoa.sample.render import RenderedPage, render_page
from sohoa.sample.writer import (
    EXTENSIONS,
    MULTI_PAGE,
    Colour,
    FilePlan,
    Format,
    write_file,
    write_inventory,
    write_truth,
)

__all__ = [
    "PagePlan",
    "RecordPlan",
    "SamplePlan",
    "SampleSummary",
    "generate_sample",
    "plan_sample",
]

TRUTH_NAME = "_truth.jsonl"
INVENTORY_NAME = "_inventory.csv"
OTHER_KEY = "khac"
LOOSE_SHARE = 0.25
UNSCANNED_SHARE = 0.2
FORMATS: tuple[Format, ...] = ("tiff", "png", "jpeg", "pdf")
YEARS = (2015, 2024)


@dataclass(frozen=True)
class SampleSummary:
    out_dir: Path
    records: int
    pages: int
    truth_path: Path
    inventory_path: Path


@dataclass(frozen=True)
class PagePlan:
    doc: PageDoc
    degradation: Degradation


@dataclass(frozen=True)
class RecordPlan:
    rel_path: str  # folder or loose file, relative to the sample root
    dossier_code: str
    procedure: str  # catalogue key, or "khac"
    code: str | None  # national procedure code
    title: str  # form title as printed on page 1
    unit: str
    year: int
    when: date
    location: str
    inventory_title: str
    pages: tuple[PagePlan, ...]
    files: tuple[FilePlan, ...]


@dataclass(frozen=True)
class SamplePlan:
    records: tuple[RecordPlan, ...]
    unscanned: tuple[dict[str, Any], ...]  # inventory rows of dossiers with no scan


def _procedures(catalogue: list[dict[str, Any]]) -> list[dict[str, Any]]:
    usable = [p for p in catalogue if p.get("key") != OTHER_KEY and p.get("phrases")]
    if not usable:
        raise ValueError("the catalogue has no procedure with title phrases to generate")
    return usable


def _spread(rng: np.random.Generator, count: int, items: list[Any]) -> list[Any]:
    """`count` items cycling through a shuffled `items`: every item shows up when count allows."""
    order = [items[i] for i in rng.permutation(len(items))]
    return [order[i % len(order)] for i in range(count)]


def _flags(rng: np.random.Generator, count: int, share: float, *, at_least_one: bool) -> list[bool]:
    hits = round(count * share)
    if at_least_one and share > 0 and count > 0:
        hits = max(hits, 1)
    flags = [i < hits for i in range(count)]
    return [flags[i] for i in rng.permutation(count)]


def _location(rng: np.random.Generator) -> str:
    return f"Kho {people.pick(rng, 'AB')} / Kệ {rng.integers(1, 13)} / Hộp {rng.integers(1, 61)}"


def _typography(rng: np.random.Generator) -> dict[str, Any]:
    families = list(font_families())
    weights = np.array([FAMILY_WEIGHTS.get(f, 1) for f in families], dtype=float)
    return {
        "family": families[int(rng.choice(len(families), p=weights / weights.sum()))],
        "body_pt": float(rng.integers(20, 30)) / 2,  # 10-14.5 pt in half points
        "line_spacing": round(float(rng.uniform(1.35, 1.6)), 2),
        "seed": int(rng.integers(2**31)),
    }


def _page_count(rng: np.random.Generator, fmt: Format, loose: bool) -> int:
    if fmt in MULTI_PAGE:
        return 1 if rng.random() < 0.15 else int(rng.integers(2, 4))
    return 1 if loose else int(rng.integers(1, 4))


def _files(
    rng: np.random.Generator, rel: str, fmt: Format, pages: int, loose: bool
) -> tuple[FilePlan, ...]:
    def colour(kind: Format) -> Colour:
        roll = rng.random()
        if kind == "tiff" and roll < 0.3:
            return "bilevel"
        # Lossless colour PNGs of noisy scans are slow to write; grey is the common setting.
        return "gray" if roll > (0.5 if kind == "png" else 0.7) else "rgb"

    def quality() -> int:
        return int(rng.integers(55, 86))

    if loose:
        return (FilePlan(rel, fmt, tuple(range(pages)), colour(fmt), quality()),)
    if fmt in MULTI_PAGE and pages > 1 and rng.random() < 0.7:
        stem = people.pick(rng, ("scan", "hoso", rel))
        name = f"{rel}/{stem}{people.pick(rng, EXTENSIONS[fmt])}"
        return (FilePlan(name, fmt, tuple(range(pages)), colour(fmt), quality()),)
    plans = []
    for index in range(pages):
        # Mostly one format per folder, with the odd page rescanned another way.
        kind = fmt if index == 0 or rng.random() < 0.7 else people.pick(rng, FORMATS)
        name = f"{rel}/p{index + 1}{EXTENSIONS[kind][0]}"
        plans.append(FilePlan(name, kind, (index,), colour(kind), quality()))
    return tuple(plans)


def _record(
    rng: np.random.Generator,
    *,
    dossier_code: str,
    year: int,
    procedure: dict[str, Any] | None,
    fmt: Format,
    loose: bool,
) -> RecordPlan:
    place = people.pick(rng, people.PLACES)
    when = people.random_date(rng, date(year, 1, 1), date(year, 12, 31))
    applicant = people.make_person(rng, place)
    if procedure is None:
        title = people.pick(rng, forms.OTHER_TITLES)
        key, code, level, proc_name = OTHER_KEY, None, "xa", title.capitalize()
        inventory_title = f"{people.upper_first(title.lower())} - {applicant.name}"
    else:
        title = fields.form_title(procedure["phrases"][0])
        key, code = procedure["key"], procedure.get("code")
        level, proc_name = procedure.get("level", "xa"), people.nfc(procedure.get("name", title))
        inventory_title = f"{proc_name} - {applicant.name}"
    ctx = people.Context(place, when, dossier_code, applicant, proc_name)
    count = _page_count(rng, fmt, loose)
    layout = people.pick(rng, ("centered", "centered", "two_column", "table"))
    if procedure is None:
        blocks = [forms.other_page(rng, ctx, title)]
        extra = ["id_card", "continuation"]
    else:
        keywords = [people.nfc(k) for k in procedure.get("keywords") or []] or [title.lower()]
        blocks = [forms.form_page(rng, ctx, title, keywords, layout)]
        extra = ["id_card", "receipt", "continuation"]
    kinds = ["form"]
    for kind in [extra[i] for i in rng.permutation(len(extra))][: count - 1]:
        kinds.append(kind)
        if kind == "id_card":
            blocks.append(forms.id_card_page(rng, ctx))
        elif kind == "receipt":
            blocks.append(forms.receipt_page(rng, ctx, title))
        else:
            blocks.append(forms.continuation_page(rng, ctx, layout))
    pages = tuple(
        PagePlan(PageDoc(blocks=tuple(b), kind=k, **_typography(rng)), choose(rng))
        for b, k in zip(blocks, kinds, strict=True)
    )
    rel = f"{dossier_code}{EXTENSIONS[fmt][0]}" if loose else dossier_code
    return RecordPlan(
        rel_path=rel,
        dossier_code=dossier_code,
        procedure=key,
        code=code,
        title=title,
        unit=place.unit(level),
        year=year,
        when=when,
        location=_location(rng),
        inventory_title=inventory_title,
        pages=pages,
        files=_files(rng, rel, fmt, len(pages), loose),
    )


def plan_sample(
    records: int, seed: int, catalogue: list[dict[str, Any]], *, unknown_share: float = 0.0
) -> SamplePlan:
    """Decide everything about a sample without drawing: deterministic in its arguments."""
    if records < 1:
        raise ValueError("records must be at least 1")
    if not 0.0 <= unknown_share <= 1.0:
        raise ValueError("unknown_share must be between 0 and 1")
    procedures = _procedures(catalogue)
    rng = np.random.default_rng(seed)
    unknown = _flags(rng, records, unknown_share, at_least_one=True)
    loose = _flags(rng, records, LOOSE_SHARE, at_least_one=records >= 4)
    chosen = _spread(rng, records, procedures)
    formats = _spread(rng, records, list(FORMATS))
    extras = max(1, round(records * UNSCANNED_SHARE))
    numbers = rng.choice(np.arange(1, 1_000_000), size=records + extras, replace=False)
    years = rng.integers(YEARS[0], YEARS[1] + 1, size=records + extras)
    children = rng.spawn(records + extras)
    plans = []
    for i in range(records):
        plans.append(
            _record(
                children[i],
                dossier_code=f"HS-{years[i]}-{numbers[i]:06d}",
                year=int(years[i]),
                procedure=None if unknown[i] else chosen[i],
                fmt=formats[i],
                loose=loose[i],
            )
        )
    unscanned = []
    for i in range(records, records + extras):
        child = children[i]
        procedure = people.pick(child, procedures)
        place = people.pick(child, people.PLACES)
        name = people.person_name(child, bool(child.random() < 0.5))
        unscanned.append(
            {
                "code": f"HS-{years[i]}-{numbers[i]:06d}",
                "title": f"{people.nfc(procedure.get('name', procedure['key']))} - {name}",
                "unit": place.unit(procedure.get("level", "xa")),
                "procedure": procedure["key"],
                "year": int(years[i]),
                "location": _location(child),
                "expected_pages": int(child.integers(1, 4)),
            }
        )
    ordered = sorted(plans, key=lambda p: p.rel_path)
    return SamplePlan(tuple(ordered), tuple(unscanned))


def _truth_entry(plan: RecordPlan, texts: list[str], dpi: int) -> dict[str, Any]:
    pages: list[dict[str, Any] | None] = [None] * len(plan.pages)
    for file in plan.files:
        for index_in_file, page_index in enumerate(file.pages):
            degradation = plan.pages[page_index].degradation
            pages[page_index] = {
                "file": file.rel_path,
                "index_in_file": index_in_file,
                "text": people.nfc(texts[page_index]),
                "rotation": degradation.rotation,
                "skew_deg": degradation.skew_deg,
                "dpi": dpi,
            }
    return {
        "record": plan.rel_path,
        "dossier_code": plan.dossier_code,
        "procedure": plan.procedure,
        "code": plan.code,
        "title": people.nfc(plan.title),
        "unit": plan.unit,
        "year": plan.year,
        "pages": pages,
    }


def _write_record(
    out_dir: Path, record: RecordPlan, rendered: list[RenderedPage], dpi: int
) -> None:
    scans = [
        degrade_page(r.image, p.degradation, dpi)
        for r, p in zip(rendered, record.pages, strict=True)
    ]
    for file in record.files:
        path = out_dir / file.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, file, [scans[i] for i in file.pages], dpi, record.when)


def generate_sample(
    out_dir: Path,
    records: int,
    seed: int,
    catalogue: list[dict[str, Any]],
    *,
    dpi: int = 200,
    unknown_share: float = 0.0,
) -> SampleSummary:
    """Write `records` synthetic scanned dossiers and their truth/inventory into `out_dir`."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"{out_dir} already exists and is not an empty folder")
    if not 50 <= dpi <= 1200:
        raise ValueError("dpi must be between 50 and 1200")
    plan = plan_sample(records, seed, catalogue, unknown_share=unknown_share)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth: list[dict[str, Any]] = []
    inventory: list[dict[str, Any]] = list(plan.unscanned)
    total_pages = 0
    # Text is drawn here, one page at a time (FreeType faces are shared and not thread-safe);
    # degrading and encoding, most of the time, run in threads that release the GIL. Every
    # page's randomness comes from its own seed, so the threads do not affect the output.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        pending: list[Future[None]] = []
        for record in plan.records:
            rendered = [render_page(page.doc, dpi) for page in record.pages]
            pending.append(pool.submit(_write_record, out_dir, record, rendered, dpi))
            truth.append(_truth_entry(record, [r.text for r in rendered], dpi))
            # Bound memory: at most a few records' pages wait for the writers.
            running = {f for f in pending if not f.done()}
            while len(running) > 4:
                _, running = wait(running, return_when=FIRST_COMPLETED)
        for future in pending:
            future.result()
    for record in plan.records:
        inventory.append(
            {
                "code": record.dossier_code,
                "title": record.inventory_title,
                "unit": record.unit,
                "procedure": record.procedure,
                "year": record.year,
                "location": record.location,
                "expected_pages": len(record.pages),
            }
        )
        total_pages += len(record.pages)
    truth_path, inventory_path = out_dir / TRUTH_NAME, out_dir / INVENTORY_NAME
    write_truth(truth_path, truth)
    write_inventory(inventory_path, sorted(inventory, key=lambda row: row["code"]))
    return SampleSummary(out_dir, len(plan.records), total_pages, truth_path, inventory_path)
