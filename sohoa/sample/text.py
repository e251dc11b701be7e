"""Vietnamese content for synthetic dossiers: people, places, dates and the pages' blocks.

Everything is drawn from a numpy Generator handed in by the caller, so a record's content is
a pure function of its seed. All strings are NFC (precomposed), as typed on Vietnamese
keyboards and as the fonts' glyph tables expect.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

import numpy as np

from sohoa.sample.doc import Block, Cell, Frame, Row, Signature, TableRow

T = TypeVar("T")

FAMILY_NAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ",
    "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
)  # fmt: skip
# Nguyễn is far more common than the rest; the weights keep the sample plausible.
FAMILY_WEIGHTS = (38, 11, 9, 7, 5, 4, 4, 3, 3, 2, 2, 2, 2, 2, 1, 1)
MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Gia", "Xuân", "Ngọc")
MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Bảo", "Phương", "Mỹ", "Diệu", "Thị")
GIVEN_MALE = (
    "An", "Bình", "Cường", "Dũng", "Hùng", "Huy", "Khánh", "Long", "Minh", "Nam", "Phúc",
    "Quang", "Sơn", "Thắng", "Tuấn", "Việt", "Hải", "Trung", "Đạt", "Khoa", "Lộc", "Nghĩa",
)  # fmt: skip
GIVEN_FEMALE = (
    "Anh", "Chi", "Dung", "Hà", "Hạnh", "Hằng", "Hương", "Lan", "Linh", "Mai", "Ngân",
    "Nhung", "Oanh", "Phượng", "Quyên", "Thảo", "Trang", "Trinh", "Tuyết", "Uyên", "Yến", "Thư",
)  # fmt: skip
STREETS = (
    "Lê Lợi", "Nguyễn Huệ", "Hai Bà Trưng", "Pasteur", "Điện Biên Phủ", "Trần Hưng Đạo",
    "Lý Tự Trọng", "Nguyễn Thị Minh Khai", "Cách Mạng Tháng Tám", "Võ Văn Tần",
    "Phan Đình Phùng", "Bạch Đằng", "Nguyễn Trãi", "Lê Duẩn", "Hàng Bông",
)  # fmt: skip
HOSPITALS = (
    "Bệnh viện Từ Dũ", "Bệnh viện Hùng Vương", "Bệnh viện Phụ sản Trung ương",
    "Bệnh viện Đa khoa Đà Nẵng", "Trạm Y tế {ward}",
)  # fmt: skip
RELATIONS = ("Con", "Vợ", "Chồng", "Cháu", "Mẹ", "Cha", "Em ruột")
ETHNIC = ("Kinh", "Kinh", "Kinh", "Hoa", "Tày", "Khmer")


@dataclass(frozen=True)
class Place:
    ward_kind: str  # "phường" or "xã"
    ward: str
    district_kind: str  # "quận" or "huyện"
    district: str
    province: str
    id_prefix: str  # province code at the start of a citizen ID number

    @property
    def ward_full(self) -> str:
        return f"{self.ward_kind} {self.ward}"

    @property
    def district_full(self) -> str:
        return f"{self.district_kind} {self.district}"

    def unit(self, level: str) -> str:
        """The archiving agency: the ward for xa-level procedures, else the district."""
        return f"UBND {self.district_full if level == 'huyen' else self.ward_full}"


PLACES = (
    Place("phường", "Bến Nghé", "quận", "1", "Thành phố Hồ Chí Minh", "079"),
    Place("phường", "Bến Thành", "quận", "1", "Thành phố Hồ Chí Minh", "079"),
    Place("phường", "Đa Kao", "quận", "1", "Thành phố Hồ Chí Minh", "079"),
    Place("phường", "Võ Thị Sáu", "quận", "3", "Thành phố Hồ Chí Minh", "079"),
    Place("xã", "Tân Thông Hội", "huyện", "Củ Chi", "Thành phố Hồ Chí Minh", "079"),
    Place("phường", "Hàng Bạc", "quận", "Hoàn Kiếm", "Thành phố Hà Nội", "001"),
    Place("phường", "Dịch Vọng", "quận", "Cầu Giấy", "Thành phố Hà Nội", "001"),
    Place("phường", "Thạch Thang", "quận", "Hải Châu", "Thành phố Đà Nẵng", "048"),
    Place("xã", "Hòa Tiến", "huyện", "Hòa Vang", "Thành phố Đà Nẵng", "048"),
)

# Documents that no catalogue procedure covers; their truth procedure is "khac".
OTHER_TITLES = (
    "ĐƠN XIN NGHỈ PHÉP",
    "GIẤY MỜI HỌP",
    "ĐƠN KHIẾU NẠI",
    "BIÊN BẢN HỌP TỔ DÂN PHỐ",
    "ĐƠN ĐỀ NGHỊ SỬA CHỮA ĐƯỜNG HẺM",
)
# Title words that already name a kind of document; other phrases get a form word in front.
DOC_WORDS = ("tờ khai", "đơn ", "giấy ", "biên bản", "phiếu")

CERTIFY = (
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
    "pháp luật về cam đoan của mình."
)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Person:
    name: str
    male: bool
    born: date
    id_no: str
    address: str


@dataclass(frozen=True)
class Context:
    """What every page of one dossier shares."""

    place: Place
    when: date  # date the form was signed
    code: str  # dossier code
    applicant: Person
    proc_name: str


def person_name(rng: np.random.Generator, male: bool) -> str:
    weights = np.array(FAMILY_WEIGHTS, dtype=float)
    family = FAMILY_NAMES[int(rng.choice(len(FAMILY_NAMES), p=weights / weights.sum()))]
    middle = pick(rng, MIDDLE_MALE if male else MIDDLE_FEMALE)
    given = pick(rng, GIVEN_MALE if male else GIVEN_FEMALE)
    # Some women's names carry two middle names, "Thị" first ("Nguyễn Thị Thu Hà").
    if not male and middle != "Thị" and rng.random() < 0.25:
        middle = f"Thị {middle}"
    return f"{family} {middle} {given}"


def random_date(rng: np.random.Generator, start: date, end: date) -> date:
    return start + timedelta(days=int(rng.integers((end - start).days + 1)))


def dmy(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def long_date(day: date) -> str:
    """Administrative style (Nghị định 30/2020): pad days below 10 and months below 3."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def address(rng: np.random.Generator, place: Place) -> str:
    if place.ward_kind == "xã":
        head = f"Tổ {rng.integers(1, 12)}, ấp {rng.integers(1, 9)}"
    elif rng.random() < 0.4:
        head = f"Số {rng.integers(2, 300)}/{rng.integers(1, 40)} đường {pick(rng, STREETS)}"
    else:
        head = f"Số {rng.integers(2, 300)} đường {pick(rng, STREETS)}"
    return f"{head}, {place.ward_full}, {place.district_full}, {place.province}"


