"""`sohoa classify models|activate`, and the active model a run classifies with: the
registry rows (sohoa.records.classifier_models) checked against the configured catalogue."""

from __future__ import annotations

from sohoa.classify import Catalogue, load_catalogue
from sohoa.classify.registry import ModelRef, model_ref
from sohoa.config import Settings
from sohoa.records import classifier_models, database_session
from sohoa.records.classifier_models import ModelRow


def catalogue_of(settings: Settings) -> Catalogue:
    return load_catalogue(list(settings.classify.catalogue))


def active_model(settings: Settings, catalogue: Catalogue) -> ModelRef | None:
    """The model new records are classified with, or None (rules alone); SohoaError when it
    was trained for another version of the catalogue."""
    with database_session(settings.database_url) as session:
        row = classifier_models.active_model(session)
    if row is None:
        return None
    return model_ref(row.path, row.sha256, row.version, row.catalogue_version, catalogue)


def list_models(settings: Settings) -> list[ModelRow]:
    with database_session(settings.database_url) as session:
        return classifier_models.list_models(session)


def activate(settings: Settings, version: str | None) -> None:
    """Make `version` the active model; None: no model, the rules alone."""
    with database_session(settings.database_url) as session:
        classifier_models.activate(session, version)
