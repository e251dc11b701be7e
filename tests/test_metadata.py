"""NĐ 30/2020 dossier metadata: dates and document numbers read from OCR-noisy Vietnamese text,
the derived fields and where each came from, the XMP that carries them (signed, still PDF/A),
and file names by dossier code once the paper register links a record."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import unicodedata
from dataclasses import replace
from pathlib import Path

import pikepdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sohoa.archive import (
    DossierDefaults,
    RegisterEntry,
    SignerSpec,
    archive_file_name,
    build_xmp,
    check_pdfa,
    create_test_identity,
    original_revision,
    read_sohoa_fields,
    sign_pdf,
    verapdf,
    verify_signatures,
    with_metadata,
)
from sohoa.archive.dossier import derive_dossier, safe_file_part
from sohoa.archive.keys import TestIdentity as Identity
from sohoa.archive.textfacts import count_documents, find_dates, find_doc_numbers
from tests import pdfa_audit
from tests.conftest import events_per_record, invoke
from tests.test_archive import DEFAULTS, REGISTER, metadata

TODAY = dt.date(2026, 11, 27)


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Phường Bến Nghé, ngày 15 tháng 3 năm 2021", ["2021-03-15"]),
        ("Phuong Ben Nghe, ngay 15 thang 03 nam 2021", ["2021-03-15"]),  # tone marks dropped
        ("Hà Nội, ngảy 05 thảng 6 nãm 2019", ["2019-06-05"]),  # marks confused
        ("ngày lO tháng O4 năm 2O21", ["2021-04-10"]),  # digits read as letters
        ("ngày 1 tháng 12, năm 2020", ["2020-12-01"]),
        ("NGÀY 09 THÁNG 09 NĂM 2018", ["2018-09-09"]),
        ("ngày 31 tháng 2 năm 2021", []),  # no such day
        ("ngày 15 tháng 3 năm 2999", []),  # after the digitization day
        ("ngày 15 tháng 3 năm 1021", []),  # a misread year
        ("sinh ngày 12 tháng 5 năm 1985", []),  # a birth date, not the dossier's
        ("Ngày, tháng, năm sinh: 12/05/1985", []),
        ("Tờ khai đăng ký khai sinh ngày 02 tháng 4 năm 2021", ["2021-04-02"]),
        (
            "Ngày cấp: 15/03/2021 và 1-4-2020; 07.08.2019",
            ["2019-08-07", "2020-04-01", "2021-03-15"],
        ),
        ("Số 12/3 đường Lê Lợi; 123/2021/QĐ-UBND; 15/03/21", []),  # not dates
        ("15/03-2021", []),  # mixed separators
    ],
)
def test_dates_are_read_through_ocr_noise(text: str, expected: list[str]) -> None:
    assert [d.isoformat() for d in find_dates(text, TODAY)] == expected


def test_written_dates_win_over_form_field_dates() -> None:
    text = "Ngày cấp CCCD: 01/01/2015\nBến Nghé, ngày 20 tháng 7 năm 2021\nngày 3 tháng 8 năm 2021"
    assert find_dates(text, TODAY) == (dt.date(2021, 7, 20), dt.date(2021, 8, 3))


def test_decomposed_text_reads_like_composed() -> None:
    text = "Bến Nghé, ngày 15 tháng 3 năm 2021. Số: 15/QĐ-UBND"
    nfd = unicodedata.normalize("NFD", text)
    assert find_dates(nfd, TODAY) == find_dates(text, TODAY) == (dt.date(2021, 3, 15),)
    assert find_doc_numbers(nfd) == find_doc_numbers(text) == ("15/QĐ-UBND",)


_OCR_DIGITS = {"0": ["0", "O", "o"], "1": ["1", "l", "I"]}


def _noisy_digits(draw: st.DrawFn, number: str) -> str:
    return "".join(draw(st.sampled_from(_OCR_DIGITS.get(c, [c]))) for c in number)


@st.composite
def written_dates(draw: st.DrawFn) -> tuple[str, dt.date]:
    day = draw(st.dates(dt.date(1950, 1, 1), TODAY))
    words = draw(st.sampled_from([("ngày", "tháng", "năm"), ("ngay", "thang", "nam"),
                                  ("NGÀY", "THÁNG", "NĂM"), ("ngảy", "thảng", "nãm")]))  # fmt: skip
    pad = draw(st.booleans())
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if pad else (str(day.day), str(day.month))
    space = draw(st.sampled_from([" ", "  ", "\u00a0"]))
    y = _noisy_digits(draw, str(day.year))
    parts = [words[0], _noisy_digits(draw, d), words[1], _noisy_digits(draw, m), words[2], y]
    return draw(st.sampled_from(["Bến Nghé, ", "", "Quận 1 "])) + space.join(parts), day


@given(written_dates(), st.sampled_from(["", "Số: 15/QĐ-UBND\n", "Kính gửi: UBND\n"]))
@settings(max_examples=300, deadline=None)
def test_any_written_date_with_ocr_noise_is_found(case: tuple[str, dt.date], before: str) -> None:
    text, day = case
    assert find_dates(before + text, TODAY) == (day,)


@given(st.dates(dt.date(1900, 1, 1), TODAY), st.sampled_from("/.-"), st.booleans())
@settings(max_examples=200, deadline=None)
def test_any_numeric_date_is_found(day: dt.date, sep: str, pad: bool) -> None:
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if pad else (str(day.day), str(day.month))
    assert find_dates(f"Ngày cấp: {d}{sep}{m}{sep}{day.year}", TODAY) == (day,)


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_gives_only_plausible_dates(text: str) -> None:
    found = find_dates(text, TODAY)
    assert list(found) == sorted(set(found))
    assert all(dt.date(1900, 1, 1) <= day <= TODAY for day in found)
    find_doc_numbers(text)  # never raises
    count_documents([text])


# --- document numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Số: 15/QĐ-UBND", ["15/QĐ-UBND"]),
        ("Số: 123/2021/QĐ-UBND", ["123/2021/QĐ-UBND"]),
        ("Sô:15 / QĐ - UBND", ["15/QĐ-UBND"]),  # OCR: mark confused, spaces added
        ("S6: 7/TTr-UBND", ["7/TTr-UBND"]),  # "ố" read as 6
        ("Số 01/2019/TT-BNV; SỐ: 9/CT-TTg", ["01/2019/TT-BNV", "9/CT-TTg"]),
        ("Số: 2O/QĐ-UBND", ["20/QĐ-UBND"]),
        ("Số: 15/QD-UBND", ["15/QD-UBND"]),  # Đ read as D is kept as read
        ("Số: 15/QĐ-UBND ... Số: 15/QĐ-UBND", ["15/QĐ-UBND"]),  # once
        ("Số 12/3 đường Lê Lợi", []),  # an address
        ("Số 7/Ngõ 5", []),
        ("quyển số 01/SCT/BS", []),  # a register book, lower-case "số"
        ("Số định danh cá nhân: 079201000123", []),
        ("Số: 0/QĐ-UBND", []),
    ],
)
def test_document_numbers(text: str, expected: list[str]) -> None:
    assert list(find_doc_numbers(text)) == expected


_SYMBOLS = st.lists(
    st.from_regex(r"[A-ZĐ]{2,5}[a-z]?", fullmatch=True), min_size=1, max_size=3
).map("-".join)


@given(st.integers(1, 99999), st.none() | st.integers(1950, 2026), _SYMBOLS,
       st.sampled_from([": ", ":", " ", " : "]))  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_any_document_number_is_found(number: int, year: int | None, symbol: str, colon: str):
    expected = "/".join(str(p) for p in (number, year, symbol) if p is not None)
    assert find_doc_numbers(f"UBND QUẬN 1\nSố{colon}{expected}\nV/v cấp giấy") == (expected,)


def test_documents_are_counted_by_the_national_motto() -> None:
    form = "UBND PHƯỜNG BẾN NGHÉ      CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do"
    noisy = "CONG HOA XA HOI CHU NGHIA VIET NAM\nDoc lap - Tu do - Hanh phuc"
    id_card = "CĂN CƯỚC CÔNG DÂN\nSố: 079201000123"
    late = "\n".join(["dòng"] * 20 + ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"])  # not a heading
    assert count_documents([form, id_card, noisy, late, ""]) == 2


# --- the dossier fields ------------------------------------------------------------------------

TEXTS = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nSố: 15/QĐ-UBND\nBến Nghé, ngày 15 tháng 3 năm 2021",
    "Ngày, tháng, năm sinh: 12/05/1985\nCĂN CƯỚC CÔNG DÂN",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nSố: 123/2021/QĐ-UBND\nngày 02 tháng 4 năm 2021",
]


def _derive(texts: list[str], register: RegisterEntry | None, **changes):
    facts = replace(metadata().facts, page_texts=tuple(texts),
                    digitized_at=dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC))  # fmt: skip
    return derive_dossier(facts, replace(DEFAULTS, **changes), register)


def test_linked_dossier_takes_the_register_config_and_text() -> None:
    dossier = _derive(TEXTS, REGISTER)
    assert dossier.nd30() == {
        "FileCode": "G09.2021.01.015",
        "Title": "Hồ sơ khai sinh Nguyễn Thị Hồng",
        "Maintenance": "Vĩnh viễn",
        "Rights": "Hạn chế sử dụng",
        "Creator": "UBND phường Bến Nghé",
        "Language": "vi",
        "StartDate": "2021-03-15",
        "EndDate": "2021-04-02",
        "DocTotal": 2,
        "PageTotal": 3,
        "Description": "Đăng ký khai sinh (1.001193). Số, ký hiệu văn bản: 15/QĐ-UBND, "
        "123/2021/QĐ-UBND",
    }
    assert dossier.sources == {
        "FileCode": "register", "Title": "register", "Maintenance": "config",
        "Rights": "config", "Creator": "config", "Language": "config", "StartDate": "ocr",
        "EndDate": "ocr", "DocTotal": "ocr", "PageTotal": "pages",
        "Description": "procedure+ocr", "Organ": "register",
    }  # fmt: skip
    assert dossier.organ == "Phường Bến Nghé" and dossier.order_number == 1


def test_unlinked_dossier_falls_back_to_procedure_and_defaults() -> None:
    blank = _derive(["", "  "], None, maintenance_by_procedure=(("khai_sinh", "70 năm"),))
    assert blank.file_code is None and blank.order_number is None
    assert blank.title == "Đăng ký khai sinh: HS-2021-000001"
    assert (blank.start_date, blank.end_date, blank.doc_total) == (None, None, 1)
    assert blank.maintenance == "70 năm"
    assert blank.sources["StartDate"] == "none" and blank.sources["DocTotal"] == "default"
    assert blank.sources["Maintenance"] == "config:procedure"


def test_register_year_stands_in_when_the_text_has_no_date() -> None:
    dossier = _derive(["Số: 15/QĐ-UBND"], REGISTER)
    assert (dossier.start_date, dossier.end_date) == ("2021", "2021")
    assert dossier.sources["StartDate"] == "register"


def test_long_titles_are_cut_to_the_nd30_limit() -> None:
    dossier = _derive([], replace(REGISTER, title="Hồ sơ " * 200))
    assert len(dossier.title) == 500 and dossier.title.endswith("…")


def test_file_names_follow_the_dossier_code_rule() -> None:
    linked = _derive([], REGISTER)
    assert archive_file_name("0123456789abcdef", linked) == "G09.2021.01.015.001.pdf"
    assert archive_file_name("0123", replace(linked, order_number=12)) == "G09.2021.01.015.012.pdf"
    assert archive_file_name("0123456789abcdef", _derive([], None)) == "0123456789abcdef.pdf"
    assert safe_file_part("../HS/2021:1") == "_HS_2021_1"
    assert safe_file_part("Hồ-sơ.01") == "Hồ-sơ.01"


def test_defaults_come_from_the_archive_section_of_the_config() -> None:
    defaults = DossierDefaults.from_config(
        {"agency": "UBND X", "maintenance": "Vĩnh viễn", "rights": "Công khai",
         "maintenance_by_procedure": {"khai_tu": "50 năm"}}
    )  # fmt: skip
    assert defaults == DossierDefaults("UBND X", "Vĩnh viễn", "Công khai", "vi",
                                       (("khai_tu", "50 năm"),))  # fmt: skip


# --- XMP, signing, PDF/A -------------------------------------------------------------------------


def test_xmp_carries_the_fields_in_dc_pdf_and_the_sohoa_namespace(unsigned_pdf: bytes) -> None:
    with pikepdf.open(io.BytesIO(unsigned_pdf)) as pdf:
        meta = pdf.open_metadata()
        fields = read_sohoa_fields(pdf.Root.Metadata.read_bytes())
        assert meta["dc:title"] == "Hồ sơ khai sinh Nguyễn Thị Hồng"
        assert meta["dc:creator"] == ["UBND phường Bến Nghé"]
        assert meta["dc:rights"] == "Hạn chế sử dụng"
        assert meta["dc:language"] == {"vi"}
        assert meta["dc:date"] == ["2021-03-15"]
        assert meta["dc:description"].startswith("Đăng ký khai sinh (1.001193). Số, ký hiệu")
        assert meta["pdf:Keywords"] == "Đăng ký khai sinh; 1.001193; G09.2021.01.015; 15/QĐ-UBND"
    assert {k: fields[k] for k in ("FileCode", "OrderNumber", "Maintenance", "StartDate",
                                   "EndDate", "DocTotal", "DocNumbers", "Organ")} == {
        "FileCode": "G09.2021.01.015", "OrderNumber": "1", "Maintenance": "Vĩnh viễn",
        "StartDate": "2021-03-15", "EndDate": "2021-03-15", "DocTotal": "1",
        "DocNumbers": "15/QĐ-UBND", "Organ": "Phường Bến Nghé",
    }  # fmt: skip


def test_unlinked_record_leaves_absent_fields_out_of_the_xmp() -> None:
    xmp = build_xmp(replace(metadata(), dossier=_derive([""], None)))
    fields = read_sohoa_fields(xmp)
    assert "FileCode" not in fields and "StartDate" not in fields and "OrderNumber" not in fields
    assert fields["DocTotal"] == "1" and b"dc:date" not in xmp


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Identity:
    return create_test_identity(tmp_path_factory.mktemp("keys"), "UBND phường Bến Nghé")


def test_metadata_rewritten_after_signing_is_signed_again_and_still_pdfa(
    unsigned_pdf: bytes, identity: Identity, tmp_path: Path
) -> None:
    spec = SignerSpec(identity.pkcs12, identity.passphrase_file.read_bytes().strip())
    signed = sign_pdf(unsigned_pdf, spec)
    assert original_revision(signed) == unsigned_pdf  # signing only appended
    later = replace(metadata(register=replace(REGISTER, order_number=2, title="Tiêu đề mới")),
                    metadata_date=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))  # fmt: skip
    rebuilt = with_metadata(original_revision(signed), later)
    paths = {"signed": tmp_path / "signed.pdf", "rebuilt": tmp_path / "rebuilt.pdf",
             "resigned": tmp_path / "resigned.pdf"}  # fmt: skip
    paths["signed"].write_bytes(signed)
    paths["rebuilt"].write_bytes(rebuilt)
    paths["resigned"].write_bytes(sign_pdf(rebuilt, spec))
    pdfa_audit.register(*paths.values())
    with pikepdf.open(paths["resigned"]) as pdf:
        fields = read_sohoa_fields(pdf.Root.Metadata.read_bytes())
        assert pdf.open_metadata()["dc:title"] == "Tiêu đề mới"
        assert pdf.open_metadata()["xmp:MetadataDate"].startswith("2026-12-01")
        with pikepdf.open(io.BytesIO(unsigned_pdf)) as before:
            assert len(pdf.pages) == len(before.pages)
            assert pdf.pages[0].Contents.read_bytes() == before.pages[0].Contents.read_bytes()
    assert fields["OrderNumber"] == "2" and fields["FileCode"] == "G09.2021.01.015"
    [check] = verify_signatures(paths["resigned"], [identity.certificate])
    assert check.intact and check.valid and check.covers_whole_file
    with pytest.raises(ValueError, match="never signed"):
        original_revision(unsigned_pdf)
    if not verapdf.available():
        pytest.skip("veraPDF not installed: run 'make verapdf'")
    verdicts = check_pdfa(list(paths.values()))
    assert {p.name: v.failures for p, v in verdicts.items() if not v.compliant} == {}


# --- the register names the archived files ---------------------------------------------------


def _export() -> dict[str, dict]:
    rows = [json.loads(line) for line in invoke("export").output.splitlines()]
    return {row["source"]: row for row in rows}


def _inventory(batch: Path) -> dict[str, dict[str, str]]:
    with (batch / "_inventory.csv").open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


@pytest.mark.slow
def test_the_register_names_archived_files_by_dossier_code_and_order(
    initialised, workdir: Path
) -> None:
    settings = initialised
    assert invoke("sample", "scans", "--records", "2", "--seed", "5", "--dpi", "150").exit_code == 0
    register = _inventory(workdir / "scans")
    assert invoke("inventory", "import", "scans/_inventory.csv").exit_code == 0
    result = invoke("run", "scans", "--batch", "box-1", "--workers", "1")
    assert result.exit_code == 0, result.output
    rows = _export()
    trust = [settings.keys_dir / "test-signer.pem"]
    for source, row in rows.items():
        code = Path(source).stem if Path(source).suffix else source
        assert Path(row["output"]).name == f"{code}.001.pdf"
        assert row["dossier"]["FileCode"] == code
        assert row["dossier"]["Title"] == register[code]["title"]
        assert row["metadata"]["sources"]["Title"] == "register"
        assert row["metadata"]["order_number"] == 1
        with pikepdf.open(row["output"]) as pdf:
            fields = read_sohoa_fields(pdf.Root.Metadata.read_bytes())
        assert (fields["FileCode"], fields["OrderNumber"]) == (code, "1")
        [signature] = verify_signatures(Path(row["output"]), trust)
        assert signature.intact and signature.trusted
    assert sorted(p.name for p in settings.archive_dir.rglob("*.pdf")) == sorted(
        Path(row["output"]).name for row in rows.values()
    )
    # The register was there before the run: each file was built and signed once, already
    # under its final name (sohoa.pipeline.naming), and the register step rebuilt nothing.
    once = {row["record_id"]: 1 for row in rows.values()}
    assert events_per_record(settings, "pdfa") == once
    assert events_per_record(settings, "sign") == once

    # The same dossier scanned again with one more page, in another batch: the next number.
    first = next(source for source in sorted(rows) if (workdir / "scans" / source).is_dir())
    again = workdir / "again"
    shutil.copytree(workdir / "scans" / first, again / first)
    page = sorted((again / first).iterdir())[0]
    shutil.copy(page, again / first / f"zz-{page.name}")
    result = invoke("run", "again", "--batch", "box-2", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert invoke("link").exit_code == 0
    outputs = sorted(Path(row["output"]).name for row in
                     [json.loads(line) for line in invoke("export").output.splitlines()]
                     if row["source"] == first)  # fmt: skip
    assert outputs == [f"{first}.001.pdf", f"{first}.002.pdf"]

    # Applying the register again changes nothing: no file is rewritten.
    before = {p: p.read_bytes() for p in settings.archive_dir.rglob("*.pdf")}
    assert invoke("link").exit_code == 0
    assert {p: p.read_bytes() for p in settings.archive_dir.rglob("*.pdf")} == before
    verified = invoke("verify", "--format", "json")
    assert verified.exit_code == 0, verified.output
