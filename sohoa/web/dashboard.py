"""The auditors' dashboard: the figures of `sohoa coverage` (the same function,
`pipeline.audit.coverage_answer`) and of the HTML report (`report.collect_report_data`),
kept per process for `web.dashboard_ttl_s` seconds.

Coverage itself is cheap (the coverage cells: a few thousand rows however large the
register), but the report's other questions (failures, reviews, verification, burn-up,
TEST-signed files) scan records and events; fifty auditors refreshing must not run them
fifty times. A thread of its own recomputes while requests get the previous figures.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sohoa.pipeline.audit import CoverageAnswer, coverage_answer
from sohoa.report import ReportData, collect_report_data

if TYPE_CHECKING:
    from sohoa.web.render import Web

log = logging.getLogger(__name__)
CHART_W, CHART_H = 720, 260
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 52, 16, 16, 28


@dataclass(frozen=True)
class Dashboard:
    at: dt.datetime
    total: CoverageAnswer  # as `sohoa coverage --format json`
    by: dict[str, CoverageAnswer]  # procedure, unit, year (unit and year need the register)
    report: ReportData
    chart: dict[str, Any]  # the burn-up's points in pixels

    @property
    def headline(self) -> dict[str, Any]:
        row = self.total.rows[0] if self.total.rows else {}
        items = row.get("items", row.get("registered", 0))
        return {"items": items, "digitized": row.get("digitized", 0),
                "percent": row.get("percent", 0.0), "remaining": items - row.get("digitized", 0)}


def compute(web: Web) -> Dashboard:
    with web.pool.reading() as session:
        total = coverage_answer(session, (), None)
        dims = ("procedure", "unit", "year") if total.basis == "inventory" else ("procedure",)
        by = {name: coverage_answer(session, (name,), None) for name in dims}
        report = collect_report_data(session, web.procedure_names, zone=web.zone)
    return Dashboard(dt.datetime.now(dt.UTC), total, by, report, burnup_chart(report))


class DashboardCache:
    """The figures of `compute`, kept `web.dashboard_ttl_s`. Older ones are recomputed in a
    thread of their own while requests get the previous figures: a process works on one
    request at a time (web.threads), and at 10^5 records `compute` takes ~0.45 s, which
    every request of the process waited for (1 s think time, 50 clients: p95 400-500 ms
    for every kind, p50 3-21 ms). Only a process's first dashboard waits for its figures."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self._lock = threading.Lock()  # held while computing
        self._value: Dashboard | None = None
        self._expires = 0.0

    def get(self) -> Dashboard:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._compute()
        elif time.monotonic() >= self._expires and self._lock.acquire(blocking=False):
            try:
                threading.Thread(target=self._recompute, name="dashboard", daemon=True).start()
            except RuntimeError:  # no thread to be had: the previous figures, tried again later
                self._lock.release()
        return self._value

    def _compute(self) -> None:
        self._value = compute(self.web)
        self._expires = time.monotonic() + self.web.config.dashboard_ttl_s

    def _recompute(self) -> None:
        try:
            self._compute()
        except Exception:
            # The previous figures stay, shown with their time; tried again after a TTL,
            # not on every request.
            log.exception("the dashboard's figures could not be recomputed")
            self._expires = time.monotonic() + self.web.config.dashboard_ttl_s
        finally:
            self._lock.release()


def burnup_chart(data: ReportData) -> dict[str, Any]:
    """The burn-up in SVG coordinates: the cumulative curve, the 100% line and the dashed
    projection from today's level to the projected completion day."""
    points = data.burnup
    if not points:
        return {}
    first = points[0].day - dt.timedelta(days=1)
    ahead = None
    if data.projected_completion and data.remaining > 0:
        today = data.generated_at.astimezone(data_zone(data)).date()
        start = max(today, points[-1].day)
        end = max(data.projected_completion, start)
        ahead = ((start, points[-1].cumulative), (end, data.items))
    last = ahead[1][0] if ahead else points[-1].day
    span = max((last - first).days, 1)
    top = max(data.items, points[-1].cumulative, 1)
    inner_w, inner_h = CHART_W - MARGIN_L - MARGIN_R, CHART_H - MARGIN_T - MARGIN_B

    def x(day: dt.date) -> float:
        return round(MARGIN_L + inner_w * (day - first).days / span, 1)

    def y(value: int) -> float:
        return round(MARGIN_T + inner_h * (1 - value / top), 1)

    curve = [(x(first), y(0)), *((x(p.day), y(p.cumulative)) for p in points)]
    return {
        "w": CHART_W, "h": CHART_H, "left": MARGIN_L, "right": CHART_W - MARGIN_R,
        "top": MARGIN_T, "bottom": CHART_H - MARGIN_B,
        "polyline": " ".join(f"{a},{b}" for a, b in curve),
        "points": [(x(p.day), y(p.cumulative), p.day, p.cumulative) for p in points],
        "target_y": y(data.items), "items": data.items, "first": first, "last": last,
        "projection": ahead and (x(ahead[0][0]), y(ahead[0][1]), x(ahead[1][0]), y(ahead[1][1]),
                                 ahead[1][0]),
    }  # fmt: skip


def data_zone(data: ReportData):
    from zoneinfo import ZoneInfo

    return ZoneInfo(data.timezone)
