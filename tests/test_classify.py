"""sohoa.classify: normal forms, catalogue validation and the rule classifier.

Page texts imitate the ward-level application forms (TT 04/2020/TT-BTP, NĐ 15/2021,
TT 01/2021/TT-BKHĐT ...); TESSERACT_TITLES are real `tesseract -l vie` output for
renderings of those forms scaled down until the OCR damaged them.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sohoa.classify import Catalogue, Classification, classify, fold, load_catalogue, nfc
from sohoa.classify.normalise import fold_lines
from sohoa.errors import SohoaError

CONFIG = yaml.safe_load((Path(__file__).parents[1] / "sohoa" / "config.yaml").read_text("utf-8"))
RAW_CATALOGUE = CONFIG["classify"]["catalogue"]
REVIEW_THRESHOLD = CONFIG["classify"]["review_threshold"]
CATALOGUE = load_catalogue(RAW_CATALOGUE)
HEADER = """UBND PHƯỜNG BẾN NGHÉ
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
"""

# Page 1 of each form below the agency header: the title, then the body.
FORMS = {
    "khai_sinh": """TỜ KHAI ĐĂNG KÝ KHAI SINH
Kính gửi: Ủy ban nhân dân phường Bến Nghé
Họ, chữ đệm, tên người yêu cầu: NGUYỄN VĂN AN
Nơi cư trú: 12 Lê Lợi, phường Bến Nghé, Quận 1
Giấy tờ tùy thân: CCCD số 079090001234
Quan hệ với người được khai sinh: Cha
Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:
Họ, chữ đệm, tên: NGUYỄN MINH KHANG
Ngày, tháng, năm sinh: 03/02/2024
ghi bằng chữ: Ngày ba tháng hai năm hai nghìn không trăm hai mươi tư
Giới tính: Nam Dân tộc: Kinh Quốc tịch: Việt Nam
Nơi sinh: Bệnh viện Từ Dũ, Thành phố Hồ Chí Minh
Quê quán: Nam Định
Họ, chữ đệm, tên người mẹ: TRẦN THỊ BÌNH
Họ, chữ đệm, tên người cha: NGUYỄN VĂN AN
Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật.
Làm tại: phường Bến Nghé, ngày 10 tháng 02 năm 2024
Người yêu cầu (Ký, ghi rõ họ, chữ đệm, tên)
""",
    "ket_hon": """TỜ KHAI ĐĂNG KÝ KẾT HÔN
Kính gửi: Ủy ban nhân dân phường Bến Nghé
Thông tin Bên nữ Bên nam
Họ, chữ đệm, tên: LÊ THỊ HOA PHẠM QUỐC BẢO
Ngày, tháng, năm sinh: 12/05/1996 20/11/1994
Dân tộc: Kinh Kinh
Quốc tịch: Việt Nam Việt Nam
Nơi cư trú: 45 Hai Bà Trưng, Quận 1 / 8 Nguyễn Huệ, Quận 1
Giấy tờ tùy thân: CCCD 079196004321 / CCCD 079094005678
Kết hôn lần thứ mấy: Lần thứ nhất Lần thứ nhất
Chúng tôi cam đoan những lời khai trên đây là đúng sự thật, việc kết hôn của chúng tôi
là tự nguyện, không vi phạm quy định của Luật Hôn nhân và gia đình Việt Nam.
Đề nghị Quý cơ quan đăng ký.
Bên nữ (Ký, ghi rõ họ, chữ đệm, tên) Bên nam (Ký, ghi rõ họ, chữ đệm, tên)
""",
    "khai_tu": """TỜ KHAI ĐĂNG KÝ KHAI TỬ
Kính gửi: Ủy ban nhân dân phường Bến Nghé
Họ, chữ đệm, tên người yêu cầu: ĐỖ THỊ LAN
Nơi cư trú: 30 Pasteur, phường Bến Nghé, Quận 1
Quan hệ với người đã chết: Con
Đề nghị cơ quan đăng ký khai tử cho người có tên dưới đây:
Họ, chữ đệm, tên: ĐỖ VĂN HÙNG
Ngày, tháng, năm sinh: 01/01/1940 Giới tính: Nam
Nơi cư trú cuối cùng: 30 Pasteur, phường Bến Nghé
Đã chết vào lúc: 05 giờ 30 phút, ngày 14/03/2024
Nơi chết: Bệnh viện Chợ Rẫy
Nguyên nhân chết: Bệnh già
Số Giấy báo tử: 125/GBT do Bệnh viện Chợ Rẫy cấp ngày 14/03/2024
Tôi cam đoan những nội dung khai trên đây là đúng sự thật.
""",
    "xac_nhan_hon_nhan": """TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN
