"""The auditors' HTML report: one self-contained file (inline CSS and SVG, no scripts)."""

from sohoa.report.data import Bar, Count, DayPoint, ReportData, Verification
from sohoa.report.html import render_report

__all__ = ["Bar", "Count", "DayPoint", "ReportData", "Verification", "render_report"]
