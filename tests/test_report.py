"""The auditors' HTML report: its data from the database, and the self-contained page."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from sohoa.config import load_settings
from sohoa.errors import SohoaError
from sohoa.pipeline.audit import display_zone
from sohoa.records import Event, EventRow, Record, session_scope, store
from sohoa.records.inventory import import_inventory, link_records
from sohoa.report import (
    Bar,
    Count,
    DayPoint,
    MissingDossier,
    ReportData,
    Verification,
    collect_report_data,
    render_report,
)
from sohoa.report.reasons import reason_label
from tests.test_inventory import HEADER, KNOWN, NOW, _add_records, _archived_on, _csv

CHROMIUM = Path("/usr/bin/chromium")


class Numbers(HTMLParser):
    """Text of elements with an id, and the attributes of every element with data-*."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.data: list[dict[str, str]] = []
        self.tags: list[str] = []
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if any(k.startswith("data-") for k in attributes):
            self.data.append({"tag": tag, **attributes})
        element_id = attributes.get("id")
        if element_id:
            self.by_id[element_id] = ""
        if tag not in ("meta", "circle", "line", "rect", "polyline", "br"):
            self._open.append(element_id)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag not in ("meta", "circle", "line", "rect", "polyline", "br"):
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.by_id[element_id] += data


def parse(html: str) -> Numbers:
    parser = Numbers()
    parser.feed(html)
    return parser


def sample_data() -> ReportData:
    return ReportData(
        generated_at=NOW,
        basis="inventory",
        items=12,
        digitized=10,
        pages_expected=40,
        pages_digitized=31,
        burnup=(DayPoint(dt.date(2026, 3, 1), 4), DayPoint(dt.date(2026, 3, 3), 10)),
        by_procedure=(
            Bar("khai_sinh", "Đăng ký khai sinh", 9, 8),
            Bar("ket_hon", "Đăng ký kết hôn <trong nước>", 3, 2),
        ),
        by_unit=(Bar("UBND xã An Phú", "UBND xã An Phú", 12, 10),),
        failures=(
            Count("timeout", reason_label("timeout"), 2),
            Count("corrupt_image", reason_label("corrupt_image"), 1),
        ),
        reviews=(Count("khac", "Khác", 4),),
        verification=Verification(ok=7, failed=1, never=2),
        per_day=1.4285,
        projected_completion=dt.date(2026, 3, 12),
        by_year=(Bar("2019", "2019", 8, 8), Bar("", "(không rõ năm)", 4, 2)),
        missing=(MissingDossier("HS-7", "Khai sinh <Lê Văn B>", "UBND xã An Phú", 2019, "Kho A"),),
        missing_total=1,
        timezone="Asia/Ho_Chi_Minh",
    )


def check_numbers(found: Numbers) -> None:
    ids = {k: v.strip() for k, v in found.by_id.items()}
    assert ids["headline-percent"] == "83.3"
    assert (ids["headline-digitized"], ids["headline-items"], ids["headline-remaining"]) == (
        "10",
        "12",
        "2",
    )
    assert (ids["pages-digitized"], ids["pages-expected"], ids["per-day"]) == ("31", "40", "1.4")
    assert (ids["failed-total"], ids["review-total"]) == ("3", "4")
    assert (ids["verify-ok"], ids["verify-failed"], ids["verify-never"]) == ("7", "1", "2")
    bars = {(d["data-dimension"], d["data-key"]): d for d in found.data if "data-dimension" in d}
    assert bars["procedure", "khai_sinh"]["data-percent"] == "88.9"
    assert bars["procedure", "ket_hon"]["data-digitized"] == "2"
    assert bars["unit", "UBND xã An Phú"]["data-items"] == "12"
    points = [(d["data-day"], d["data-cumulative"]) for d in found.data if "data-day" in d]
    assert points == [("2026-03-01", "4"), ("2026-03-03", "10")]
    assert [d["data-count"] for d in found.data if "data-reason" in d] == ["2", "1"]


def test_the_report_shows_its_numbers_in_stable_elements() -> None:
    page = render_report(sample_data())
    check_numbers(parse(page))
    assert '<meta charset="utf-8">' in page and "Đăng ký khai sinh" in page
    assert 'datetime="2026-03-12"' in page and 'id="burnup-target"' in page