def id_number(rng: np.random.Generator, place: Place, male: bool, born: date) -> str:
    # 12-digit citizen ID: province, century+sex digit, two-digit year, six random digits.
    century = 0 if born.year < 2000 else 2
    sex = century + (0 if male else 1)
    tail = "".join(str(d) for d in rng.integers(0, 10, size=6))
    return f"{place.id_prefix}{sex}{born.year % 100:02d}{tail}"


def phone(rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, size=7))
    return f"09{rng.integers(0, 10)}{digits[0]} {digits[1:4]} {digits[4:]}"


def make_person(
    rng: np.random.Generator, place: Place, *, born_from: int = 1950, born_to: int = 2003
) -> Person:
    male = bool(rng.random() < 0.5)
    born = random_date(rng, date(born_from, 1, 1), date(born_to, 12, 31))
    return Person(
        name=person_name(rng, male),
        male=male,
        born=born,
        id_no=id_number(rng, place, male, born),
        address=address(rng, place),
    )


def form_title(first_phrase: str) -> str:
    """The printed heading: the procedure's first phrase in capitals, as a document name."""
    phrase = nfc(first_phrase.strip())
    if not phrase.lower().startswith(DOC_WORDS):
        phrase = f"tờ khai {phrase}" if phrase.lower().startswith("đăng ký") else f"đơn {phrase}"
    return phrase.upper()


# --- fields named by catalogue keywords ---------------------------------------------------

Field = tuple[str, str | None]  # (label, value); a None value prints the label as a sentence
FieldMaker = Callable[[np.random.Generator, Context], Field]


def _someone(rng: np.random.Generator, ctx: Context, male: bool | None = None) -> str:
    return person_name(rng, bool(rng.random() < 0.5) if male is None else male)


def _past(rng: np.random.Generator, ctx: Context, days: int) -> str:
    return dmy(ctx.when - timedelta(days=int(rng.integers(1, days))))


