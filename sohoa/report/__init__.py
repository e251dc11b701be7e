"""The auditors' HTML report: one self-contained file (inline CSS and SVG, no scripts),
from the questions collect.py asks of the records database."""

from sohoa.report.collect import collect_report_data
from sohoa.report.data import Bar, Count, DayPoint, MissingDossier, ReportData, Verification
from sohoa.report.html import render_report

__all__ = [
    "Bar",
    "Count",
    "DayPoint",
    "MissingDossier",
    "ReportData",
    "Verification",
    "collect_report_data",
    "render_report",
]
