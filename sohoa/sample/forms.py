"""The pages of a synthetic dossier as blocks: national and agency headers, title, fields,
signatures, and the other kinds of page (ID card, receipt, continuation, out-of-catalogue)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from sohoa.sample.doc import Block, Cell, Frame, Row, Signature, TableRow
from sohoa.sample.fields import Field, choose_fields
from sohoa.sample.people import (
    PLACES,
    RELATIONS,
    STREETS,
    Context,
    address,
    dmy,
    long_date,
    make_person,
    person_name,
    phone,
    pick,
    random_date,
    upper_first,
)

# Documents that no catalogue procedure covers; their truth procedure is "khac".
OTHER_TITLES = (
    "ĐƠN XIN NGHỈ PHÉP",
    "GIẤY MỜI HỌP",
    "ĐƠN KHIẾU NẠI",
    "BIÊN BẢN HỌP TỔ DÂN PHỐ",
    "ĐƠN ĐỀ NGHỊ SỬA CHỮA ĐƯỜNG HẺM",
)

CERTIFY = (
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
    "pháp luật về cam đoan của mình."
)


# --- page blocks ---------------------------------------------------------------------------

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


def date_line(ctx: Context) -> str:
    return f"{upper_first(ctx.place.ward_full)}, {long_date(ctx.when)}"


def seal_text(ctx: Context) -> str:
    """What runs around the ring of the ward's round seal."""
    return f"ỦY BAN NHÂN DÂN {ctx.place.ward_full} {ctx.place.district_full}".upper()


def centred_header(ctx: Context, number: str | None) -> list[Block]:
    blocks: list[Block] = [
        Row((Cell(NATION, align="center", bold=True),)),
        Row((Cell(MOTTO, align="center", bold=True, underline=True),)),
    ]
    if number:
        blocks.append(Row((Cell(number, x1=0.45),), space_before=0.4))
    blocks.append(Row((Cell(date_line(ctx), x0=0.35, align="right", italic=True),), 0.5))
    return blocks


def agency_header(ctx: Context, number: str | None, *, second: str | None = None) -> list[Block]:
    """The two-column heading of an issued document: agency left, national motto right."""
    upper = f"UBND {ctx.place.district_full}".upper()
    lower = (second or ctx.place.ward_full).upper()
    left, right = (0.0, 0.42), (0.36, 1.0)
    return [
        Row((Cell(upper, *left, align="center", scale=0.9), Cell(NATION, *right, "center", True))),
        Row(
            (
                Cell(lower, *left, align="center", bold=True, underline=True, scale=0.9),
                Cell(MOTTO, *right, align="center", bold=True, underline=True),
            )
        ),
        Row(
            (
                Cell(number or "", *left, align="center", scale=0.95),
                Cell(date_line(ctx), *right, align="center", italic=True),
            ),
            space_before=0.5,
        ),
    ]


def title_rows(title: str) -> list[Block]:
    return [Row((Cell(title, align="center", bold=True, scale=1.2),), space_before=1.2)]


def field_rows(
    fields: Sequence[Field], layout: str, *, leader: bool, first_space: float = 0.6
) -> list[Block]:
    """Fields as label: value lines, paired into two columns, or in a ruled two-column table."""
    blocks: list[Block] = []
    pending: list[Field] = []

    def short(field: Field) -> bool:
        return field[1] is not None and len(field[0]) + len(field[1]) <= 30

    def space() -> float:
        return first_space if not blocks else 0.15

    for label, value in fields:
        if value is None:
            blocks.append(Row((Cell(label),), space_before=space() + 0.2, hanging=0.0))
            continue
        if layout == "table":
            edges = (0.0, 0.42, 1.0)
            blocks.append(
                TableRow((label, value), edges, space_before=space() if not blocks else 0)
            )
        elif layout == "two_column" and short((label, value)):
            pending.append((label, value))
            if len(pending) == 2:
                (l1, v1), (l2, v2) = pending
                cells = (Cell(f"{l1}: {v1}", 0.0, 0.5), Cell(f"{l2}: {v2}", 0.52, 1.0))
                blocks.append(Row(cells, space_before=space()))
                pending.clear()
        else:
            text = f"{label}: {value}"
            blocks.append(Row((Cell(text),), space_before=space(), leader=leader, hanging=0.04))
    for label, value in pending:
        blocks.append(Row((Cell(f"{label}: {value}"),), space_before=space(), leader=leader))
    return blocks