Kính gửi: Ủy ban nhân dân phường Bến Nghé
Họ, chữ đệm, tên người yêu cầu: VÕ THỊ MAI
Quan hệ với người được cấp Giấy xác nhận: Bản thân
Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:
Họ, chữ đệm, tên: VÕ THỊ MAI
Ngày, tháng, năm sinh: 22/07/1998 Giới tính: Nữ
Nơi cư trú: 77 Đồng Khởi, phường Bến Nghé, Quận 1
Trong thời gian cư trú tại phường Bến Nghé từ năm 1998 đến nay
Tình trạng hôn nhân: Chưa đăng ký kết hôn với ai
Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân: để đăng ký kết hôn
Tôi cam đoan những nội dung khai trên đây là đúng sự thật.
""",
    "thuong_tru": """TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ
Kính gửi: Công an phường Bến Nghé
1. Họ, chữ đệm và tên: TRƯƠNG VĂN TÀI
2. Ngày, tháng, năm sinh: 09/09/1990 3. Giới tính: Nam
4. Số định danh cá nhân: 079090007777
5. Số điện thoại liên hệ: 0909123456
6. Họ, chữ đệm và tên chủ hộ: TRƯƠNG VĂN LỘC
7. Mối quan hệ với chủ hộ: Con
8. Số định danh cá nhân của chủ hộ: 079060001111
9. Nội dung đề nghị: Đăng ký thường trú vào chỗ ở hợp pháp tại 5 Lý Tự Trọng
10. Những thành viên trong hộ gia đình cùng thay đổi:
""",
    "chung_thuc_ban_sao": """GIẤY ĐỀ NGHỊ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH
Kính gửi: Ủy ban nhân dân phường Bến Nghé
Họ và tên người yêu cầu chứng thực: HUỲNH VĂN PHÚC
Giấy tờ tùy thân: CCCD 079088002222
Đề nghị chứng thực bản sao từ bản chính các giấy tờ sau:
1. Bằng tốt nghiệp đại học số 0123456 Số bản sao: 03
2. Giấy khai sinh số 45/2000 Số bản sao: 02
Tôi cam đoan bản chính xuất trình là giấy tờ hợp pháp.
""",
    "giay_phep_xay_dung": """ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP XÂY DỰNG
(Sử dụng cho công trình: Nhà ở riêng lẻ)
Kính gửi: Ủy ban nhân dân Quận 1
1. Thông tin về chủ đầu tư: BÙI VĂN THẮNG
Địa chỉ liên hệ: 19 Thi Sách, phường Bến Nghé
2. Thông tin công trình: Địa điểm xây dựng: Lô đất số 12, thửa đất số 345, tờ bản đồ số 6
3. Nội dung đề nghị cấp phép: Loại công trình: nhà ở riêng lẻ; Cấp công trình: III
Diện tích xây dựng tầng 1 (tầng trệt): 80 m2
Tổng diện tích sàn: 320 m2
Chiều cao công trình: 15,6 m; Số tầng: 4
4. Dự kiến thời gian hoàn thành công trình: 12 tháng
""",
    "ho_kinh_doanh": """GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH
Kính gửi: Phòng Tài chính - Kế hoạch Quận 1
Tôi là: NGÔ THỊ THU Giới tính: Nữ
Sinh ngày: 15/04/1985 Dân tộc: Kinh Quốc tịch: Việt Nam
Đăng ký hộ kinh doanh do tôi là chủ hộ với các nội dung sau:
1. Tên hộ kinh doanh: Tiệm cà phê Thu Ngô
2. Địa chỉ trụ sở hộ kinh doanh: 88 Mạc Thị Bưởi, phường Bến Nghé
3. Ngành, nghề kinh doanh: Dịch vụ ăn uống
4. Vốn kinh doanh: 200.000.000 đồng
5. Số lượng lao động: 4 người
""",
    "quyen_su_dung_dat": """ĐƠN ĐĂNG KÝ ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT
