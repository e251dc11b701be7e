"""Fit the model and its combiner from labelled page texts, and measure how well calibrated
each way of deciding is, on records none of them was fitted on.

1. The vectorizer is fitted once on every example.
2. Held-out parts: a sample of the records (at most STACKER_SAMPLE) is cut into parts; a
   model fitted on (at most HELD_OUT_TRAIN_MAX of) the other records gives each record of a
   part its probabilities, and the rules score it. That is what the combiner sees in
   production, a model that never saw the record, so the stacker is fitted on it. Half of
   each part is scored again as a damaged twin (noise.twin), so that the stacker also sees
   the two scorers disagree.
3. The stacker's own quality is measured by cross-validation over records, next to the
   rules alone, the model alone and the agreement rule (Brier score and accuracy), on the
   records and on their twins apart.
4. The final model is fitted on every example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy import sparse
from sklearn.model_selection import GroupKFold

from sohoa.classify import rules
from sohoa.classify.catalogue import Catalogue
from sohoa.classify.classifier import decide
from sohoa.classify.combine import (
    Evidence,
    Stacker,
    agreement_rule,
    candidates,
    features,
    final_choice,
    fit_stacker,
)
from sohoa.classify.document import Zone, has_text, zones
from sohoa.classify.model import (
    MIN_PER_LABEL,
    TrainedModel,
    column_array,
    fit_classifier,
    make_vectorizer,
    model_input,
    new_info,
)
from sohoa.classify.noise import twin
from sohoa.errors import SohoaError

STACKER_SAMPLE = 2500  # records whose held-out evidence fits the combiner: plenty for 8 weights
HELD_OUT_TRAIN_MAX = 3000  # records a held-out model is fitted on (speed; plenty to be right)
TWIN_SHARE = 0.5  # of the sample, also scored as a damaged twin (noise.twin)
STACKER_FOLDS = 3


@dataclass(frozen=True)
class Example:
    pages: tuple[str, ...]  # OCR text of each page, in order
    label: str  # catalogue key
    source: str = ""  # where it came from, for messages


@dataclass(frozen=True)
class Decision:
    """One way of deciding, on one record: the label it gives and how sure it says it is."""

    label: str
    confidence: float


def brier(decisions: Sequence[Decision], truths: Sequence[str]) -> float:
    """Mean squared gap between the confidence and being right (0 is perfect)."""
    gaps = [(d.confidence - (d.label == t)) ** 2 for d, t in zip(decisions, truths, strict=True)]
    return float(np.mean(gaps)) if gaps else float("nan")


def reliability(
    decisions: Sequence[Decision], truths: Sequence[str], edges: Sequence[float]
) -> list[dict[str, float]]:
    """Per confidence bin: how many records, their mean confidence, and the share right."""
    rows = []
    for low, high in pairwise(edges):
        inside = [
            (d.confidence, d.label == t)
            for d, t in zip(decisions, truths, strict=True)
            if low <= d.confidence < high or (high == edges[-1] and d.confidence == high)
        ]
        if inside:
            rows.append(
                {
                    "from": low,
                    "to": high,
                    "records": len(inside),
                    "mean_confidence": round(float(np.mean([c for c, _ in inside])), 4),
                    "accuracy": round(float(np.mean([ok for _, ok in inside])), 4),
                }
            )
    return rows


def calibration_summary(
    methods: dict[str, list[Decision]], truths: Sequence[str]
) -> dict[str, dict[str, float]]:
    return {
        name: {
            "brier": round(brier(decisions, truths), 5),
            "accuracy": round(
                float(np.mean([d.label == t for d, t in zip(decisions, truths, strict=True)])), 5
            ),
        }
        for name, decisions in methods.items()
    }


def rules_decision(scores: dict[str, float], catalogue: Catalogue) -> Decision:
    result = decide(scores, catalogue, method="rules")
    return Decision(result.procedure, result.confidence)


def model_decision(probabilities: dict[str, float]) -> Decision:
    top = max(probabilities, key=lambda key: probabilities[key])
    return Decision(top, probabilities[top])


def agreement_decision(evidence: Evidence, rules_confidence: float) -> Decision:
    return Decision(*agreement_rule(evidence, rules_confidence))


def train(
    examples: Sequence[Example],
    catalogue: Catalogue,
    *,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Fit the model and its combiner; the metrics travel in the model's header."""
    say = progress or (lambda _message: None)
    keys = {p.key for p in catalogue.procedures}
    unknown_labels = sorted({e.label for e in examples} - keys)
    if unknown_labels:
        raise SohoaError(
            f"training labels not in the catalogue: {', '.join(unknown_labels)} "
            f"(e.g. {next(e.source for e in examples if e.label in unknown_labels)})"
        )
    usable = [e for e in examples if has_text(list(e.pages))]
    counts = Counter(e.label for e in usable)
    kept = [e for e in usable if counts[e.label] >= MIN_PER_LABEL]
    dropped = {label: n for label, n in counts.items() if n < MIN_PER_LABEL}
    if len({e.label for e in kept}) < 2:
        raise SohoaError(
            f"need examples of at least two procedures with {MIN_PER_LABEL}+ records each "
            f"with text; got {dict(counts) or 'none'}"
        )
    parts = [zones(list(e.pages)) for e in kept]
    labels = np.array([e.label for e in kept])
    say(f"vectorizing {len(kept)} records")
    vectorizer = make_vectorizer()
    matrix = sparse.csr_matrix(
        vectorizer.fit_transform(column_array([model_input(z) for z in parts]))
    )
    say("fitting the combiner on held-out folds")
    held = _held_out_evidence(matrix, labels, kept, parts, vectorizer, catalogue, seed)
    stacker, metrics = _fit_and_measure(held, catalogue)
    say("fitting the final model")
    classifier = fit_classifier(matrix, list(labels), seed)
    metrics.update(
        {
            "labels": dict(sorted(Counter(labels.tolist()).items())),
            "dropped_labels": dropped,
            "skipped_without_text": len(examples) - len(usable),
            "held_out_records": held.twins.count(False),
        }
    )
    info = new_info(catalogue, list(labels), len(kept), metrics)
    return TrainedModel(info, vectorizer, classifier, stacker)


