"""Decide a record's procedure from its page texts.

The rules give each procedure a score in 0..1 and `decide` turns such scores into a
Classification. With a trained model (model.py) the rules' scores and the model's
probabilities go to the combiner (combine.py), whose confidence is a calibrated
probability that the procedure is right; method "combined".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sohoa.classify import rules
from sohoa.classify.catalogue import Catalogue
from sohoa.classify.combine import Evidence, final_choice, score_candidates
from sohoa.classify.document import Zone, has_text, zones

if TYPE_CHECKING:  # model.py imports scikit-learn: only a caller with a model needs it
    from sohoa.classify.model import TrainedModel

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
    method: str  # "rules", "combined" (rules + model), "review" (a person decided)
    reason: str | None  # "no_text" when OCR found (almost) nothing, else None
    candidates: tuple[tuple[str, float], ...]  # best catalogue procedures, best first


def classify(
    page_texts: list[str], catalogue: Catalogue, model: TrainedModel | None = None
) -> Classification:
    """Classify one record from the OCR text of its pages, in page order; with `model`
    (trained for this catalogue), rules and model decide together."""
    if not has_text(page_texts):
        unknown = catalogue.unknown
        return Classification(unknown.key, unknown.code, 0.0, "rules", "no_text", ())
    parts = zones(page_texts)
    scores = rules.score(parts, catalogue)
    by_rules = decide(scores, catalogue, method="rules")
    if model is None:
        return by_rules
    if by_rules.procedure not in model.info.labels and by_rules.procedure != catalogue.unknown.key:
        # A procedure the model had too few examples of: the rules alone can speak for it.
        return by_rules
    return combined(parts, scores, by_rules.procedure, catalogue, model)


def combined(
    parts: list[Zone],
    scores: Mapping[str, float],
    rules_choice: str,
    catalogue: Catalogue,
    model: TrainedModel,
) -> Classification:
    """The combiner's best candidate; its probability of being right is the confidence."""
    unknown = catalogue.unknown.key
    evidence = Evidence(scores, rules_choice, model.probabilities(parts))
    ranked = score_candidates(evidence, model.stacker, unknown).ranked
    key, probability = final_choice(ranked, unknown)
    listed = tuple(
        (other, round(value, 3))
        for other, value in ranked
        if other != unknown and (value >= 5e-4 or other == key)
    )
    return Classification(
        key, catalogue.get(key).code, round(probability, 3), "combined", None, listed[:TOP]
    )


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