def test_the_report_is_self_contained_and_escapes_text() -> None:
    page = render_report(sample_data())
    found = parse(page)
    assert not {"script", "link", "img", "iframe", "object"} & set(found.tags)
    assert not re.search(r"(https?:)?//|@import|url\(", page)  # nothing to fetch
    assert "&lt;trong nước&gt;" in page and "<trong" not in page


def test_an_empty_archive_renders() -> None:
    empty = ReportData(
        NOW, "records", 0, 0, 0, 0, (), (), (), (), (), Verification(0, 0, 0), None, None
    )
    ids = parse(render_report(empty)).by_id
    assert ids["headline-percent"] == "0.0" and "burnup-empty" in ids
    assert "projected-completion" in ids and "bars-procedure-empty" in ids


def test_report_data_from_the_database(factory, tmp_path: Path) -> None:
    text = HEADER + "A1,,Xã A,khai_sinh,2019,,2\nA2,,Xã A,khai_sinh,2019,,4\nB1,,Xã B,,2020,,3\n"
    with session_scope(factory) as session:
        import_inventory(session, _csv(tmp_path, text), KNOWN)
        _add_records(
            session, "box-1", {"A1": "archived", "A2": "needs_review", "X": "failed", "Y": None}
        )
        _archived_on(session, "A1", dt.datetime(2026, 3, 8, 23, 30, tzinfo=dt.UTC))
        _archived_on(session, "A2", dt.datetime(2026, 3, 9, 0, 30, tzinfo=dt.UTC))
        link_records(session)
        ids = dict(session.execute(select(Record.rel_path, Record.id)).all())
        for outcome in ("failed", "ok"):  # the latest verdict counts
            row = EventRow("verify", outcome)
            store.add_event(session, row, batch_id=None, record_id=ids["A1"])
        store.add_event(session, EventRow("verify", "failed"), batch_id=None, record_id=ids["X"])
    with session_scope(factory) as session:
        data = collect_report_data(session, {"khai_sinh": "Đăng ký khai sinh"}, now=NOW)
        assert session.scalar(select(Event.id).where(Event.kind == "verify").limit(1))
    assert (data.basis, data.items, data.digitized, round(data.percent, 1)) == (
        "inventory",
        3,
        2,
        66.7,
    )
    assert (data.pages_expected, data.pages_digitized) == (9, 4)
    assert data.burnup == (DayPoint(dt.date(2026, 3, 8), 1), DayPoint(dt.date(2026, 3, 9), 2))
    assert [(b.key, b.label, b.items, b.digitized) for b in data.by_procedure] == [
        ("khai_sinh", "Đăng ký khai sinh", 2, 2),
        ("", "(chưa phân loại)", 1, 0),
    ]
    assert [(b.key, b.digitized) for b in data.by_unit] == [("Xã A", 2), ("Xã B", 0)]
    assert [(c.key, c.label, c.count) for c in data.failures] == [
        ("timeout", "Nhận dạng chữ (OCR) quá thời gian", 1)
    ]
    assert [(b.key, b.items, b.digitized) for b in data.by_year] == [("2019", 2, 2), ("2020", 1, 0)]
    assert (data.missing_total, [(m.code, m.unit, m.year) for m in data.missing]) == (
        1,
        [("B1", "Xã B", 2020)],
    )
    assert data.timezone == "UTC"
    assert [(c.key, c.label, c.count) for c in data.reviews] == [
        ("khai_sinh", "Đăng ký khai sinh", 1)
    ]
    assert data.verification == Verification(ok=1, failed=0, never=1)  # X is not archived
    assert data.per_day == pytest.approx(2 / 7) and data.projected_completion is not None
    with session_scope(factory) as session:
        local = collect_report_data(session, now=NOW, zone=ZoneInfo("Asia/Ho_Chi_Minh"))
    # 23:30 and 00:30 UTC are 06:30 and 07:30 on the same day in Việt Nam (UTC+7).
    assert local.burnup == (DayPoint(dt.date(2026, 3, 9), 2),)
    assert local.timezone == "Asia/Ho_Chi_Minh"