def signature_rows(
    role: str,
    name: str,
    *,
    stamp: bool,
    left: tuple[str, str] | None = None,
    note: bool = True,
    seal: str = "ỦY BAN NHÂN DÂN",
) -> list[Block]:
    """Signature block on the right half; `left` adds a second signer (role, name)."""
    span = (0.5, 1.0)
    role_cells = [Cell(role, *span, align="center", bold=True)]
    name_cells = [Cell(name, *span, align="center", bold=True)]
    if left:
        role_cells.insert(0, Cell(left[0], 0.0, 0.46, align="center", bold=True))
        name_cells.insert(0, Cell(left[1], 0.0, 0.46, align="center", bold=True))
    blocks: list[Block] = [Row(tuple(role_cells), space_before=1.0)]
    if note:
        blocks.append(Row((Cell("(Ký, ghi rõ họ tên)", *span, align="center", italic=True),)))
    if left:
        blocks.append(Signature(0.08, 0.38, lines=2.6, stamp=False, advance=False))
    blocks.append(Signature(0.58, 0.92, lines=2.6, stamp=stamp, seal=seal))
    blocks.append(Row(tuple(name_cells), space_before=0.2))
    return blocks


def form_page(
    rng: np.random.Generator, ctx: Context, title: str, keywords: Sequence[str], layout: str
) -> list[Block]:
    """Page 1: the procedure's application form, filled in and signed."""
    number = f"Số: {rng.integers(1, 400)}/{ctx.when.year}/TLHS" if rng.random() < 0.3 else None
    if layout == "two_column":
        blocks = agency_header(ctx, number or f"Số: {rng.integers(1, 400)}/TN-UBND")
    else:
        blocks = centred_header(ctx, number)
    blocks += title_rows(title)
    recipient = f"Kính gửi: Ủy ban nhân dân {ctx.place.ward_full}, {ctx.place.district_full}"
    blocks.append(Row((Cell(recipient, x0=0.1),), space_before=0.8))
    fields = choose_fields(rng, ctx, keywords)
    blocks += field_rows(fields, layout, leader=bool(rng.random() < 0.4))
    blocks.append(Row((Cell(CERTIFY),), space_before=0.6, hanging=0.0))
    blocks += signature_rows(
        "NGƯỜI YÊU CẦU", ctx.applicant.name, stamp=bool(rng.random() < 0.3), seal=seal_text(ctx)
    )
    return blocks


def id_card_page(rng: np.random.Generator, ctx: Context) -> list[Block]:
    """A certified photocopy of the applicant's citizen ID card, front and back."""
    who = ctx.applicant
    inner = (0.3, 0.88)
    expiry = date(min(who.born.year + 60, 2099), who.born.month, min(who.born.day, 28))
    issued = random_date(rng, date(2016, 1, 1), max(ctx.when, date(2016, 1, 2)))
    blocks: list[Block] = [
        Frame(True, 0.08, 0.92, photo=True),
        Row((Cell(NATION, 0.08, 0.92, "center", bold=True, scale=0.85),)),
        Row((Cell(MOTTO, 0.08, 0.92, "center", bold=True, scale=0.85),)),
        Row((Cell("CĂN CƯỚC CÔNG DÂN", 0.08, 0.92, "center", bold=True, scale=1.15),), 0.3),
        Row((Cell(f"Số: {who.id_no}", *inner, bold=True),), 0.3),
        Row((Cell(f"Họ và tên: {who.name.upper()}", *inner),)),
        Row((Cell(f"Ngày sinh: {dmy(who.born)}", *inner),)),
        Row(
            (
                Cell(f"Giới tính: {'Nam' if who.male else 'Nữ'}", inner[0], 0.55),
                Cell("Quốc tịch: Việt Nam", 0.56, inner[1]),
            )
        ),
        Row((Cell(f"Quê quán: {upper_first(address(rng, pick(rng, PLACES)))}", *inner),)),
        Row((Cell(f"Nơi thường trú: {who.address}", *inner),)),
        Row((Cell(f"Có giá trị đến: {dmy(expiry)}", *inner, italic=True),), 0.2),
        Frame(False),
        Frame(True, 0.08, 0.92),
        Row((Cell("Đặc điểm nhân dạng: Nốt ruồi cách 2 cm trên đuôi mắt trái", 0.1, 0.9),)),
        Row((Cell(long_date(issued).capitalize(), 0.45, 0.9, "center", italic=True),), 0.3),
        Row((Cell("CỤC TRƯỞNG CỤC CẢNH SÁT", 0.4, 0.92, "center", bold=True, scale=0.8),)),
        Row((Cell("QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", 0.4, 0.92, "center", True, scale=0.8),)),
        Signature(0.55, 0.85, lines=1.6),
        Frame(False),
    ]
    book = f"Số chứng thực: {rng.integers(1, 3000)}, quyển số {rng.integers(1, 9):02d}/SCT/BS"
    blocks += [
        Row((Cell("CHỨNG THỰC BẢN SAO ĐÚNG VỚI BẢN CHÍNH", align="center", bold=True),), 1.2),
        Row((Cell(book, align="center"),)),
        Row((Cell(date_line(ctx), align="center", italic=True),)),
    ]
    official = person_name(rng, bool(rng.random() < 0.5))
    blocks += signature_rows(
        "CÔNG CHỨC TƯ PHÁP - HỘ TỊCH", official, stamp=True, note=False, seal=seal_text(ctx)
    )
    return blocks