Kính gửi: Văn phòng đăng ký đất đai Quận 1
I. PHẦN KÊ KHAI CỦA NGƯỜI ĐĂNG KÝ
1. Người sử dụng đất: ĐẶNG VĂN NAM, CCCD 079070003333
2. Đề nghị: Cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất
3. Thửa đất đăng ký: Thửa đất số: 210; Tờ bản đồ số: 14
Địa chỉ: 3 Tôn Đức Thắng, phường Bến Nghé
Diện tích thửa đất: 96 m2; Mục đích sử dụng đất: Đất ở tại đô thị
Thời hạn sử dụng: Lâu dài; Nguồn gốc sử dụng: Nhận chuyển nhượng
""",
    "nuoi_con_nuoi": """ĐƠN XIN NHẬN CON NUÔI TRONG NƯỚC
Kính gửi: Ủy ban nhân dân phường Bến Nghé
Thông tin về người nhận con nuôi: Ông LÝ VĂN ĐỨC và Bà CAO THỊ YẾN
Ngày, tháng, năm sinh: 02/03/1980 / 10/10/1982
Nơi thường trú: 14 Hàm Nghi, phường Bến Nghé
Thông tin về người được nhận làm con nuôi:
Họ, chữ đệm, tên: LÝ GIA HÂN Ngày sinh: 01/06/2020 Giới tính: Nữ
Nơi sinh: Thành phố Hồ Chí Minh
Lý do xin nhận con nuôi: hiếm muộn
Chúng tôi cam kết chăm sóc, nuôi dưỡng, giáo dục con nuôi như con đẻ.
""",
}

FIRST_PAGES = {key: HEADER + form for key, form in FORMS.items()}

ID_CARD_COPY = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
CĂN CƯỚC CÔNG DÂN
Số / No.: 079090001234
Họ và tên / Full name: NGUYỄN VĂN AN
Ngày sinh / Date of birth: 14/08/1990
Giới tính / Sex: Nam Quốc tịch / Nationality: Việt Nam
Quê quán / Place of origin: Nam Định
Nơi thường trú / Place of residence: 12 Lê Lợi, Bến Nghé, Quận 1
Có giá trị đến: 14/08/2030
"""

MARRIAGE_CERTIFICATE_COPY = """BẢN SAO
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
GIẤY CHỨNG NHẬN KẾT HÔN
Họ, chữ đệm, tên: Bên nam NGUYỄN VĂN AN Bên nữ TRẦN THỊ BÌNH
Ngày, tháng, năm sinh: 14/08/1990 02/02/1992
Nơi đăng ký kết hôn: Ủy ban nhân dân phường Bến Nghé
Ngày đăng ký: 20/10/2019
Chứng thực bản sao đúng với bản chính
"""

RECEIPT = """BIÊN LAI THU TIỀN PHÍ, LỆ PHÍ
Tên loại phí, lệ phí: Lệ phí hộ tịch
Số tiền: 8.000 đồng
Người nộp: NGUYỄN VĂN AN
"""

LEAVE_REQUEST = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
ĐƠN XIN NGHỈ PHÉP
Kính gửi: Trưởng phòng Hành chính - Tổng hợp
Tôi tên là: Phan Thị Kim
Chức vụ: Chuyên viên, Phòng Hành chính - Tổng hợp
Nay tôi làm đơn này xin được nghỉ phép từ ngày 05/08/2024 đến hết ngày 09/08/2024
Lý do: về quê giải quyết việc gia đình
Công việc được bàn giao cho: Ông Lê Văn Sơn
Kính mong Trưởng phòng xem xét, giải quyết.
Người làm đơn
"""

LAND_CERTIFICATE_COPY = """GIẤY CHỨNG NHẬN
QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT
I. Người sử dụng đất, chủ sở hữu nhà ở: Ông BÙI VĂN THẮNG
II. Thửa đất: Thửa đất số 345, tờ bản đồ số 6; Diện tích: 100 m2
Mục đích sử dụng: Đất ở tại đô thị
"""

# Lines 1-6 of `tesseract -l vie` on the forms above rendered small and blurred.
TESSERACT_TITLES = {
    "ket_hon": """'URND PHƯƠNG BỀN NGHỆ.
