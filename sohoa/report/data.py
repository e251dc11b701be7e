"""What the HTML report shows: plain values, filled by `collect_report_data` (collect.py)
from a database session it is given; html.py renders them. Tests build these by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


@dataclass(frozen=True)
class Bar:
    key: str  # stable value (catalogue key, unit name), for data attributes
    label: str  # what a reader sees (the procedure's Vietnamese name)
    items: int
    digitized: int

    @property
    def percent(self) -> float:
        return percent(self.digitized, self.items)


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    cumulative: int  # items digitized up to and including this day


@dataclass(frozen=True)
class Count:
    key: str  # failure reason or procedure key
    label: str
    count: int


@dataclass(frozen=True)
class MissingDossier:
    """A register item no scanned record is linked to: paper still to be scanned."""

    code: str
    title: str
    unit: str
    year: int | None
    location: str  # where the paper is kept (kho, giá, hộp)


@dataclass(frozen=True)
class Verification:
    ok: int  # archived records whose latest `verify` said ok
    failed: int  # ... said failed
    never: int  # archived records never verified: they count as digitized, unconfirmed


@dataclass(frozen=True)
class ReportData:
    generated_at: dt.datetime
    basis: str  # "inventory" (register items) or "records" (no register imported yet)
    items: int  # the denominator: registered dossiers (or known records)
    digitized: int
    pages_expected: int
    pages_digitized: int
    burnup: tuple[DayPoint, ...]
    by_procedure: tuple[Bar, ...]
    by_unit: tuple[Bar, ...]
    failures: tuple[Count, ...]  # failed records by reason (key: code, label: Vietnamese)
    reviews: tuple[Count, ...]  # needs_review records by procedure
    verification: Verification
    per_day: float | None  # items digitized per day lately; None without a register
    projected_completion: dt.date | None
    title: str = "Báo cáo tiến độ số hóa hồ sơ"
    by_year: tuple[Bar, ...] = ()
    missing: tuple[MissingDossier, ...] = ()  # the first MISSING_SHOWN, by code
    missing_total: int = 0  # register items not scanned (without a register: 0)
    timezone: str = "UTC"  # IANA name: the days of the burn-up and the times shown
    # Archived files signed with the TEST key of `sohoa init` (worth nothing in law): how
    # many, and the first of them (record id, file) for the reader to find.
    test_signed_total: int = 0
    test_signed: tuple[tuple[str, str], ...] = ()

    @property
    def percent(self) -> float:
        return percent(self.digitized, self.items)

    @property
    def remaining(self) -> int:
        return max(self.items - self.digitized, 0)
