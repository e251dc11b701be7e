"""`sohoa classify eval`: classify the records of labelled folders (OCR text, cached) and
compare with their truth: per-procedure precision/recall/F1, the confusion matrix, what goes
to review, the precision of what does not, out-of-catalogue documents, and how well the
confidence is calibrated (Brier score and reliability bins) next to the other ways of
deciding (rules alone, model alone, the agreement rule).

"Sent to review" is the classifier's part of the worker's rule: procedure `khac`, or a
confidence below `classify.model_review_threshold` for decisions of rules + model (a
calibrated probability) and `classify.review_threshold` for the rules alone (a score).
The worker also sends records with a page of low OCR confidence; that does not depend on
the classifier and is not counted here.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sohoa.classify import Catalogue, Classification, classify
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.pipeline.labelled import Labelled, Say, folder_records
from sohoa.pipeline.models import active_model, catalogue_of

if TYPE_CHECKING:
    from sohoa.classify.learn import Decision
    from sohoa.classify.model import TrainedModel


@dataclass
class EvalReport:
    folders: list[str]
    records: int
    model: str  # version, a path, or "rules"
    review_thresholds: dict[str, float]  # by method: rules, combined
    labels: list[str]  # rows and columns of the confusion matrix
    confusion: list[list[int]]  # [truth][predicted]
    per_procedure: list[dict[str, Any]]
    macro_f1: float  # over the catalogue procedures present in the truth, khac excluded
    sent_to_review: int
    review_share: float  # of all records
    review_share_in_catalogue: float  # of records whose true procedure is in the catalogue
    auto_accepted: int
    auto_precision: float | None
    out_of_catalogue: int
    out_of_catalogue_caught: float | None  # share ending khac or in review
    calibration: dict[str, dict[str, float]]
    reliability: list[dict[str, float]]
    classify_ms_per_record: float  # CPU
    problems: list[str] = field(default_factory=list)
    mistakes: list[dict[str, Any]] = field(default_factory=list)


RELIABILITY_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0)


def load_for_eval(
    settings: Settings, catalogue: Catalogue, model_path: Path | None, rules_only: bool
) -> tuple[TrainedModel | None, str]:
    from sohoa.classify.model import load

    if rules_only:
        return None, "rules"
    if model_path is not None:
        return load(model_path, catalogue), str(model_path)
    ref = active_model(settings, catalogue)
    if ref is None:
        raise SohoaError(
            "no active classifier model: run 'sohoa classify train' first, or pass "
            "--model FILE or --rules-only"
        )
    return load(Path(ref.path), catalogue), ref.version


def evaluate(
    settings: Settings,
    folders: list[Path],
    *,
    model_path: Path | None = None,
    rules_only: bool = False,
    workers: int = 1,
    say: Say | None = None,
) -> EvalReport:
    """Classify every record of labelled folders (OCR text, cached) and compare."""
    from sohoa.classify import learn

    catalogue = catalogue_of(settings)
    model, model_name = load_for_eval(settings, catalogue, model_path, rules_only)
    thresholds = {
        "rules": settings.classify.review_threshold,
        "combined": settings.classify.model_review_threshold,
    }
    records: list[Labelled] = []
    problems: list[str] = []
    for folder in folders:
        found, trouble = folder_records(folder, settings, workers=workers, say=say)
        records += found
        problems += trouble
    keys = [p.key for p in catalogue.procedures]
    strangers = sorted({r.label for r in records} - set(keys))
    if strangers:
        raise SohoaError(f"truth labels not in the catalogue: {', '.join(strangers)}")
    started = time.process_time()
    results: list[Classification] = [classify(list(r.pages), catalogue, model) for r in records]
    spent = time.process_time() - started
    truths = [r.label for r in records]
    unknown = catalogue.unknown.key
    review = [
        res.procedure == unknown or res.confidence < thresholds.get(res.method, 1.0)
        for res in results
    ]
    comparison = _compare_methods(records, results, catalogue, model)
    decisions = comparison[model_name if model is None else "stacked"]
    return EvalReport(
        folders=[str(f) for f in folders],
        records=len(records),
        model=model_name,
        review_thresholds=thresholds,
        labels=keys,
        confusion=_confusion(keys, truths, [r.procedure for r in results]),
        per_procedure=_per_procedure(keys, truths, [r.procedure for r in results]),
        macro_f1=_macro_f1(keys, truths, [r.procedure for r in results], unknown),
        sent_to_review=sum(review),
        review_share=_share(sum(review), len(review)),
        review_share_in_catalogue=_share(
            sum(rv for rv, t in zip(review, truths, strict=True) if t != unknown),
            sum(t != unknown for t in truths),
        ),
        auto_accepted=sum(not rv for rv in review),
        auto_precision=_share_or_none(
            sum(
                res.procedure == t and not rv
                for res, t, rv in zip(results, truths, review, strict=True)
            ),
            sum(not rv for rv in review),
        ),
        out_of_catalogue=sum(t == unknown for t in truths),
        out_of_catalogue_caught=_share_or_none(
            sum(rv for rv, t in zip(review, truths, strict=True) if t == unknown),
            sum(t == unknown for t in truths),
        ),
        calibration=learn.calibration_summary(comparison, truths),
        reliability=learn.reliability(decisions, truths, RELIABILITY_EDGES),
        classify_ms_per_record=round(1000 * spent / max(len(records), 1), 3),
        problems=problems,
        mistakes=[
            {
                "record": r.rel_path,
                "truth": r.label,
                "predicted": res.procedure,
                "confidence": res.confidence,
                "review": rv,
            }
            for r, res, rv in zip(records, results, review, strict=True)
            if res.procedure != r.label
        ],
    )


def _compare_methods(
    records: list[Labelled],
    results: list[Classification],
    catalogue: Catalogue,
    model: TrainedModel | None,
) -> dict[str, list[Decision]]:
    """The record's final decision next to the other ways of deciding, for calibration."""
    from sohoa.classify import learn, rules
    from sohoa.classify.combine import Evidence
    from sohoa.classify.document import zones

    unknown = catalogue.unknown.key
    methods: dict[str, list[Decision]] = {"rules": []}
    if model is not None:
        methods.update({"model": [], "agreement_rule": [], "stacked": []})
    for record, result in zip(records, results, strict=True):
        parts = zones(list(record.pages))
        scores = rules.score(parts, catalogue)
        by_rules = learn.rules_decision(scores, catalogue)
        if result.reason == "no_text":
            by_rules = learn.Decision(unknown, 0.0)
        methods["rules"].append(by_rules)
        if model is None:
            continue
        probabilities = model.probabilities(parts) if parts else {unknown: 1.0}
        evidence = Evidence(scores, by_rules.label, probabilities)
        methods["model"].append(learn.model_decision(probabilities))
        methods["agreement_rule"].append(learn.agreement_decision(evidence, by_rules.confidence))
        methods["stacked"].append(learn.Decision(result.procedure, result.confidence))
    return methods