“CỘNG MÒA XÃ MỘI CHỦ NGHĨA VIỆT NAM.
Đệ lập - Tự đo Hạnh phác
“1O KHAI ĐĂNG KỸ KẾT HÔN
ính giá Ủy ban nhân đân phường Bến Nghề
“Thông ta Bên ử Bên nam,
""",
    "khai_tu": """'URND PHƯƠNG BỀN NGHỆ.
“CỘNG MÒA XÃ MỘI CHỦ NGHĨA VIỆT NAM.
Đặc lập - Tự đo Hạnh phóc
“1O KHAI ĐĂNG KỸ KHAU TỪ.
ính giá Ủy ban nhân đân phường Bến Nghề
Me, chữ độm tên ngư yêu cầu: ĐỒ THỊ LAN,
""",
    "thuong_tru": """'URND PHƯƠNG BỀN NGHỆ.
“CỘNG MÒA XÃ MỘI CHỦ NGHĨA VIỆT NAM.
Đặc lập - Tự đo Hạnh phúc
“1O KHAI THAY ĐỐI THÔNG TIN CƯ TRÙ
Xinh gi. Công a phương Bến Nghệ
1.Họ, chữ đệm và tế: TRƯƠNG VĂN TÀI
""",
    "ho_kinh_doanh": """'URND PHƯƠNG BỀN NGHỆ.
“CỘNG MÒA XÃ MỘI CHỦ NGHĨA VIỆT NAM.
Đặc lập - Tự đo Hạnh phác
'GIẦY ĐỀ NGHỊ ĐĂNG KỸ HỘ KINH ĐOANH.
Xinh gc Phòng Tài cính- Kế boạch Quận
"Đang y hỗ Mnh doanh đợt là chủ bộ ớt các nội dung van”
""",
}

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Base vowels (with their hats and horns) and consonants; tones are added below.
VOWELS = "aăâeêioôơuưy"
VIETNAMESE_LETTERS = sorted(
    {
        unicodedata.normalize("NFC", vowel + tone)
        for vowel in VOWELS + VOWELS.upper()
        for tone in ["", *TONE_MARKS]
    }
    | set("bcdđghklmnpqrstvxBCDĐGHKLMNPQRSTVX")
)


def strip_diacritics(text: str) -> str:
    """All marks gone but case and lines kept: what a font without Vietnamese glyphs gives."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D")


def ocr_damage(text: str) -> str:
    """The tesseract `vie` traps: tone marks dropped on every other word ("Giải quyet"),
    acute and hook-above swapped elsewhere (on circumflex letters), Đ read as D."""
    words = unicodedata.normalize("NFD", text).split(" ")
    damaged = []
    for i, word in enumerate(words):
        if i % 2:
            word = "".join(c for c in word if c not in TONE_MARKS)
        else:
            word = word.translate({0x301: 0x309, 0x309: 0x301})
        damaged.append(word)
    return nfc(" ".join(damaged)).replace("Đ", "D")


def check(result: Classification) -> Classification:
    """Invariants every classification keeps; returns it for further asserts."""
    assert 0.0 <= result.confidence <= 1.0
    assert result.procedure in {p.key for p in CATALOGUE.procedures}
    assert result.code == CATALOGUE.get(result.procedure).code
    assert len(result.candidates) <= 3
    scores = [score for _, score in result.candidates]
    assert scores == sorted(scores, reverse=True)
    if result.procedure != "khac":
        assert result.candidates[0] == (result.procedure, result.confidence)
    return result


# -- normal forms ------------------------------------------------------------------------


def test_fold_examples() -> None:
    assert fold("TỜ KHAI ĐĂNG KÝ KHAI SINH") == "to khai dang ky khai sinh"
    assert fold("Số: 15/QĐ-UBND,\n\t ngày  03/02/2024") == "so 15 qd ubnd ngay 03 02 2024"
    assert fold("Giải quyết") == fold("Giải quyet") == "giai quyet"
    assert fold("\u00d0ỒNG Ɖồng") == "dong dong"  # Ð and Ɖ are OCR look-alikes of Đ
    assert fold("   ") == ""


def test_nfc_composes() -> None:
    decomposed = unicodedata.normalize("NFD", "Hạnh phúc")
    assert decomposed != "Hạnh phúc"
    assert nfc(decomposed) == "Hạnh phúc"


