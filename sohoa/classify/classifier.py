"""Decide a record's procedure from its page texts.

Scorers (the rules now, a trained model later) give each procedure a score in 0..1;
`decide` turns any such scores into a Classification, so a second scorer plugs in by
producing the same mapping and a method name ("model", "combined").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sohoa.classify import rules
from sohoa.classify.catalogue import Catalogue
from sohoa.classify.document import has_text, zones

# Softmax temperature over the scores: a runner-up 0.3 behind leaves the winner ~95% of the
# share, a tie leaves 50%, so the confidence says how clearly the winner stands out.
SHARPNESS = 0.1
# Below this the best score is only a few keywords any form may contain ("ngày sinh",
# "cư trú"): not enough to name a procedure.
MIN_EVIDENCE = 0.25
UNKNOWN_CONFIDENCE = 0.2  # "khac" is a guess too: it only means no procedure was found
TOP = 3


@dataclass(frozen=True)
class Classification:
    procedure: str  # catalogue key; "khac" when unknown
    code: str | None
    confidence: float  # 0..1
    method: str  # "rules" (later "model", "combined", "review")
    reason: str | None  # "no_text" when OCR found (almost) nothing, else None
    candidates: tuple[tuple[str, float], ...]  # best catalogue procedures, best first


def classify(page_texts: list[str], catalogue: Catalogue) -> Classification:
    """Classify one record from the OCR text of its pages, in page order."""
    if not has_text(page_texts):
        unknown = catalogue.unknown
        return Classification(unknown.key, unknown.code, 0.0, "rules", "no_text", ())
    return decide(rules.score(zones(page_texts), catalogue), catalogue, method="rules")


def decide(scores: Mapping[str, float], catalogue: Catalogue, method: str) -> Classification:
    """The procedure with the best score, confident by its score and its lead."""
    ranked = sorted(
        ((key, score) for key, score in scores.items() if score > 0),
        key=lambda item: (-item[1], item[0]),
    )
    if not ranked:
        unknown = catalogue.unknown
        return Classification(unknown.key, unknown.code, UNKNOWN_CONFIDENCE, method, None, ())
    best_score = ranked[0][1]
    shares = [math.exp((score - best_score) / SHARPNESS) for _, score in ranked]
    total = sum(shares)
    confidences = [
        (key, round(score * share / total, 3))
        for (key, score), share in zip(ranked, shares, strict=True)
    ]
    candidates = tuple((key, value) for key, value in confidences[:TOP] if value > 0)
    if best_score < MIN_EVIDENCE:
        unknown = catalogue.unknown
        confidence = round(UNKNOWN_CONFIDENCE * (1 - best_score), 3)
        return Classification(unknown.key, unknown.code, confidence, method, None, candidates)
    key, confidence = confidences[0]
    return Classification(key, catalogue.get(key).code, confidence, method, None, candidates)