def test_without_a_register_the_report_counts_records(factory) -> None:
    with session_scope(factory) as session:
        _add_records(session, "box-1", {"A1": "archived", "A2": "failed", "A3": None})
        data = collect_report_data(session, now=NOW)
    assert (data.basis, data.items, data.digitized, data.per_day) == ("records", 3, 1, None)
    assert [p.cumulative for p in data.burnup] == [1]
    assert ("khai_sinh", 1) in [(b.key, b.digitized) for b in data.by_procedure]


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"
)
def test_chromium_renders_the_numbers(tmp_path: Path) -> None:
    page = tmp_path / "bao-cao.html"
    page.write_text(render_report(sample_data()), encoding="utf-8")
    profile = tmp_path / "profile"
    command = [
        shutil.which("chromium") or str(CHROMIUM),
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = parse(done.stdout)
    check_numbers(dom)  # the browser read the file as UTF-8 and kept every element
    assert "Đăng ký khai sinh" in done.stdout


def test_the_burnup_projects_toward_100_percent() -> None:
    found = parse(render_report(sample_data()))
    [line] = [d for d in found.data if d.get("id") == "burnup-projection"]
    # From today (10/3, after the last day of work) at the level reached, to 100% on 12/3.
    assert (line["data-from"], line["data-from-value"]) == ("2026-03-10", "10")
    assert (line["data-until"], line["data-value"]) == ("2026-03-12", "12")
    assert "dự báo đến 100%" in found.by_id["burnup-legend"]
    unknown = replace(sample_data(), projected_completion=None, per_day=None)
    found = parse(render_report(unknown))
    assert "burnup-projection" not in found.by_id
    assert "Chưa đủ dữ liệu để dự báo" in found.by_id["burnup-legend"]


def test_failure_reasons_are_vietnamese_with_the_code_small() -> None:
    page = render_report(sample_data())
    assert '<td>Nhận dạng chữ (OCR) quá thời gian <small class="code">timeout</small></td>' in page
    assert '<td>Ảnh quét bị hỏng <small class="code">corrupt_image</small></td>' in page
    assert reason_label("a_code_from_the_future") == "Lỗi khác"


def test_times_are_shown_in_the_configured_zone(tmp_path: Path) -> None:
    found = parse(render_report(sample_data()))
    assert found.by_id["generated-at"] == "10/03/2026 19:00 (giờ Việt Nam, UTC+07:00)"
    [stamp] = [d for d in found.data if d.get("id") == "generated-at"]
    assert stamp["datetime"] == "2026-03-10T19:00:00+07:00"
    assert display_zone(load_settings(environ={})).key == "Asia/Ho_Chi_Minh"  # the default
    config = tmp_path / "config.yaml"
    config.write_text("timezone: Europe/Paris\n", encoding="utf-8")
    assert display_zone(load_settings(config, environ={})).key == "Europe/Paris"
    config.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(SohoaError, match="timezone 'Mars/Olympus' is not a known time zone"):
        display_zone(load_settings(config, environ={}))


def test_unverified_copies_are_a_warning() -> None:
    found = parse(render_report(sample_data()))  # 2 archived copies never verified
    [row] = [d for d in found.data if "data-state" in d]
    assert (row["data-state"], row["class"]) == ("warning", "warn")
    assert found.by_id["verify-warning"].startswith("2 hồ sơ đã được tính là đã số hóa")
    verified = replace(sample_data(), verification=Verification(ok=9, failed=1, never=0))
    found = parse(render_report(verified))
    assert [d["data-state"] for d in found.data if "data-state" in d] == ["ok"]
    assert "verify-warning" not in found.by_id


def test_missing_dossiers_and_years_are_listed() -> None:
    page = render_report(sample_data())
    found = parse(page)
    assert found.by_id["missing-total"] == "1"
    assert [d["data-code"] for d in found.data if d.get("class") == "missing"] == ["HS-7"]
    assert "Khai sinh &lt;Lê Văn B&gt;" in page and "Kho A" in page
    years = [
        (d["data-key"], d["data-percent"]) for d in found.data if d.get("data-dimension") == "year"
    ]
    assert years == [("2019", "100.0"), ("", "50.0")]
    done = parse(render_report(replace(sample_data(), missing=(), missing_total=0)))
    assert "đều đã được quét" in done.by_id["missing-none"]
