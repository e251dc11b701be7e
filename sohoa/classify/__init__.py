"""Classify a record by administrative procedure: catalogue, Vietnamese normalisation, rules."""

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
