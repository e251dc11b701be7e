"""The auditors' HTML report: one self-contained file (inline CSS and SVG, no scripts)."""

from sohoa.report.collect import collect_report_data
from sohoa.report.data import Bar, Count, DayPoint, ReportData, Verification
from sohoa.report.html import render_report

__all__ = [
    "Bar",
    "Count",
    "DayPoint",
    "ReportData",
    "Verification",
    "collect_report_data",
    "render_report",
]