vietnamese_text = st.text(alphabet=[*VIETNAMESE_LETTERS, " ", "\n", ",", ".", "-", "/", ":"])


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(vietnamese_text)
def test_fold_makes_vietnamese_ascii(text: str) -> None:
    folded = fold(text)
    assert folded.isascii()
    assert re.fullmatch(r"([a-z]+( [a-z]+)*)?", folded)


@given(st.text())
def test_fold_ignores_normal_form(text: str) -> None:
    assert fold(unicodedata.normalize("NFD", text)) == fold(unicodedata.normalize("NFC", text))


@given(st.text())
def test_fold_lines_folds_each_line(text: str) -> None:
    assert fold_lines(text) == [fold(line) for line in text.splitlines()]


@given(vietnamese_text)
def test_fold_equal_for_nfc_and_nfd_vietnamese(text: str) -> None:
    assert fold(unicodedata.normalize("NFD", text)) == fold(text)


# -- catalogue ---------------------------------------------------------------------------


def test_real_catalogue_loads() -> None:
    assert CATALOGUE.unknown.key == "khac"
    assert CATALOGUE.get("khai_sinh").code == "1.001193"
    assert re.fullmatch(r"[0-9a-f]{12}", CATALOGUE.version)
    assert load_catalogue(copy.deepcopy(RAW_CATALOGUE)).version == CATALOGUE.version


def test_every_procedure_has_a_sample_form() -> None:
    assert {p.key for p in CATALOGUE.procedures} - {"khac"} == set(FIRST_PAGES)


def test_version_follows_content_not_unicode_form() -> None:
    decomposed = copy.deepcopy(RAW_CATALOGUE)
    decomposed[0]["name"] = unicodedata.normalize("NFD", decomposed[0]["name"])
    assert load_catalogue(decomposed).version == CATALOGUE.version
    changed = copy.deepcopy(RAW_CATALOGUE)
    changed[0]["keywords"].append("giấy chứng sinh bản sao")
    assert load_catalogue(changed).version != CATALOGUE.version


def test_get_unknown_key_names_the_known_ones() -> None:
    with pytest.raises(SohoaError, match=r"unknown procedure 'nope'; the catalogue has: khai_sinh"):
        CATALOGUE.get("nope")


def _broken(number: int, **changes: object) -> list[dict]:
    """The real catalogue with entry `number` (1-based) changed; None deletes a field."""
    items = copy.deepcopy(RAW_CATALOGUE)
    for field, value in changes.items():
        if value is None:
            del items[number - 1][field]
        else:
            items[number - 1][field] = value
    return items


