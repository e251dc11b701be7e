"""One decision from two scorers: the rules' evidence and the model's probabilities.

Each candidate procedure (the model's top three, every procedure the rules found, and
`khac`) is described by a few numbers: how probable the model finds it and by how much it
leads, how much rule evidence it has and by how much that leads, and whether both scorers
name it. A small logistic regression (the stacker), fitted on held-out folds of the
training set, turns those numbers into the probability that the candidate is right; the
best candidate wins and that probability is the record's confidence.

For `khac` the rule evidence is the absence of evidence: 1 - the best rule score. So a
document whose heading names no catalogue procedure keeps `khac` in the race even when the
model, which has never seen its kind, leans toward some procedure.

`agreement_rule` is the simple alternative it was measured against: agree -> the larger
confidence, disagree -> the smaller (so the record goes to review).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FEATURES = (
    "model_logit",
    "model_lead",
    "rule_score",
    "rule_lead",
    "is_unknown",
    "both_agree",
    "unknown_rule_score",
    "rule_heading",
)
# Rule evidence this strong is a catalogue title standing as a heading in the title block
# (rules.PHRASE_EVIDENCE, maybe folded or fuzzy); weaker evidence is keywords or mentions.
HEADING_EVIDENCE = 0.75
MODEL_TOP = 3
# A decision below this is more likely wrong than right: `khac` instead of a guess.
GUESS_FLOOR = 0.5
_CLIP = 1e-4


@dataclass(frozen=True)
class Evidence:
    """What the two scorers say about one record."""

    rules: Mapping[str, float]  # rules.score: procedure -> evidence in 0..1
    rules_choice: str  # the rules' own decision (classifier.decide), "khac" when too weak
    model: Mapping[str, float]  # calibrated probabilities over the model's labels


def candidates(evidence: Evidence, unknown: str) -> list[str]:
    """The procedures worth scoring: model's top three, the rules' finds, and `unknown`."""
    ranked = sorted(evidence.model.items(), key=lambda item: (-item[1], item[0]))
    keys = [key for key, _ in ranked[:MODEL_TOP]]
    keys += sorted(key for key, score in evidence.rules.items() if score > 0)
    keys.append(unknown)
    return list(dict.fromkeys(keys))


def features(evidence: Evidence, candidate: str, unknown: str) -> list[float]:
    model_p = evidence.model.get(candidate, 0.0)
    model_other = max((p for k, p in evidence.model.items() if k != candidate), default=0.0)
    best_rule = max(evidence.rules.values(), default=0.0)
    is_unknown = candidate == unknown
    if is_unknown:
        rule, rule_other = 1.0 - best_rule, best_rule
    else:
        rule = evidence.rules.get(candidate, 0.0)
        rule_other = max((s for k, s in evidence.rules.items() if k != candidate), default=0.0)
    model_top = max(evidence.model, key=lambda k: evidence.model[k]) if evidence.model else None
    agree = candidate == model_top and candidate == evidence.rules_choice
    return [
        _logit(model_p),
        model_p - model_other,
        rule,
        rule - rule_other,
        float(is_unknown),
        float(agree),
        rule if is_unknown else 0.0,
        float(not is_unknown and rule >= HEADING_EVIDENCE),
    ]


def _logit(p: float) -> float:
    p = min(max(p, _CLIP), 1 - _CLIP)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Stacker:
    """Logistic regression over FEATURES, kept as plain numbers: tiny, and readable by any
    scikit-learn version."""

    coef: tuple[float, ...]
    intercept: float

    def probability(self, row: Sequence[float]) -> float:
        z = self.intercept + sum(w * x for w, x in zip(self.coef, row, strict=True))
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stacker:
        if list(data.get("features", ())) != list(FEATURES):
            raise ValueError("the combiner was fitted on other features")
        return cls(tuple(float(w) for w in data["coef"]), float(data["intercept"]))


def fit_stacker(rows: list[list[float]], targets: list[int]) -> Stacker:
    """Fit on candidate rows (target 1 when the candidate is the record's true procedure)."""
    from sklearn.linear_model import LogisticRegression

    if len(set(targets)) < 2:
        raise ValueError("the stacker needs right and wrong candidates to learn from")
    regression = LogisticRegression(C=1.0, max_iter=1000).fit(rows, targets)
    return Stacker(tuple(float(w) for w in regression.coef_[0]), float(regression.intercept_[0]))


@dataclass(frozen=True)
class Scored:
    """Candidates with their probability of being right, best first."""

    ranked: tuple[tuple[str, float], ...]

    @property
    def best(self) -> tuple[str, float]:
        return self.ranked[0]


def score_candidates(evidence: Evidence, stacker: Stacker, unknown: str) -> Scored:
    scored = [
        (key, stacker.probability(features(evidence, key, unknown)))
        for key in candidates(evidence, unknown)
    ]
    scored.sort(key=lambda item: (-item[1], item[0] == unknown, item[0]))
    return Scored(tuple(scored))


def final_choice(ranked: Sequence[tuple[str, float]], unknown: str) -> tuple[str, float]:
    """The best candidate; `unknown` (with its own probability) when the best is more
    likely wrong than right, so a doubtful record is `khac`, never a silent guess."""
    key, probability = ranked[0]
    if key != unknown and probability < GUESS_FLOOR:
        return next(((k, p) for k, p in ranked if k == unknown), (unknown, 1.0 - probability))
    return key, probability


def agreement_rule(evidence: Evidence, rules_confidence: float) -> tuple[str, float]:
    """Agree -> the larger confidence; disagree -> the likelier procedure at the smaller."""
    if not evidence.model:
        return evidence.rules_choice, rules_confidence
    model_top = max(evidence.model, key=lambda k: evidence.model[k])
    model_p = evidence.model[model_top]
    if model_top == evidence.rules_choice:
        return model_top, max(model_p, rules_confidence)
    winner = model_top if model_p >= rules_confidence else evidence.rules_choice
    return winner, min(model_p, rules_confidence)