@dataclass(frozen=True)
class _HeldOut:
    """Evidence on records (and their damaged twins) from models that never saw them."""

    evidence: list[Evidence]
    truths: list[str]
    twins: list[bool]


def _held_out_evidence(
    matrix,
    labels: np.ndarray,
    kept: Sequence[Example],
    parts: list[list[Zone]],
    vectorizer,
    catalogue: Catalogue,
    seed: int,
) -> _HeldOut:
    """Split a sample of the records into parts; a model fitted on (a bounded share of) the
    other records scores each part, and half of each part again as damaged twins."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    sample = order[:STACKER_SAMPLE]
    count = 4 if len(sample) == len(labels) else 2  # small sets: more of them to learn from
    out = _HeldOut([], [], [])
    for part in (sorted(sample[k::count].tolist()) for k in range(count)):
        inside = set(part)
        rest = [int(i) for i in order if int(i) not in inside]
        rest = _bounded(rest, labels, HELD_OUT_TRAIN_MAX)
        if sum(n >= 2 for n in Counter(labels[rest].tolist()).values()) < 2:
            continue  # a tiny set: the others hold too few of each procedure to learn from
        classifier = fit_classifier(matrix[rest], list(labels[rest]), seed)
        names = [str(label) for label in classifier.classes_]
        doubled = part[: max(1, round(len(part) * TWIN_SHARE))]
        twin_parts = [zones(list(_twin_of(i, part, kept, labels, rng))) for i in doubled]
        twin_matrix = vectorizer.transform(column_array([model_input(z) for z in twin_parts]))
        for indices, batch, rows, twin_flag in (
            (part, [parts[i] for i in part], matrix[part], False),
            (doubled, twin_parts, twin_matrix, True),
        ):
            probabilities = classifier.predict_proba(rows)
            for index, record, row in zip(indices, batch, probabilities, strict=True):
                scores = rules.score(record, catalogue)
                choice = decide(scores, catalogue, method="rules").procedure
                model = dict(zip(names, map(float, row), strict=True))
                out.evidence.append(Evidence(scores, choice, model))
                out.truths.append(str(labels[index]))
                out.twins.append(twin_flag)
    return out


def _bounded(rows: list[int], labels: np.ndarray, limit: int) -> list[int]:
    """At most about `limit` of `rows` (already shuffled), each label keeping its share and
    at least MIN_PER_LABEL examples where it has them."""
    if len(rows) <= limit:
        return sorted(rows)
    by_label: dict[str, list[int]] = {}
    for row in rows:
        by_label.setdefault(str(labels[row]), []).append(row)
    kept = []
    for members in by_label.values():
        share = max(MIN_PER_LABEL, round(limit * len(members) / len(rows)))
        kept += members[:share]
    return sorted(kept)


def _twin_of(
    index: int, fold: list[int], kept: Sequence[Example], labels: np.ndarray, rng
) -> tuple[str, ...]:
    others = [i for i in fold if labels[i] != labels[index]]
    donor = kept[others[int(rng.integers(len(others)))]].pages if others else ()
    return twin(kept[index].pages, donor, rng)


def _stacker_rows(
    evidence: Sequence[Evidence], truths: Sequence[str], unknown: str
) -> tuple[list[list[float]], list[int], list[int], list[str]]:
    rows, targets, groups, keys = [], [], [], []
    for number, (item, truth) in enumerate(zip(evidence, truths, strict=True)):
        for key in candidates(item, unknown):
            rows.append(features(item, key, unknown))
            targets.append(int(key == truth))
            groups.append(number)
            keys.append(key)
    return rows, targets, groups, keys


def _fit_and_measure(held: _HeldOut, catalogue: Catalogue) -> tuple[Stacker, dict]:
    unknown = catalogue.unknown.key
    rows, targets, groups, keys = _stacker_rows(held.evidence, held.truths, unknown)
    if len(set(targets)) < 2:
        raise SohoaError(
            f"too few labelled records to calibrate the classifier ({len(held.truths)} held "
            "out): give at least 5 records of each of two or more procedures"
        )
    stacker = fit_stacker(rows, targets)
    # The stacker's own held-out decisions: fitted without the record it decides.
    ranked: list[list[tuple[str, float]]] = [[] for _ in held.evidence]
    folds = GroupKFold(n_splits=max(2, min(STACKER_FOLDS, len(held.evidence))))
    for fit_rows, test_rows in folds.split(rows, targets, groups):
        fitted_targets = [targets[i] for i in fit_rows]
        local = (
            fit_stacker([rows[i] for i in fit_rows], fitted_targets)
            if len(set(fitted_targets)) > 1
            else stacker
        )
        for i in test_rows:
            ranked[groups[i]].append((keys[i], local.probability(rows[i])))
    metrics = {}
    for name, twins in (("held_out_calibration", False), ("held_out_damaged_twins", True)):
        methods: dict[str, list[Decision]] = {
            "rules": [],
            "model": [],
            "agreement_rule": [],
            "stacked": [],
        }
        truths = []
        for item, candidates_of, truth, is_twin in zip(
            held.evidence, ranked, held.truths, held.twins, strict=True
        ):
            if is_twin != twins:
                continue
            by_rules = rules_decision(dict(item.rules), catalogue)
            methods["rules"].append(by_rules)
            methods["model"].append(model_decision(dict(item.model)))
            methods["agreement_rule"].append(agreement_decision(item, by_rules.confidence))
            order = sorted(candidates_of, key=lambda kp: (-kp[1], kp[0] == unknown, kp[0]))
            methods["stacked"].append(Decision(*final_choice(order, unknown)))
            truths.append(truth)
        metrics[name] = calibration_summary(methods, truths)
    return stacker, metrics
