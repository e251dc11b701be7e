"""Vietnamese people, places and dates for synthetic dossiers.

Everything is drawn from a numpy Generator handed in by the caller, so a record's content is
a pure function of its seed. All strings are NFC (precomposed), as typed on Vietnamese
keyboards and as the fonts' glyph tables expect.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

import numpy as np

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