def receipt_page(rng: np.random.Generator, ctx: Context, form_title_text: str) -> list[Block]:
    """The one-stop desk's receipt for the dossier."""
    blocks = agency_header(ctx, f"Số: {rng.integers(1, 900)}/BN-TN")
    blocks += title_rows("BIÊN NHẬN HỒ SƠ")
    fields: list[Field] = [
        ("Mã hồ sơ", ctx.code),
        ("Tên thủ tục", ctx.proc_name),
        ("Người nộp hồ sơ", ctx.applicant.name),
        ("Số điện thoại", phone(rng)),
        ("Địa chỉ", ctx.applicant.address),
    ]
    blocks += field_rows(fields, "plain", leader=False)
    edges = (0.0, 0.1, 0.78, 1.0)
    blocks.append(
        TableRow(("STT", "Tên giấy tờ", "Số lượng"), edges, header=True, space_before=0.6)
    )
    papers = [
        f"{upper_first(form_title_text.lower())} (bản chính)",
        "Căn cước công dân (bản sao)",
        "Giấy tờ chứng minh nơi cư trú (bản sao)",
        "Giấy ủy quyền (bản chính)",
    ]
    for index, paper in enumerate(papers[: int(rng.integers(2, 5))], start=1):
        blocks.append(TableRow((str(index), paper, str(rng.integers(1, 3))), edges))
    due = ctx.when + timedelta(days=int(rng.integers(1, 15)))
    more: list[Field] = [("Ngày nhận hồ sơ", dmy(ctx.when)), ("Ngày hẹn trả kết quả", dmy(due))]
    blocks += field_rows(more, "two_column", leader=False)
    clerk = person_name(rng, bool(rng.random() < 0.5))
    blocks += signature_rows(
        "NGƯỜI TIẾP NHẬN", clerk, stamp=False, left=("NGƯỜI NỘP HỒ SƠ", ctx.applicant.name)
    )
    return blocks


def continuation_page(rng: np.random.Generator, ctx: Context, layout: str) -> list[Block]:
    """A second sheet of the form: family members in a table, then more fields."""
    blocks: list[Block] = [
        Row((Cell(f"Mã hồ sơ: {ctx.code}", x0=0.55, align="right", italic=True, scale=0.9),)),
        *title_rows("THÔNG TIN BỔ SUNG"),
        Row((Cell("I. Thành viên gia đình có liên quan", bold=True),), space_before=0.8),
    ]
    edges = (0.0, 0.08, 0.52, 0.74, 1.0)
    blocks.append(TableRow(("STT", "Họ, chữ đệm, tên", "Ngày sinh", "Quan hệ"), edges, True, 0.4))
    for index in range(1, int(rng.integers(2, 6))):
        member = make_person(rng, ctx.place)
        blocks.append(
            TableRow((str(index), member.name, dmy(member.born), pick(rng, RELATIONS)), edges)
        )
    blocks.append(Row((Cell("II. Thông tin khác", bold=True),), space_before=0.8))
    father, mother = make_person(rng, ctx.place), make_person(rng, ctx.place)
    fields: list[Field] = [
        ("Họ, chữ đệm, tên cha", person_name(rng, True)),
        ("Năm sinh của cha", str(father.born.year)),
        ("Họ, chữ đệm, tên mẹ", person_name(rng, False)),
        ("Năm sinh của mẹ", str(mother.born.year)),
        ("Ghi chú", "Hồ sơ nộp trực tiếp tại Bộ phận một cửa"),
    ]
    blocks += field_rows(fields, layout if layout != "table" else "plain", leader=False)
    return blocks


