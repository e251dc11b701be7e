"""The trained scorer: TF-IDF of word and character n-grams, a calibrated linear SVM, and a
versioned model file.

The model reads the same zones as the rules (document.py): the title block of the first
page gets a vectorizer of its own, so the form's heading weighs more than the rest of the
page, and the attachments count least. Text is folded (diacritics dropped), because
tesseract's tone marks are the least reliable part of its output, and digit runs become
one token: dates and ID numbers say nothing about the procedure.

The file is an envelope: a magic line, one JSON header line (format and scikit-learn
versions, catalogue version, labels, training size, metrics, and the SHA-256 of the
payload), then a joblib payload. `load` checks the checksum before unpickling, so a
truncated or damaged file is refused, never half-read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from sohoa.classify.catalogue import Catalogue
from sohoa.classify.combine import Stacker
from sohoa.classify.document import Zone
from sohoa.errors import SohoaError

FORMAT_VERSION = 1
MAGIC = b"sohoa-classifier\n"
MAX_HEADER_BYTES = 1 << 20
CALIBRATION_FOLDS = 3
PLENTY = 3000  # examples from which two calibration folds are enough
MIN_PER_LABEL = 3  # fewer cannot be calibrated on held-out folds: left to the rules
EMPTY = "vide"  # stands in for a missing zone: a vectorizer refuses an all-empty column
_DIGITS = re.compile(r"\d+")
# Column 0: the title block; 1: the whole first page; 2: the attachments. Character n-grams
# on the title block read an OCR-damaged heading; on the whole page they doubled the
# vectorizing time (pure Python) without changing a single decision on the development split.
_VECTORIZERS = (
    ("title_chars", 0, {"analyzer": "char_wb", "ngram_range": (2, 4)}, 1.0),
    ("page_words", 1, {"ngram_range": (1, 2), "token_pattern": r"\S+"}, 1.0),
    ("attachment_words", 2, {"token_pattern": r"\S+"}, 0.3),
)
MAX_FEATURES = 60_000  # per vectorizer: bounds the file size and the load time


class ModelFileError(SohoaError):
    """The model file cannot be used (missing, damaged, foreign): fall back to the rules."""


class CatalogueMismatch(SohoaError):
    """The model was trained on another version of the catalogue."""


@dataclass(frozen=True)
class ModelInfo:
    format_version: int
    sklearn_version: str
    catalogue_version: str
    labels: tuple[str, ...]
    created_at: str  # ISO 8601, UTC
    training_size: int
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainedModel:
    """The fitted text model plus the small calibrator that combines it with the rules."""

    info: ModelInfo
    vectorizer: ColumnTransformer
    classifier: CalibratedClassifierCV
    stacker: Stacker
    _fast: _Compiled | None = field(default=None, init=False, repr=False, compare=False)

    def probabilities(self, zones: list[Zone]) -> dict[str, float]:
        """Calibrated probability of each label the model knows, for one record."""
        if self._fast is None:
            self._fast = _Compiled.of(self.vectorizer, self.classifier)
        return self._fast.probabilities(model_input(zones))

    def probabilities_many(self, rows: list[tuple[str, str, str]]) -> list[dict[str, float]]:
        """The same through scikit-learn, for many records at once."""
        matrix = self.classifier.predict_proba(self.vectorizer.transform(column_array(rows)))
        labels = [str(label) for label in self.classifier.classes_]
        return [dict(zip(labels, map(float, row), strict=True)) for row in matrix]


@dataclass(frozen=True)
class _Block:
    column: int
    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    weight: float
    offset: int  # of the block's first feature in the stacked vector


@dataclass(frozen=True)
class _Compiled:
    """TF-IDF and the calibrated SVMs as plain arrays, for one record at a time.

    scikit-learn validates its inputs on every call, which for a single record costs ~20 ms;
    this computes the same numbers (checked by tests/test_model.py) in well under one."""

    blocks: tuple[_Block, ...]
    coef: np.ndarray  # (features, models * columns)
    intercept: np.ndarray  # (models * columns,)
    slope: np.ndarray  # sigmoid calibration a, per model and column
    shift: np.ndarray  # sigmoid calibration b
    models: int
    labels: tuple[str, ...]

    @classmethod
    def of(cls, vectorizer: ColumnTransformer, classifier: CalibratedClassifierCV) -> _Compiled:
        blocks, offset = [], 0
        weights = vectorizer.transformer_weights or {}
        for name, tfidf, column in vectorizer.transformers_:
            if name == "remainder":
                continue
            if not (tfidf.sublinear_tf and tfidf.use_idf and tfidf.norm == "l2"):
                raise ValueError(f"{name}: only sublinear, idf-weighted, l2-normed TF-IDF")
            blocks.append(
                _Block(
                    column,
                    tfidf.build_analyzer(),
                    tfidf.vocabulary_,
                    tfidf.idf_.astype(np.float64),
                    float(weights.get(name, 1.0)),
                    offset,
                )
            )
            offset += len(tfidf.vocabulary_)
        coefs, intercepts, slopes, shifts = [], [], [], []
        for calibrated in classifier.calibrated_classifiers_:
            svm = calibrated.estimator
            coefs.append(np.asarray(svm.coef_, dtype=np.float64).T)
            intercepts.append(np.asarray(svm.intercept_, dtype=np.float64))
            slopes.append([c.a_ for c in calibrated.calibrators])
            shifts.append([c.b_ for c in calibrated.calibrators])
        return cls(
            blocks=tuple(blocks),
            coef=np.hstack(coefs),
            intercept=np.concatenate(intercepts),
            slope=np.asarray(slopes, dtype=np.float64).ravel(),
            shift=np.asarray(shifts, dtype=np.float64).ravel(),
            models=len(coefs),
            labels=tuple(str(label) for label in classifier.classes_),
        )

    def probabilities(self, row: tuple[str, str, str]) -> dict[str, float]:
        indices, values = [], []
        for block in self.blocks:
            counts = Counter(
                block.vocabulary[t]
                for t in block.analyzer(row[block.column])
                if t in block.vocabulary
            )
            if not counts:
                continue
            found = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            vector = tf * block.idf[found]
            vector *= block.weight / np.sqrt(vector @ vector)
            indices.append(found + block.offset)
            values.append(vector)
        scores = self.intercept.copy()
        if indices:
            scores += np.concatenate(values) @ self.coef[np.concatenate(indices)]
        calibrated = 1.0 / (1.0 + np.exp(self.slope * scores + self.shift))
        per_model = calibrated.reshape(self.models, -1)
        if len(self.labels) == 2:  # one decision column: the second label's
            per_model = np.hstack([1.0 - per_model, per_model])
        else:
            totals = per_model.sum(axis=1, keepdims=True)
            uniform = np.full_like(per_model, 1.0 / len(self.labels))
            per_model = np.divide(per_model, totals, out=uniform, where=totals != 0)
        return dict(zip(self.labels, map(float, per_model.mean(axis=0)), strict=True))


def model_input(zones: list[Zone]) -> tuple[str, str, str]:
    """(title block, whole first page, attachments), folded, digit runs as '0'."""
    by_name = {zone.name: zone.folded for zone in zones}
    title = by_name.get("title", "")
    page = f"{title} {by_name.get('body', '')}".strip()
    return (_clean(title), _clean(page), _clean(by_name.get("attachments", "")))


def _clean(folded: str) -> str:
    return _DIGITS.sub("0", folded) or EMPTY


def column_array(rows: list[tuple[str, str, str]]) -> np.ndarray:
    array = np.empty((len(rows), 3), dtype=object)
    for index, row in enumerate(rows):
        array[index] = row
    return array


def make_vectorizer() -> ColumnTransformer:
    parts = [(name, _tfidf(options), column) for name, column, options, _weight in _VECTORIZERS]
    weights = {name: weight for name, _column, _options, weight in _VECTORIZERS}
    return ColumnTransformer(parts, transformer_weights=weights, sparse_threshold=1.0)


def _tfidf(options: dict[str, Any]) -> TfidfVectorizer:
    return TfidfVectorizer(
        sublinear_tf=True, dtype=np.float32, max_features=MAX_FEATURES, **options
    )


def fit_classifier(matrix: Any, labels: list[str], seed: int) -> CalibratedClassifierCV:
    """Linear SVM, its scores made probabilities by sigmoid calibration on held-out folds.

    Labels with a single example are left out (they cannot be calibrated). Three folds,
    or two once there are plenty of examples: each SVM then still sees thousands of
    records, and training on 10,000 takes a third less time."""
    counts = Counter(labels)
    rows = [n for n, label in enumerate(labels) if counts[label] >= 2]
    if len(rows) < len(labels):
        matrix, labels = matrix[rows], [labels[n] for n in rows]
        counts = Counter(labels)
    folds = CALIBRATION_FOLDS if len(labels) < PLENTY else 2
    folds = max(2, min(folds, min(counts.values())))
    svm = LinearSVC(C=0.5, class_weight="balanced", tol=1e-3)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return CalibratedClassifierCV(svm, method="sigmoid", cv=splitter).fit(matrix, labels)


def new_info(
    catalogue: Catalogue, labels: list[str], training_size: int, metrics: dict[str, Any]
) -> ModelInfo:
    return ModelInfo(
        format_version=FORMAT_VERSION,
        sklearn_version=sklearn.__version__,
        catalogue_version=catalogue.version,
        labels=tuple(sorted(set(labels))),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        training_size=training_size,
        metrics=metrics,
    )


# -- the file ----------------------------------------------------------------------------


def dumps(model: TrainedModel) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(
        {
            "vectorizer": model.vectorizer,
            "classifier": model.classifier,
            "stacker": model.stacker.to_dict(),
        },
        buffer,
        compress=3,
    )
    payload = buffer.getvalue()
    header = {**asdict(model.info), "payload_sha256": hashlib.sha256(payload).hexdigest()}
    line = json.dumps(header, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return MAGIC + line + b"\n" + payload


def read_info(path: Path) -> ModelInfo:
    """The header alone: cheap, for listing models and checking the catalogue at start."""
    info, _payload_sha, _offset = _header(path, _read_head(path))
    return info


def loads(data: bytes, where: str, catalogue: Catalogue | None = None) -> TrainedModel:
    """Parse and verify a model file's bytes; `catalogue`, when given, must be the model's."""
    info, payload_sha, offset = _header(Path(where), data)
    if catalogue is not None:
        check_catalogue(info, catalogue, where)
    payload = data[offset:]
    if hashlib.sha256(payload).hexdigest() != payload_sha:
        raise ModelFileError(f"model file {where} is damaged (checksum mismatch): train again")
    try:
        parts = joblib.load(io.BytesIO(payload))
        stacker = Stacker.from_dict(parts["stacker"])
        return TrainedModel(info, parts["vectorizer"], parts["classifier"], stacker)
    except Exception as exc:  # an unpickling failure has many exception types
        raise ModelFileError(f"model file {where} cannot be read ({exc}): train again") from exc


def load(path: Path, catalogue: Catalogue | None = None) -> TrainedModel:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"model file {path} cannot be read: {exc.strerror}") from exc
    return loads(data, str(path), catalogue)


def check_catalogue(info: ModelInfo, catalogue: Catalogue, where: str) -> None:
    if info.catalogue_version != catalogue.version:
        raise CatalogueMismatch(
            f"model {where} was trained for catalogue version {info.catalogue_version}, but "
            f"the configured catalogue is version {catalogue.version}: run "
            "'sohoa classify train' again"
        )


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MAGIC) + MAX_HEADER_BYTES)
    except OSError as exc:
        raise ModelFileError(f"model file {path} cannot be read: {exc.strerror}") from exc


def _header(path: Path, data: bytes) -> tuple[ModelInfo, str, int]:
    if not data.startswith(MAGIC):
        raise ModelFileError(f"{path} is not a sohoa classifier model file")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise ModelFileError(f"model file {path} is damaged (no header): train again")
    try:
        header = json.loads(data[len(MAGIC) : end].decode("utf-8"))
        payload_sha = header.pop("payload_sha256")
        header["labels"] = tuple(header["labels"])
        info = ModelInfo(**header)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"model file {path} is damaged (bad header): train again") from exc
    if info.format_version != FORMAT_VERSION:
        raise ModelFileError(
            f"model file {path} has format {info.format_version}; this sohoa reads "
            f"format {FORMAT_VERSION}: train again"
        )
    if info.sklearn_version != sklearn.__version__:
        # Pickled estimators are only safe within the scikit-learn version that wrote them.
        raise ModelFileError(
            f"model file {path} was written by scikit-learn {info.sklearn_version}, this is "
            f"{sklearn.__version__}: train again"
        )
    return info, payload_sha, end + 1
