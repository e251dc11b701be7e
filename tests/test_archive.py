"""Archive: a real tesseract text layer in a PDF/A-2b that veraPDF accepts, signed with
pyHanko, still PDF/A, and verifiable; bad keys are refused before any work."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from sohoa.archive import (
    DossierDefaults,
    RecordFacts,
    RecordMetadata,
    RegisterEntry,
    SignerSpec,
    check_pdfa,
    create_test_identity,
    load_signer,
    read_sohoa_fields,
    record_metadata,
    sign_pdf,
    structure,
    verapdf,
    verify_signatures,
)
from sohoa.errors import SohoaError
from tests import pdfa_audit

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
TITLE = "TỜ KHAI ĐĂNG KÝ KHAI SINH"


def form_page(dpi: int = 150) -> np.ndarray:
    width, height = int(8.27 * dpi), int(11.69 * dpi)
    image = Image.new("RGB", (width, height), (250, 246, 236))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, int(dpi * 0.2))
    lines = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", TITLE, "Họ, chữ đệm, tên: Nguyễn Thị Hồng"]
    for n, line in enumerate(lines):
        draw.text((int(dpi * 0.8), int(dpi * (1 + n * 0.5))), line, font=font, fill=(25, 25, 25))
    return np.asarray(image)


PAGE_TEXT = """UBND QUẬN 1 CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Số: 15/QĐ-UBND Độc lập - Tự do - Hạnh phúc
Phường Bến Nghé, ngày 15 tháng 3 năm 2021"""
DEFAULTS = DossierDefaults(
    creator="UBND phường Bến Nghé", maintenance="Vĩnh viễn", rights="Hạn chế sử dụng", language="vi"
)
REGISTER = RegisterEntry("G09.2021.01.015", "Hồ sơ khai sinh Nguyễn Thị Hồng", "Phường Bến Nghé",
                         2021, 1, order_number=1)  # fmt: skip


def metadata(page_total: int = 1, register: RegisterEntry | None = REGISTER) -> RecordMetadata:
    facts = RecordFacts(
        record_id="0123456789abcdef",
        batch="box-001",
        source_path="HS-2021-000001",
        source_sha256="ab" * 32,
        procedure="khai_sinh",
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        page_texts=(PAGE_TEXT,) * page_total,
        digitized_at=dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC),
        ocr_engine="tesseract test",
    )
    return record_metadata(facts, DEFAULTS, register, producer="sohoa test")


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory):
    return create_test_identity(tmp_path_factory.mktemp("keys"), "UBND phường Bến Nghé")


@pytest.fixture(scope="module")
def spec(identity) -> SignerSpec:
    return SignerSpec(identity.pkcs12, identity.passphrase_file.read_bytes().strip())


def test_pdfa_has_the_scan_the_text_layer_and_the_metadata(unsigned_pdf: bytes) -> None:
    with pikepdf.open(io.BytesIO(unsigned_pdf)) as pdf:
        assert len(pdf.pages) == 1
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == "Hồ sơ khai sinh Nguyễn Thị Hồng"
        assert "/OutputIntents" in pdf.Root
        [image] = pdf.pages[0].get_images().values()
        assert image.Filter == pikepdf.Name.DCTDecode and image.ColorSpace == pikepdf.Name.DeviceRGB
        fields = read_sohoa_fields(pdf.Root.Metadata.read_bytes())
    assert fields["Procedure"] == "khai_sinh" and fields["ProcedureCode"] == "1.001193"
    assert fields["SourceSha256"] == "ab" * 32 and fields["PageTotal"] == "1"


def _pdftotext(path: Path) -> str:
    import subprocess

    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


def test_signed_file_is_valid_pdfa_with_a_trusted_signature_and_copyable_text(
    tmp_path: Path, unsigned_pdf: bytes, spec: SignerSpec, identity
) -> None:
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(unsigned_pdf)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign_pdf(unsigned_pdf, spec))
    pdfa_audit.register(unsigned, signed)

    [check] = verify_signatures(signed, [identity.certificate])
    assert check.intact and check.valid and check.trusted and check.covers_whole_file
    assert "TEST" in check.signer
    with pikepdf.open(signed) as pdf:  # pyHanko rewrites the XMP when it signs
        fields = read_sohoa_fields(pdf.Root.Metadata.read_bytes())
    assert fields["Procedure"] == "khai_sinh" and fields["RecordId"] == "0123456789abcdef"
    text = " ".join(_pdftotext(signed).split())
    assert "KHAI SINH" in text and "Nguyễn" in text
    if not verapdf.available():
        pytest.skip("veraPDF not installed: run 'make verapdf'")
    verdicts = check_pdfa([unsigned, signed])
    assert all(v.compliant for v in verdicts.values()), verdicts
    assert verdicts[signed].validator.startswith("veraPDF")


def test_untrusted_signer_is_reported(
    tmp_path: Path, unsigned_pdf: bytes, spec: SignerSpec
) -> None:
    other = create_test_identity(tmp_path / "other", "someone else")
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign_pdf(unsigned_pdf, spec))
    [check] = verify_signatures(signed, [other.certificate])
    assert check.intact and not check.trusted


def test_wrong_passphrase_is_a_clear_user_error(identity) -> None:
    with pytest.raises(SohoaError, match="wrong passphrase"):
        load_signer(SignerSpec(identity.pkcs12, b"not the passphrase"))


def test_missing_key_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(SohoaError, match="sohoa init"):
        load_signer(SignerSpec(tmp_path / "nope.p12", b"x"))


def test_veraPDF_names_the_rule_a_broken_file_breaks(tmp_path: Path, unsigned_pdf: bytes) -> None:
    if not verapdf.available():
        pytest.skip("veraPDF not installed: run 'make verapdf'")
    with pikepdf.open(io.BytesIO(unsigned_pdf)) as pdf:
        del pdf.Root.OutputIntents
        broken = tmp_path / "no-intent.pdf"
        pdf.save(broken)
    [verdict] = check_pdfa([broken]).values()
    assert not verdict.compliant
    assert any(failure.startswith("6.2.4") for failure in verdict.failures), verdict.failures


def test_quick_check_runs_without_verapdf_and_says_so(
    tmp_path: Path, unsigned_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(verapdf.LIB_ENV, str(tmp_path / "no-verapdf"))
    good = tmp_path / "good.pdf"
    good.write_bytes(unsigned_pdf)
    with pikepdf.open(io.BytesIO(unsigned_pdf)) as pdf:
        del pdf.Root.OutputIntents
        pdf.pages[0].Resources.Font = pikepdf.Dictionary(
            F9=pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                  BaseFont=pikepdf.Name.Helvetica)
        )  # fmt: skip
        broken = tmp_path / "broken.pdf"
        pdf.save(broken)
    verdicts = check_pdfa([good, broken])
    assert {v.validator for v in verdicts.values()} == {"pikepdf quick check"}
    assert verdicts[good].compliant and verdicts[good].failures == ()
    assert not verdicts[broken].compliant
    assert verdicts[broken].failures == ("no OutputIntent", "fonts not embedded: Helvetica")


def test_structure_check_passes_a_signed_file_and_names_what_is_wrong(
    tmp_path: Path, unsigned_pdf: bytes, spec: SignerSpec
) -> None:
    assert re.fullmatch(r"libqpdf \d+\.\d+(\.\d+)?", structure.VALIDATOR)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign_pdf(unsigned_pdf, spec))
    assert structure.check(signed) == structure.StructureCheck(True, ())
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(signed.read_bytes()[:30000])
    found = structure.check(damaged)
    assert not found.ok and "file is damaged" in found.messages
    assert all(str(damaged) not in message for message in found.messages)
    gone = structure.check(tmp_path / "gone.pdf")
    assert gone.messages == ("cannot open: No such file or directory",)


def test_structure_check_decodes_the_page_images(
    tmp_path: Path, unsigned_pdf: bytes, spec: SignerSpec
) -> None:
    """A page image whose JPEG data was overwritten fails, as `qpdf --check` would fail it
    (qpdf 11.3 lets this one pass: it found the damage only when most of the data was gone)."""
    signed = sign_pdf(unsigned_pdf, spec)
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        images = [o for o in pdf.objects if isinstance(o, pikepdf.Stream)]
        jpeg = next(o for o in images if o.get("/Filter") == "/DCTDecode").read_raw_bytes()
    start = signed.index(jpeg[:64]) + len(jpeg) // 2
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(signed[:start] + bytes(2000) + signed[start + 2000 :])
    found = structure.check(damaged)
    assert not found.ok
    assert any("JPEG data is corrupt" in message for message in found.messages)
