"""Page texts of `sohoa sample` dossiers as classifier examples, without drawing or OCR
(tests and benchmarks of the classifier: thousands of records in seconds)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from sohoa.classify.noise import ocr_noise
from sohoa.sample import plan_sample
from sohoa.sample.doc import PageDoc, Row, TableRow

if TYPE_CHECKING:
    from sohoa.classify.learn import Example

WRAP_CHARS = 78  # about a printed line of an A4 form at 12 pt


def synthetic_examples(
    records: int,
    seed: int,
    catalogue_items: list[dict[str, Any]],
    *,
    unknown_share: float = 0.1,
    noise: float = 0.0,
) -> list[Example]:
    """Page texts of `sohoa sample` dossiers without drawing or OCR: the generator's plan,
    wrapped into lines, with OCR-like damage on a `noise` share of the words."""
    from sohoa.classify.learn import Example

    plan = plan_sample(records, seed, catalogue_items, unknown_share=unknown_share)
    rng = np.random.default_rng(seed)
    return [
        Example(
            tuple(ocr_noise(_page_text(page.doc), rng, noise) for page in record.pages),
            record.procedure,
            f"synthetic {seed}/{record.rel_path}",
        )
        for record in plan.records
    ]


def _page_text(doc: PageDoc) -> str:
    lines: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Row):
            texts = [cell.text for cell in block.cells if cell.text]
            if len(texts) == 1:
                lines += textwrap.wrap(texts[0], WRAP_CHARS) or [""]
            elif texts:
                lines.append(" ".join(texts))
        elif isinstance(block, TableRow):
            lines.append(" | ".join(block.cells))
    return "\n".join(lines)