def _regex_error(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    raise AssertionError(f"{pattern!r} compiles")


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            _broken(3, key="khai_sinh"),
            "catalogue entry 3 (key 'khai_sinh'): duplicate key 'khai_sinh', "
            "already used by entry 1",
        ),
        (
            _broken(5, code="1.001193"),
            "catalogue entry 5 (key 'thuong_tru'): duplicate code '1.001193', "
            "already used by entry 1",
        ),
        (
            _broken(2, patterns=["(kết hôn"]),
            "catalogue entry 2 (key 'ket_hon'): pattern '(kết hôn' is not a valid regular "
            f"expression: {_regex_error('(kết hôn')}",
        ),
        (
            _broken(2, patterns=["x*"]),
            "catalogue entry 2 (key 'ket_hon'): pattern 'x*' matches empty text, so every record",
        ),
        (
            _broken(4, phrase=["xác nhận"]),
            "catalogue entry 4 (key 'xac_nhan_hon_nhan'): unknown field(s) phrase (allowed: "
            "code, key, keywords, level, name, patterns, phrases)",
        ),
        (
            RAW_CATALOGUE[:-1],
            "the catalogue has no 'khac' entry; add one (level xa, no phrases) for records "
            "that match no procedure",
        ),
        (
            _broken(1, code="1.1193"),
            "catalogue entry 1 (key 'khai_sinh'): code '1.1193' should look like 1.001193 "
            "or 1.012753.H19",
        ),
        (
            _broken(1, code=1.001193),
            "catalogue entry 1 (key 'khai_sinh'): code 1.001193 must be quoted text, like "
            'code: "1.001193"',
        ),
        (
            _broken(7, level="quan"),
            "catalogue entry 7 (key 'giay_phep_xay_dung'): level 'quan' is not one of "
            "xa, huyen, tinh",
        ),
        (
            _broken(2, name=None),
            "catalogue entry 2 (key 'ket_hon'): 'name' is required and must be non-empty text",
        ),
        (
            _broken(2, key="Ket Hon"),
            "catalogue entry 2 (key 'Ket Hon'): key must be lowercase letters, digits and _ "
            "(like khai_sinh)",
        ),
        (
            _broken(2, phrases="đăng ký kết hôn"),
            "catalogue entry 2 (key 'ket_hon'): 'phrases' must be a list, like "
            "phrases: [first, second]",
        ),
        (
            _broken(2, keywords=["kết hôn", ""]),
            "catalogue entry 2 (key 'ket_hon'): 'keywords' holds ''; each item must be "
            "non-empty text",
        ),
        (
            _broken(2, keywords=["hôn"]),
            "catalogue entry 2 (key 'ket_hon'): keywords item 'hôn' is too short to match "
            "reliably (under 4 characters without diacritics)",
        ),
        (
            _broken(3, keywords=["Đăng ký khai sinh"]),
            "catalogue entry 3 (key 'khai_tu'): keywords item 'Đăng ký khai sinh' is already "
            "in phrases of entry 1 (key 'khai_sinh'); a term must point to one procedure",
        ),
        (
            _broken(11, phrases=["đơn khác"]),
            "catalogue entry 11 (key 'khac'): the 'khac' entry is the fallback for unmatched "
            "records and must have no phrases, keywords or patterns",
        ),
        (
            _broken(2, phrases=[], keywords=[]),
            "catalogue entry 2 (key 'ket_hon'): needs at least one phrase, keyword or "
            "pattern to be found",
        ),
        (
            [*RAW_CATALOGUE, "khai_sinh"],
            "catalogue entry 12: must be a mapping, not str",
        ),
        ({"khai_sinh": {}}, "classify.catalogue must be a list of entries, not dict"),
    ],
    ids=lambda value: (
        re.sub(r"^catalogue entry.*?: ", "", value)[:40] if isinstance(value, str) else None
    ),
)
def test_bad_catalogue_is_refused_precisely(items: list[dict], message: str) -> None:
    with pytest.raises(SohoaError) as raised:
        load_catalogue(items)
    assert str(raised.value) == message


# -- classification ----------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(FIRST_PAGES))
def test_clean_form_is_classified_with_high_confidence(key: str) -> None:
    result = check(classify([FIRST_PAGES[key]], CATALOGUE))
    assert (result.procedure, result.method, result.reason) == (key, "rules", None)
    assert result.confidence >= 0.9


@pytest.mark.parametrize("key", sorted(FIRST_PAGES))
@pytest.mark.parametrize("damage", [strip_diacritics, ocr_damage, str.lower])
def test_damaged_form_is_still_classified(key: str, damage) -> None:
    result = check(classify([damage(FIRST_PAGES[key])], CATALOGUE))
    assert result.procedure == key
    assert result.confidence >= 0.85


@pytest.mark.parametrize("key", sorted(FIRST_PAGES))
def test_nfd_input_classifies_like_nfc(key: str) -> None:
    decomposed = unicodedata.normalize("NFD", FIRST_PAGES[key])
    assert classify([decomposed], CATALOGUE) == classify([FIRST_PAGES[key]], CATALOGUE)


@pytest.mark.parametrize("key", sorted(TESSERACT_TITLES))
def test_real_tesseract_damage_is_tolerated(key: str) -> None:
    result = check(classify([TESSERACT_TITLES[key]], CATALOGUE))
    assert result.procedure == key
    assert result.confidence >= REVIEW_THRESHOLD


def test_fuzzy_title_is_less_certain_than_a_clean_one() -> None:
    damaged = classify([TESSERACT_TITLES["ket_hon"]], CATALOGUE)
    clean = classify([FIRST_PAGES["ket_hon"]], CATALOGUE)
    assert damaged.confidence < clean.confidence


@pytest.mark.parametrize("key", sorted(FIRST_PAGES))
def test_attachments_do_not_sway_the_decision(key: str) -> None:
    pages = [FIRST_PAGES[key], ID_CARD_COPY, MARRIAGE_CERTIFICATE_COPY, RECEIPT]
    result = check(classify(pages, CATALOGUE))
    assert result.procedure == key
    assert result.confidence >= 0.85


