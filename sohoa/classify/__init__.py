"""Classify a record by administrative procedure: catalogue, Vietnamese normalisation, rules,
and (model.py, learn.py, combine.py; imported on demand, they need scikit-learn) a trained
model combined with the rules."""

from sohoa.classify.catalogue import Catalogue, Procedure, load_catalogue
from sohoa.classify.classifier import Classification, classify
from sohoa.classify.normalise import fold, nfc

__all__ = [
    "Catalogue",
    "Classification",
    "Procedure",
    "classify",
    "fold",
    "load_catalogue",
    "nfc",
]
