"""Render `ReportData` as one self-contained HTML file.

Everything is inline (CSS, SVG charts); there is no script and nothing is fetched, so the
file opens the same offline, from an e-mail, or years later from the archive. Every number
a reader or a test needs sits in an element with a stable id or data attribute, written
plainly (83.3, 1204, 2026-12-01) whatever the display around it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape
from zoneinfo import ZoneInfo

from sohoa.report.data import Bar, Count, MissingDossier, ReportData

CSS = """
body { font-family: "DejaVu Sans", "Noto Sans", "Liberation Sans", Arial, sans-serif;
       margin: 2rem auto; max-width: 60rem; color: #1d2733; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d5dbe2; }
.muted { color: #5d6b7a; font-size: .9rem; }
.headline { display: flex; gap: 2rem; flex-wrap: wrap; align-items: baseline; }
.big { font-size: 3rem; font-weight: bold; color: #1f7a4d; }
.figure { font-size: 1.1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eef1f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font-size: 11px; fill: #4a5866; }
#burnup { max-width: 100%; height: auto; }
.bad { color: #a62b2b; } .good { color: #1f7a4d; }
.warn { color: #7a4f00; background: #fff3cd; }
p.warn { padding: .4rem .6rem; border-left: 4px solid #d99a00; }
.nowrap { white-space: nowrap; }
small.code { color: #5d6b7a; font-family: "DejaVu Sans Mono", monospace; font-size: .75rem; }
"""
CHART_W, CHART_H = 720, 260
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 48, 16, 16, 28
BAR_W, BAR_H = 220, 14
GREEN, GREY, TARGET, AHEAD = "#1f7a4d", "#e3e8ee", "#a62b2b", "#5d6b7a"


def render_report(data: ReportData) -> str:
    """The whole report as an HTML document (UTF-8; write it with encoding="utf-8")."""
    sections = [
        _headline(data),
        _section("Tiến độ theo thời gian", _burnup(data)),
        _section("Theo thủ tục", _bars("procedure", data.by_procedure)),
        _section("Theo đơn vị", _bars("unit", data.by_unit)),
        _section("Theo năm", _bars("year", data.by_year)),
        _section("Hồ sơ tồn đọng", _backlog(data.failures, data.reviews)),
        _section("Hồ sơ chưa quét", _missing(data)),
        _section("Kiểm tra chữ ký và PDF/A", _verification(data)),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="vi">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(data.title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            *sections,
            "</body>",
            "</html>",
            "",
        ]
    )


def _section(title: str, body: str) -> str:
    return f"<section>\n<h2>{escape(title)}</h2>\n{body}\n</section>"


def _fmt_pct(value: float) -> str:
    return f"{value:.1f}"


def _vn_date(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def _time(element_id: str, day: dt.date | None, missing: str) -> str:
    if day is None:
        return f'<span id="{element_id}" data-value="">{escape(missing)}</span>'
    return f'<time id="{element_id}" datetime="{day.isoformat()}">{_vn_date(day)}</time>'


def _zone_name(moment: dt.datetime, zone: str) -> str:
    """ "giờ Việt Nam, UTC+07:00" for the default zone, else the zone's name and offset."""
    offset = moment.strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    place = "giờ Việt Nam" if zone in ("Asia/Ho_Chi_Minh", "Asia/Saigon") else escape(zone)
    return f"{place}, {utc}" if zone != "UTC" else "UTC"


def _headline(data: ReportData) -> str:
    basis = (
        "so với mục lục hồ sơ"
        if data.basis == "inventory"
        else "so với số hồ sơ đã quét (chưa nhập mục lục hồ sơ)"
    )
    per_day = (
        f'<span id="per-day">{data.per_day:.1f}</span> hồ sơ/ngày (7 ngày qua)'
        if data.per_day is not None
        else '<span id="per-day" data-value="">—</span>'
    )
    local = data.generated_at.astimezone(ZoneInfo(data.timezone))
    return f"""<header>
<h1>{escape(data.title)}</h1>
<p class="muted">Lập lúc <time id="generated-at" datetime="{local.isoformat()}" \
data-timezone="{escape(data.timezone)}">{local:%d/%m/%Y %H:%M} ({_zone_name(local, data.timezone)})\
</time> · <span id="basis" data-value="{data.basis}">{escape(basis)}</span></p>
<div class="headline">
<div><span class="big"><span id="headline-percent">{_fmt_pct(data.percent)}</span>%</span>
<div class="muted">đã số hóa</div></div>
<div class="figure"><span id="headline-digitized">{data.digitized}</span> /
<span id="headline-items">{data.items}</span> hồ sơ<br>
còn lại <span id="headline-remaining">{data.remaining}</span> hồ sơ</div>
<div class="figure"><span id="pages-digitized">{data.pages_digitized}</span> /
<span id="pages-expected">{data.pages_expected}</span> trang<br>{per_day}</div>
<div class="figure">Dự kiến hoàn thành:<br>\
{_time("projected-completion", data.projected_completion, "chưa đủ dữ liệu")}</div>
</div>
</header>"""


def _burnup(data: ReportData) -> str:
    """Cumulative digitized items per day, rising toward the 100% line."""
    points = data.burnup
    if not points:
        return '<p class="muted" id="burnup-empty">Chưa có hồ sơ nào được số hóa.</p>'
    first = points[0].day - dt.timedelta(days=1)  # the curve starts from zero the day before
    ahead = _projection(data)
    last = ahead[1][0] if ahead else points[-1].day
    span = max((last - first).days, 1)
    top = max(data.items, points[-1].cumulative, 1)
    inner_w = CHART_W - MARGIN_L - MARGIN_R
    inner_h = CHART_H - MARGIN_T - MARGIN_B

    def x(day: dt.date) -> float:
        return MARGIN_L + inner_w * (day - first).days / span

    def y(value: int) -> float:
        return MARGIN_T + inner_h * (1 - value / top)

    curve = [(x(first), y(0)), *((x(p.day), y(p.cumulative)) for p in points)]
    polyline = " ".join(f"{px:.1f},{py:.1f}" for px, py in curve)
    circles = "\n".join(
        f'<circle class="point" cx="{x(p.day):.1f}" cy="{y(p.cumulative):.1f}" r="2.5" '
        f'fill="{GREEN}" data-day="{p.day.isoformat()}" data-cumulative="{p.cumulative}">'
        f"<title>{_vn_date(p.day)}: {p.cumulative}</title></circle>"
        for p in points
    )
    target_y = y(data.items)
    bottom = CHART_H - MARGIN_B
    projection = ""
    if ahead:
        (start, level), (end, total) = ahead
        projection = (
            f'<line id="burnup-projection" x1="{x(start):.1f}" y1="{y(level):.1f}" '
            f'x2="{x(end):.1f}" y2="{y(total):.1f}" stroke="{AHEAD}" stroke-width="1.5" '
            f'stroke-dasharray="3 3" data-from="{start.isoformat()}" data-from-value="{level}" '
            f'data-until="{end.isoformat()}" data-value="{total}">'
            f"<title>Dự báo theo tốc độ 7 ngày qua: đủ 100% vào {_vn_date(end)}</title></line>"
        )
    return f"""<svg id="burnup" role="img" width="{CHART_W}" height="{CHART_H}" \
viewBox="0 0 {CHART_W} {CHART_H}" data-total="{data.items}" \
data-last="{points[-1].cumulative}" aria-label="Số hồ sơ đã số hóa cộng dồn theo ngày">
<line x1="{MARGIN_L}" y1="{bottom}" x2="{CHART_W - MARGIN_R}" y2="{bottom}" stroke="#9aa7b4"/>
<line x1="{MARGIN_L}" y1="{MARGIN_T}" x2="{MARGIN_L}" y2="{bottom}" stroke="#9aa7b4"/>
<line id="burnup-target" x1="{MARGIN_L}" y1="{target_y:.1f}" x2="{CHART_W - MARGIN_R}" \
y2="{target_y:.1f}" stroke="{TARGET}" stroke-dasharray="6 4" data-value="{data.items}"/>
<text x="{CHART_W - MARGIN_R}" y="{target_y - 4:.1f}" text-anchor="end">100% ({data.items})</text>
<text x="{MARGIN_L - 6}" y="{bottom}" text-anchor="end">0</text>
<text x="{MARGIN_L}" y="{CHART_H - 8}">{_vn_date(first)}</text>
<text x="{CHART_W - MARGIN_R}" y="{CHART_H - 8}" text-anchor="end">{_vn_date(last)}</text>
<polyline points="{polyline}" fill="none" stroke="{GREEN}" stroke-width="2"/>
{projection}
{circles}
</svg>
<p class="muted" id="burnup-legend">Đường liền: số hồ sơ đã số hóa cộng dồn theo ngày \
({_zone_name(data.generated_at.astimezone(ZoneInfo(data.timezone)), data.timezone)}). \
{_projection_legend(data, ahead)}</p>"""


def _projection(data: ReportData) -> tuple[tuple[dt.date, int], tuple[dt.date, int]] | None:
    """The dashed line toward 100%: from today (or the last day of work, if later) at the
    level reached, to the projected completion at the register's total."""
    if data.projected_completion is None or data.remaining <= 0 or not data.burnup:
        return None
    today = data.generated_at.astimezone(ZoneInfo(data.timezone)).date()
    start = max(today, data.burnup[-1].day)
    end = max(data.projected_completion, start)
    return (start, data.burnup[-1].cumulative), (end, data.items)


def _projection_legend(data: ReportData, ahead: object) -> str:
    if ahead:
        return "Đường chấm: dự báo đến 100% theo tốc độ 7 ngày qua."
    if data.remaining <= 0:
        return "Đã đủ 100%."
    return "Chưa đủ dữ liệu để dự báo ngày đạt 100%."


def _bar_svg(bar: Bar) -> str:
    filled = BAR_W * min(bar.percent, 100.0) / 100
    return (
        f'<svg width="{BAR_W}" height="{BAR_H}" viewBox="0 0 {BAR_W} {BAR_H}" aria-hidden="true">'
        f'<rect width="{BAR_W}" height="{BAR_H}" fill="{GREY}"/>'
        f'<rect width="{filled:.1f}" height="{BAR_H}" fill="{GREEN}"/></svg>'
    )


def _bars(dimension: str, bars: Sequence[Bar]) -> str:
    if not bars:
        return f'<p class="muted" id="bars-{dimension}-empty">Không có dữ liệu.</p>'
    rows = "\n".join(
        f'<tr class="bar" data-dimension="{dimension}" data-key="{escape(bar.key)}" '
        f'data-items="{bar.items}" data-digitized="{bar.digitized}" '
        f'data-percent="{_fmt_pct(bar.percent)}">'
        f"<td>{escape(bar.label)}</td><td>{_bar_svg(bar)}</td>"
        f'<td class="num">{bar.digitized}/{bar.items}</td>'
        f'<td class="num">{_fmt_pct(bar.percent)}%</td></tr>'
        for bar in bars
    )
    return (
        f'<table id="bars-{dimension}">\n<tr><th></th><th></th><th class="num">hồ sơ</th>'
        f'<th class="num">%</th></tr>\n{rows}\n</table>'
    )


def _count_rows(kind: str, counts: Iterable[Count], *, show_key: bool = False) -> str:
    return "\n".join(
        f'<tr data-{kind}="{escape(c.key)}" data-count="{c.count}">'
        f"<td>{escape(c.label)}"
        + (f' <small class="code">{escape(c.key)}</small>' if show_key else "")
        + f'</td><td class="num">{c.count}</td></tr>'
        for c in counts
    )


def _backlog(failures: Sequence[Count], reviews: Sequence[Count]) -> str:
    failed_total = sum(c.count for c in failures)
    review_total = sum(c.count for c in reviews)
    return f"""<p>Lỗi: <strong id="failed-total" class="bad">{failed_total}</strong> hồ sơ ·
Cần xem lại: <strong id="review-total">{review_total}</strong> hồ sơ</p>
<table id="failures"><tr><th>Lỗi (lý do)</th><th class="num">hồ sơ</th></tr>
{_count_rows("reason", failures, show_key=True)}
</table>
<table id="reviews"><tr><th>Cần xem lại (thủ tục)</th><th class="num">hồ sơ</th></tr>
{_count_rows("procedure", reviews)}
</table>"""


def _verification(data: ReportData) -> str:
    v = data.verification
    # Unverified copies count toward the coverage above: the auditor must see they are
    # not confirmed yet, so they are a warning, never a neutral line.
    state = "warning" if v.never else "ok"
    warning = (
        f'<p class="warn" id="verify-warning">{v.never} hồ sơ đã được tính là đã số hóa '
        "nhưng bản lưu trữ chưa được kiểm tra lại (mã băm, chữ ký, PDF/A): chạy "
        "<code>sohoa verify</code>.</p>"
        if v.never
        else ""
    )
    return f"""<table id="verification">
<tr><td class="good">Hợp lệ</td><td class="num" id="verify-ok">{v.ok}</td></tr>
<tr><td class="bad">Không hợp lệ</td><td class="num" id="verify-failed">{v.failed}</td></tr>
<tr class="{"warn" if v.never else ""}" data-state="{state}"><td>Chưa kiểm tra</td>\
<td class="num" id="verify-never">{v.never}</td></tr>
</table>
{warning}
<p class="muted">Theo lần chạy <code>sohoa verify</code> gần nhất của mỗi hồ sơ đã lưu trữ.</p>
{_test_signed(data)}"""


def _missing_row(item: MissingDossier) -> str:
    year = "" if item.year is None else str(item.year)
    return (
        f'<tr class="missing" data-code="{escape(item.code)}">'
        f'<td class="nowrap">{escape(item.code)}</td>'
        f"<td>{escape(item.title)}</td><td>{escape(item.unit)}</td>"
        f'<td class="num">{year}</td><td>{escape(item.location)}</td></tr>'
    )


def _missing(data: ReportData) -> str:
    if data.basis != "inventory":
        return '<p class="muted" id="missing-none">Chưa nhập mục lục hồ sơ.</p>'
    if not data.missing_total:
        return '<p class="good" id="missing-none">Mọi hồ sơ trong mục lục đều đã được quét.</p>'
    shown = len(data.missing)
    more = (
        f' <span class="muted">(liệt kê {shown} hồ sơ đầu theo mã; danh sách đầy đủ: '
        "<code>sohoa link</code>)</span>"
        if shown < data.missing_total
        else ""
    )
    rows = "\n".join(_missing_row(item) for item in data.missing)
    return f"""<p>Có trong mục lục nhưng chưa quét: \
<strong id="missing-total" class="bad">{data.missing_total}</strong> hồ sơ{more}</p>
<table id="missing"><tr><th>Mã hồ sơ</th><th>Tiêu đề</th><th>Đơn vị</th>\
<th class="num">Năm</th><th>Nơi lưu giữ</th></tr>
{rows}
</table>"""


def _test_signed(data: ReportData) -> str:
    """Files signed with the TEST key: named, so that nobody takes them for real copies."""
    if not data.test_signed_total:
        return '<p id="test-signed" data-count="0">Không có tệp nào ký bằng chứng thư TEST.</p>'
    rows = "\n".join(
        f"<tr><td><code>{escape(uid)}</code></td><td>{escape(path)}</td></tr>"
        for uid, path in data.test_signed
    )
    more = data.test_signed_total - len(data.test_signed)
    tail = f"<p>… và {more} tệp khác.</p>" if more > 0 else ""
    return f"""<p id="test-signed" data-count="{data.test_signed_total}" class="bad">
<strong>{data.test_signed_total}</strong> tệp ký bằng chứng thư TEST (không có giá trị pháp lý):
</p>
<table id="test-signed-files"><tr><th>Hồ sơ</th><th>Tệp</th></tr>
{rows}
</table>{tail}"""