def test_another_procedures_form_behind_page_one_does_not_win() -> None:
    # A birth registration often carries the parents' marriage papers.
    pages = [FIRST_PAGES["khai_sinh"], FIRST_PAGES["ket_hon"], MARRIAGE_CERTIFICATE_COPY]
    result = check(classify(pages, CATALOGUE))
    assert result.procedure == "khai_sinh"
    assert result.confidence >= 0.9
    permit = check(classify([FIRST_PAGES["giay_phep_xay_dung"], LAND_CERTIFICATE_COPY], CATALOGUE))
    assert (permit.procedure, permit.confidence >= 0.9) == ("giay_phep_xay_dung", True)


@pytest.mark.parametrize("damage", [nfc, strip_diacritics, ocr_damage])
def test_marital_status_form_is_not_a_marriage(damage) -> None:
    # The form says "chưa đăng ký kết hôn" and "để đăng ký kết hôn" under its own title.
    result = check(classify([damage(FIRST_PAGES["xac_nhan_hon_nhan"])], CATALOGUE))
    assert result.procedure == "xac_nhan_hon_nhan"
    assert result.confidence >= 0.85
    assert dict(result.candidates).get("ket_hon", 0.0) < 0.1


def test_blank_leading_page_is_skipped() -> None:
    result = check(classify(["", "  \n\x0c ", FIRST_PAGES["khai_tu"], ID_CARD_COPY], CATALOGUE))
    assert result.procedure == "khai_tu"
    assert result.confidence >= 0.9


def test_out_of_catalogue_document_is_khac_with_low_confidence() -> None:
    result = check(classify([LEAVE_REQUEST], CATALOGUE))
    assert (result.procedure, result.code, result.reason) == ("khac", None, None)
    assert result.confidence < REVIEW_THRESHOLD


def test_attachments_alone_are_not_enough() -> None:
    result = check(classify([ID_CARD_COPY, RECEIPT], CATALOGUE))
    assert result.procedure == "khac"
    assert result.confidence < REVIEW_THRESHOLD


def test_keywords_only_give_low_confidence() -> None:
    text = (
        "Ủy ban nhân dân phường Bến Nghé\nHồ sơ lưu\n"
        "Thửa đất số 12, tờ bản đồ số 3, diện tích thửa 80 m2, quyền sử dụng đất"
    )
    result = check(classify([text], CATALOGUE))
    assert result.procedure == "quyen_su_dung_dat"
    assert result.confidence < REVIEW_THRESHOLD


def test_two_titles_on_page_one_tie_and_go_to_review() -> None:
    text = HEADER + "TỜ KHAI ĐĂNG KÝ KHAI SINH\nTỜ KHAI ĐĂNG KÝ KHAI TỬ\nKính gửi: UBND phường"
    result = check(classify([text], CATALOGUE))
    assert {key for key, _ in result.candidates[:2]} == {"khai_sinh", "khai_tu"}
    assert result.confidence < REVIEW_THRESHOLD


@pytest.mark.parametrize("pages", [[], [""], ["   \n\n"], ["Trang 1", "", "Số: 15"]])
def test_no_text_is_reported(pages: list[str]) -> None:
    result = classify(pages, CATALOGUE)
    assert result == Classification("khac", None, 0.0, "rules", "no_text", ())


def test_patterns_match_exact_or_folded_text() -> None:
    items = [
        {
            "key": "trich_luc",
            "name": "Cấp bản sao trích lục hộ tịch",
            "level": "xa",
            # One expression for both forms: "ố" on the NFC text, "o" on the folded one.
            "patterns": [r"s[oố]:?\s*\d+\s*/?\s*tlks"],
        },
        {"key": "khac", "code": None, "name": "Khác", "level": "xa"},
    ]
    catalogue = load_catalogue(items)
    for text in ["TRÍCH LỤC KHAI SINH\nSố: 125/TLKS-BS", "TRICH LUC\nso 125 TLKS"]:
        result = classify([HEADER + text], catalogue)
        assert result.procedure == "trich_luc", text


@given(st.lists(st.text(max_size=300), max_size=4))
def test_any_text_gives_a_valid_classification(pages: list[str]) -> None:
    check(classify(pages, CATALOGUE))


def test_catalogue_is_a_value() -> None:
    # Records travel between processes (Dask); the catalogue must be hashable and comparable.
    assert isinstance(CATALOGUE, Catalogue)
    assert hash(CATALOGUE) == hash(load_catalogue(RAW_CATALOGUE))
