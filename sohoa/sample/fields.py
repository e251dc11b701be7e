"""The filled-in fields of a synthetic form: statements and labelled values named by the
catalogue's keywords, and the applicant's own data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import numpy as np

from sohoa.sample.people import (
    ETHNIC,
    GIVEN_FEMALE,
    GIVEN_MALE,
    HOSPITALS,
    RELATIONS,
    Context,
    address,
    dmy,
    nfc,
    person_name,
    phone,
    pick,
    upper_first,
)

# Title words that already name a kind of document; other phrases get a form word in front.
DOC_WORDS = ("tờ khai", "đơn ", "giấy ", "biên bản", "phiếu")


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