def _area(rng: np.random.Generator, low: int, high: int) -> str:
    return f"{rng.integers(low, high)},{rng.integers(0, 10)} m²"


KEYWORD_FIELDS: dict[str, FieldMaker] = {
    "khai sinh": lambda r, c: (
        "Đề nghị cơ quan đăng ký khai sinh cho người có tên dưới đây:",
        None,
    ),
    "người được khai sinh": lambda r, c: ("Họ, chữ đệm, tên người được khai sinh", _someone(r, c)),
    "ngày sinh": lambda r, c: ("Ngày, tháng, năm sinh", _past(r, c, 60)),
    "nơi sinh": lambda r, c: ("Nơi sinh", pick(r, HOSPITALS).format(ward=c.place.ward_full)),
    "giấy chứng sinh": lambda r, c: ("Giấy chứng sinh số", f"{r.integers(100, 9999)}/GCS"),
    "kết hôn": lambda r, c: ("Đề nghị cơ quan đăng ký kết hôn cho chúng tôi.", None),
    "bên nữ": lambda r, c: ("Họ, chữ đệm, tên bên nữ", _someone(r, c, male=False)),
    "bên nam": lambda r, c: ("Họ, chữ đệm, tên bên nam", _someone(r, c, male=True)),
    "giấy chứng nhận kết hôn": lambda r, c: ("Số giấy chứng nhận kết hôn đã cấp (nếu có)", "Không"),
    "khai tử": lambda r, c: ("Đề nghị cơ quan đăng ký khai tử cho người có tên dưới đây:", None),
    "người đã chết": lambda r, c: ("Họ, chữ đệm, tên người đã chết", _someone(r, c)),
    "ngày chết": lambda r, c: ("Giờ, ngày chết", f"{r.integers(0, 24):02d} giờ, {_past(r, c, 20)}"),
    "nơi chết": lambda r, c: ("Nơi chết", address(r, c.place)),
    "giấy báo tử": lambda r, c: ("Giấy báo tử số", f"{r.integers(10, 999)}/GBT"),
    "tình trạng hôn nhân": lambda r, c: ("Tình trạng hôn nhân", "Hiện tại chưa đăng ký kết hôn"),
    "mục đích sử dụng": lambda r, c: (
        "Mục đích sử dụng giấy xác nhận",
        pick(r, ("Để đăng ký kết hôn", "Để vay vốn ngân hàng", "Để mua bán nhà đất")),
    ),
    "chưa đăng ký kết hôn": lambda r, c: (
        "Tôi cam đoan hiện tại chưa đăng ký kết hôn với ai.",
        None,
    ),
    "thường trú": lambda r, c: ("Địa chỉ đề nghị đăng ký thường trú", address(r, c.place)),
    "cư trú": lambda r, c: ("Nơi cư trú hiện tại", address(r, c.place)),
    "chủ hộ": lambda r, c: ("Họ, chữ đệm và tên chủ hộ", _someone(r, c)),
    "quan hệ với chủ hộ": lambda r, c: ("Quan hệ với chủ hộ", pick(r, RELATIONS)),
    "chỗ ở hợp pháp": lambda r, c: (
        "Giấy tờ chứng minh chỗ ở hợp pháp",
        pick(r, ("Hợp đồng thuê nhà có công chứng", "Giấy chứng nhận quyền sở hữu nhà ở")),
    ),
    "chứng thực": lambda r, c: ("Đề nghị chứng thực bản sao từ bản chính các giấy tờ sau:", None),
    "bản sao": lambda r, c: ("Loại bản sao", "Bản chụp"),
    "bản chính": lambda r, c: (
        "Tên giấy tờ bản chính",
        pick(r, ("Giấy khai sinh", "Bằng tốt nghiệp đại học", "Sổ hộ khẩu", "Hợp đồng lao động")),
    ),
    "số bản sao": lambda r, c: ("Số bản sao đề nghị chứng thực", str(r.integers(1, 6))),
    "giấy phép xây dựng": lambda r, c: ("Đề nghị cấp giấy phép xây dựng công trình sau:", None),
    "nhà ở riêng lẻ": lambda r, c: ("Loại công trình", "Nhà ở riêng lẻ"),
    "diện tích xây dựng": lambda r, c: ("Diện tích xây dựng tầng 1", _area(r, 40, 150)),
    "số tầng": lambda r, c: ("Số tầng", str(r.integers(1, 6))),
    "chiều cao công trình": lambda r, c: ("Chiều cao công trình", f"{r.integers(4, 20)},5 m"),
    "hộ kinh doanh": lambda r, c: ("Địa điểm hộ kinh doanh", address(r, c.place)),
    "ngành nghề kinh doanh": lambda r, c: (
        "Ngành, nghề kinh doanh",
        pick(r, ("Bán lẻ tạp hóa", "Dịch vụ ăn uống", "Sửa chữa xe máy", "May mặc")),
    ),
    "vốn kinh doanh": lambda r, c: ("Vốn kinh doanh", f"{r.integers(5, 90) * 10}.000.000 đồng"),
    "tên hộ kinh doanh": lambda r, c: (
        "Tên hộ kinh doanh",
        f"{pick(r, ('Tạp hóa', 'Quán', 'Tiệm'))} {pick(r, GIVEN_MALE + GIVEN_FEMALE)}",
    ),
    "quyền sử dụng đất": lambda r, c: ("Đề nghị cấp giấy chứng nhận quyền sử dụng đất.", None),
    "thửa đất": lambda r, c: ("Thửa đất số", str(r.integers(1, 900))),
    "tờ bản đồ": lambda r, c: ("Tờ bản đồ số", str(r.integers(1, 60))),
    "mục đích sử dụng đất": lambda r, c: (
        "Mục đích sử dụng đất",
        pick(r, ("Đất ở tại đô thị", "Đất ở tại nông thôn", "Đất trồng cây lâu năm")),
    ),
    "diện tích thửa": lambda r, c: ("Diện tích thửa đất", _area(r, 50, 400)),
    "con nuôi": lambda r, c: ("Đề nghị được đăng ký việc nuôi con nuôi.", None),
    "người nhận con nuôi": lambda r, c: ("Họ, chữ đệm, tên người nhận con nuôi", _someone(r, c)),
    "người được nhận làm con nuôi": lambda r, c: (
        "Họ, chữ đệm, tên người được nhận làm con nuôi",
        _someone(r, c),
    ),
}


