"""Model files: where a trained model is saved, and how a worker gets back exactly the file
the database names (its SHA-256 checked) for the catalogue it was trained on.

The rows that say which file is active live in the database (sohoa.records.classifier_models);
this module only handles the files. Imported on demand: loading needs scikit-learn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sohoa.classify.catalogue import Catalogue
from sohoa.errors import SohoaError

if TYPE_CHECKING:
    from sohoa.classify.model import TrainedModel


@dataclass(frozen=True)
class ModelRef:
    """The active model as a worker needs it: where the file is and what it must hash to."""

    path: str
    sha256: str
    version: str


def model_ref(
    path: str, sha256: str, version: str, trained_for: str, catalogue: Catalogue
) -> ModelRef:
    """The reference to a registered model, refused (before any record runs) when it was
    trained for another version of the catalogue: its labels may no longer mean what the
    catalogue says."""
    if trained_for != catalogue.version:
        raise SohoaError(
            f"the active classifier model {version} was trained for catalogue version "
            f"{trained_for}, but the configured catalogue is version "
            f"{catalogue.version}: run 'sohoa classify train' again, or "
            "'sohoa classify activate none' to classify with the rules alone"
        )
    return ModelRef(path, sha256, version)


def save_model(folder: Path, model: TrainedModel) -> ModelRef:
    """Write the model into `folder`, named by its time and content."""
    from sohoa.classify.model import dumps

    data = dumps(model)
    sha256 = hashlib.sha256(data).hexdigest()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    version = f"{stamp}-{sha256[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"classifier-{version}.model"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return ModelRef(str(path), sha256, version)


def load_model(ref: ModelRef, catalogue: Catalogue) -> TrainedModel:
    """The model file `ref` names; SohoaError when it is missing, changed or damaged."""
    from sohoa.classify.model import loads

    try:
        data = Path(ref.path).read_bytes()
    except OSError as exc:
        raise SohoaError(f"model file {ref.path} cannot be read: {exc.strerror}") from exc
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise SohoaError(f"model file {ref.path} does not match its recorded SHA-256")
    return loads(data, ref.path, catalogue)
