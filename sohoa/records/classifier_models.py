"""The registry of trained classifier models (table classifier_models): which files exist,
what they were trained on, and which one is active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sohoa.errors import SohoaError
from sohoa.records.models import ClassifierModel

if TYPE_CHECKING:
    from sohoa.classify.model import ModelInfo


@dataclass(frozen=True)
class ModelRow:
    version: str
    active: bool
    created_at: str
    training_size: int
    catalogue_version: str
    path: str


@dataclass(frozen=True)
class ActiveModel:
    version: str
    path: str
    sha256: str
    catalogue_version: str  # of the catalogue it was trained for


def _row(model: ClassifierModel) -> ModelRow:
    return ModelRow(
        model.version,
        model.active,
        model.created_at.isoformat(timespec="seconds"),
        model.training_size,
        model.catalogue_version,
        model.path,
    )


def active_model(session: Session) -> ActiveModel | None:
    """The model new records are classified with, or None (the rules alone)."""
    row = session.scalars(select(ClassifierModel).where(ClassifierModel.active.is_(True))).first()
    if row is None:
        return None
    return ActiveModel(row.version, row.path, row.sha256, row.catalogue_version)


def list_models(session: Session) -> list[ModelRow]:
    return [_row(r) for r in session.scalars(select(ClassifierModel).order_by(ClassifierModel.id))]


def activate(session: Session, version: str | None) -> None:
    """Make `version` the active model; None: no model, the rules alone."""
    row = None
    if version is not None:
        row = session.scalars(
            select(ClassifierModel).where(ClassifierModel.version == version)
        ).first()
        if row is None:
            raise SohoaError(f"no classifier model {version!r}: see 'sohoa classify models'")
    session.execute(update(ClassifierModel).values(active=False))
    if row is not None:
        row.active = True


def add_active_model(
    session: Session, version: str, path: str, sha256: str, info: ModelInfo
) -> None:
    """Record a newly trained model file and make it the active one."""
    session.execute(update(ClassifierModel).values(active=False))
    session.add(
        ClassifierModel(
            version=version,
            path=path,
            sha256=sha256,
            catalogue_version=info.catalogue_version,
            format_version=info.format_version,
            sklearn_version=info.sklearn_version,
            training_size=info.training_size,
            labels=list(info.labels),
            metrics=info.metrics,
            active=True,
        )
    )