def keyword_field(rng: np.random.Generator, ctx: Context, keyword: str) -> Field:
    """A filled field labelled by `keyword`; unknown keywords get a value by their wording."""
    keyword = nfc(keyword)
    maker = KEYWORD_FIELDS.get(keyword)
    if maker is not None:
        return maker(rng, ctx)
    label = upper_first(keyword)
    if "ngày" in keyword:
        return label, _past(rng, ctx, 365)
    if any(w in keyword for w in ("nơi", "địa chỉ", "trú", "chỗ")):
        return label, address(rng, ctx.place)
    if any(w in keyword for w in ("người", "bên", "chủ", "họ")):
        return label, _someone(rng, ctx)
    if "diện tích" in keyword:
        return label, _area(rng, 30, 300)
    return label, f"Số {rng.integers(1, 500)}/{ctx.when.year}"


def applicant_fields(rng: np.random.Generator, ctx: Context) -> list[Field]:
    who = ctx.applicant
    return [
        ("Họ, chữ đệm, tên người yêu cầu", who.name),
        ("Ngày, tháng, năm sinh", dmy(who.born)),
        ("Giới tính", "Nam" if who.male else "Nữ"),
        ("Dân tộc", pick(rng, ETHNIC)),
        ("Quốc tịch", "Việt Nam"),
        ("Số định danh cá nhân", who.id_no),
        ("Nơi cư trú", who.address),
        ("Số điện thoại", phone(rng)),
    ]


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


def choose_fields(rng: np.random.Generator, ctx: Context, keywords: Sequence[str]) -> list[Field]:
    """6-12 fields: statements and labelled values from keywords, then the applicant's data."""
    chosen = [keyword_field(rng, ctx, k) for k in keywords if rng.random() < 0.8] or [
        keyword_field(rng, ctx, keywords[0])
    ]
    # Sentences open the form body; labelled keyword fields follow the applicant's data.
    statements = [f for f in chosen if f[1] is None][:1]
    labelled = [f for f in chosen if f[1] is not None]
    applicant = applicant_fields(rng, ctx)
    target = int(rng.integers(6, 13))
    keep = min(8, max(2, target - len(labelled) - len(statements)))
    applicant = [applicant[0]] + [
        applicant[i] for i in sorted(rng.choice(np.arange(1, 8), size=keep - 1, replace=False))
    ]
    fields = statements + applicant + labelled
    return fields[:12]


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