def _confusion(keys: list[str], truths: list[str], predicted: list[str]) -> list[list[int]]:
    index = {key: n for n, key in enumerate(keys)}
    matrix = [[0] * len(keys) for _ in keys]
    for truth, guess in zip(truths, predicted, strict=True):
        matrix[index[truth]][index[guess]] += 1
    return matrix


def _per_procedure(keys: list[str], truths: list[str], predicted: list[str]) -> list[dict]:
    pairs = list(zip(truths, predicted, strict=True))
    rows = []
    for key in keys:
        support = sum(t == key for t, _ in pairs)
        said = sum(p == key for _, p in pairs)
        hits = sum(t == p == key for t, p in pairs)
        precision = hits / said if said else None
        recall = hits / support if support else None
        f1 = (2 * hits / (support + said)) if support + said else None
        rows.append(
            {
                "procedure": key,
                "support": support,
                "predicted": said,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        )
    return rows


def _macro_f1(keys: list[str], truths: list[str], predicted: list[str], unknown: str) -> float:
    rows = _per_procedure(keys, truths, predicted)
    scores = [r["f1"] for r in rows if r["procedure"] != unknown and r["support"]]
    return sum(scores) / len(scores) if scores else 0.0


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _share_or_none(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# -- output -----------------------------------------------------------------------------


def payload(report: EvalReport) -> dict[str, Any]:
    """The report as JSON-ready data (`--format json`)."""
    return asdict(report)


def render(report: EvalReport) -> str:
    """The report as text: tables a person reads in a terminal or a closing note."""
    out = [
        f"model {report.model} on {report.records} record(s) from {', '.join(report.folders)}"
        " (review below confidence "
        + ", ".join(f"{v} for {k}" for k, v in report.review_thresholds.items())
        + ")",
        "",
        _table(
            ["procedure", "support", "predicted", "precision", "recall", "f1"],
            [
                [
                    r["procedure"],
                    r["support"],
                    r["predicted"],
                    _num(r["precision"]),
                    _num(r["recall"]),
                    _num(r["f1"]),
                ]
                for r in report.per_procedure
            ],
        ),
        "",
        f"macro-F1 (catalogue procedures in the truth, khac excluded): {report.macro_f1:.4f}",
        f"sent to review: {report.sent_to_review} of {report.records} "
        f"({_pct(report.review_share)}); of records of catalogue procedures: "
        f"{_pct(report.review_share_in_catalogue)}",
        f"accepted automatically: {report.auto_accepted}, precision {_num(report.auto_precision)}",
        f"out of catalogue: {report.out_of_catalogue} record(s), "
        f"{_pct(report.out_of_catalogue_caught)} ended khac or in review",
        f"classification: {report.classify_ms_per_record:.2f} ms CPU per record",
        "",
        "confusion matrix (rows: truth, columns: predicted)",
        _confusion_table(report.labels, report.confusion),
        "",
        "calibration of the confidence (Brier: lower is better)",
        _table(
            ["method", "brier", "accuracy"],
            [
                [name, f"{m['brier']:.5f}", f"{m['accuracy']:.4f}"]
                for name, m in report.calibration.items()
            ],
        ),
        "",
        "reliability of the final confidence",
        _table(
            ["confidence", "records", "mean confidence", "share right"],
            [
                [
                    f"{b['from']:.2f}-{b['to']:.2f}",
                    b["records"],
                    f"{b['mean_confidence']:.4f}",
                    f"{b['accuracy']:.4f}",
                ]
                for b in report.reliability
            ],
        ),
    ]
    if report.mistakes:
        out += ["", "misclassified"]
        out.append(
            _table(
                ["record", "truth", "predicted", "confidence", "review"],
                [
                    [
                        m["record"],
                        m["truth"],
                        m["predicted"],
                        f"{m['confidence']:.3f}",
                        "yes" if m["review"] else "no",
                    ]
                    for m in report.mistakes
                ],
            )
        )
    out += [f"problem: {problem}" for problem in report.problems]
    return "\n".join(out)


def _confusion_table(labels: list[str], matrix: list[list[int]]) -> str:
    header = ["truth \\ predicted", *(str(n) for n in range(1, len(labels) + 1))]
    rows = [
        [f"{n} {label}", *(str(v) if v else "." for v in row)]
        for n, (label, row) in enumerate(zip(labels, matrix, strict=True), start=1)
    ]
    return _table(header, rows)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first, *rest = row
        return "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])])


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