def other_page(rng: np.random.Generator, ctx: Context, title: str) -> list[Block]:
    """Page 1 of a document outside the catalogue; no catalogue phrase appears on it."""
    who = ctx.applicant
    ward_upper = ctx.place.ward_full
    if title == "GIẤY MỜI HỌP":
        blocks = agency_header(ctx, f"Số: {rng.integers(1, 300)}/GM-UBND")
        blocks += title_rows(title)
        meeting = ctx.when + timedelta(days=int(rng.integers(2, 10)))
        recipient = f"Kính gửi: Ông/Bà {who.name}"
        fields: list[Field] = [
            ("Thời gian", f"{rng.integers(7, 16)} giờ 00, {long_date(meeting)}"),
            ("Địa điểm", f"Hội trường Ủy ban nhân dân {ward_upper}"),
            ("Nội dung", "Triển khai kế hoạch phòng, chống thiên tai năm " + str(meeting.year)),
            ("Thành phần", "Tổ trưởng các tổ dân phố, trưởng các đoàn thể"),
        ]
        signer = ("TM. ỦY BAN NHÂN DÂN", person_name(rng, True), True)
    elif title == "BIÊN BẢN HỌP TỔ DÂN PHỐ":
        group = f"TỔ DÂN PHỐ SỐ {rng.integers(1, 30)}"
        blocks = agency_header(ctx, None, second=group)
        blocks += title_rows(title)
        recipient = ""
        total = int(rng.integers(30, 80))
        fields = [
            ("Thời gian", f"{rng.integers(18, 21)} giờ 00, {long_date(ctx.when)}"),
            ("Địa điểm", f"Nhà văn hóa khu phố {rng.integers(1, 9)}"),
            ("Chủ trì", who.name),
            ("Thư ký", person_name(rng, False)),
            ("Số hộ tham dự", f"{total - int(rng.integers(0, 10))}/{total} hộ"),
            ("Nội dung", "Bầu tổ trưởng tổ dân phố và thống nhất mức đóng góp quỹ vì người nghèo"),
            ("Kết luận", "Các hộ thống nhất với nội dung cuộc họp"),
        ]
        signer = ("CHỦ TRÌ", who.name, False)
    else:
        blocks = centred_header(ctx, None)
        blocks += title_rows(title)
        if title == "ĐƠN XIN NGHỈ PHÉP":
            recipient = "Kính gửi: Ban Giám đốc Công ty TNHH Thương mại Minh Phát"
            start = ctx.when + timedelta(days=int(rng.integers(1, 10)))
            end = start + timedelta(days=int(rng.integers(1, 6)))
            fields = [
                ("Tôi tên là", who.name),
                ("Bộ phận", pick(rng, ("Phòng Kế toán", "Phòng Kinh doanh", "Phòng Hành chính"))),
                ("Xin nghỉ phép từ ngày", f"{dmy(start)} đến ngày {dmy(end)}"),
                ("Lý do", "Về quê giải quyết việc gia đình"),
                ("Người nhận bàn giao công việc", person_name(rng, bool(rng.random() < 0.5))),
            ]
        elif title == "ĐƠN KHIẾU NẠI":
            recipient = f"Kính gửi: Chủ tịch Ủy ban nhân dân {ctx.place.district_full}"
            fields = [
                ("Họ và tên người khiếu nại", who.name),
                ("Địa chỉ", who.address),
                ("Số điện thoại", phone(rng)),
                ("Nội dung khiếu nại", "Việc thu phí vệ sinh không đúng mức đã niêm yết"),
                ("Yêu cầu giải quyết", "Xem xét và hoàn trả số tiền đã thu sai"),
            ]
        else:
            recipient = f"Kính gửi: Ủy ban nhân dân {ward_upper}"
            fields = [
                ("Tôi tên là", who.name),
                ("Địa chỉ", who.address),
                ("Số điện thoại", phone(rng)),
                ("Vị trí hẻm", f"Hẻm {rng.integers(2, 200)} đường {pick(rng, STREETS)}"),
                ("Hiện trạng", "Mặt đường bị sụt lún, đọng nước khi trời mưa"),
            ]
        signer = ("NGƯỜI LÀM ĐƠN", who.name, False)
    if recipient:
        blocks.append(Row((Cell(recipient, x0=0.1),), space_before=0.8))
    blocks += field_rows(fields, "plain", leader=bool(rng.random() < 0.3))
    blocks += signature_rows(
        signer[0], signer[1], stamp=signer[2], note=not signer[2], seal=seal_text(ctx)
    )
    return blocks
