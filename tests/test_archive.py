"""Archive: a real tesseract text layer in a PDF/A-2b that veraPDF accepts, signed with
pyHanko, still PDF/A, and verifiable; bad keys are refused before any work."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from sohoa.archive import (
    RecordMetadata,
    SignerSpec,
    check_pdfa,
    create_test_identity,
    load_signer,
    read_sohoa_fields,
    sign_pdf,
    verapdf,
    verify_signatures,
)
from sohoa.errors import SohoaError

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


def metadata(page_total: int = 1) -> RecordMetadata:
    return RecordMetadata(
        record_id="0123456789abcdef",
        batch="box-001",
        source_path="HS-2021-000001",
        source_sha256="ab" * 32,
        title="Đăng ký khai sinh: HS-2021-000001",
        procedure="khai_sinh",
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        language="vi",
        agency="UBND phường Bến Nghé",
        page_total=page_total,
        digitized_at=dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC),
        ocr_engine="tesseract test",
        producer="sohoa test",
    )


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
        assert meta["dc:title"] == "Đăng ký khai sinh: HS-2021-000001"
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
