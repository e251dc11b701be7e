"""PAdES levels B-B, B-T, B-LT, B-LTA against a local test PKI with a real RFC 3161 TSA and
real CRLs: each validates, stays PDF/A-2b, and takes a reviewer's second signature."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from asn1crypto import crl as asn1_crl
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError

from sohoa.archive import (
    SignerSpec,
    check_pdfa,
    check_spec,
    load_signer,
    sign_pdf,
    verapdf,
    verify_signatures,
)
from sohoa.archive.verify import file_problems
from sohoa.errors import SohoaError
from tests import pdfa_audit
from tests.pki import Pki
from tests.seal import draw_seal

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
AGENCY = "UBND phường Bến Nghé"


def signer_spec(pki: Pki, level: str = "B-B", **changes: object) -> SignerSpec:
    spec = SignerSpec(
        pki.signer_p12,
        pki.passphrase,
        level=level,
        tsa_url=pki.tsa_url,
        trust_roots=(pki.root_pem,),
        agency=AGENCY,
    )
    return replace(spec, **changes)


@pytest.fixture(scope="module")
def signed(
    pki: Pki, unsigned_pdf: bytes, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """One signed file per level, one B-T file with the visible stamp, one B-LTA with the seal."""
    folder = tmp_path_factory.mktemp("signed")
    files = {}
    for level in LEVELS:
        files[level] = folder / f"{level}.pdf"
        files[level].write_bytes(sign_pdf(unsigned_pdf, signer_spec(pki, level)))
    files["stamp"] = folder / "stamp.pdf"
    files["stamp"].write_bytes(sign_pdf(unsigned_pdf, signer_spec(pki, "B-T", visible_stamp=True)))
    seal = draw_seal(folder / "seal.png")
    files["seal"] = folder / "seal.pdf"
    files["seal"].write_bytes(sign_pdf(unsigned_pdf, signer_spec(pki, "B-LTA", seal_image=seal)))
    (folder / "unsigned.pdf").write_bytes(unsigned_pdf)
    pdfa_audit.register(folder / "unsigned.pdf", *files.values())
    return files


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_validates_against_the_test_root(
    level: str, signed: dict[str, Path], pki: Pki
) -> None:
    checks = verify_signatures(signed[level], [pki.root_pem])
    signature = checks[0]
    assert signature.kind == "signature" and signature.field == "SohoaDigitization"
    assert signature.intact and signature.valid and signature.trusted, signature
    assert "Bến Nghé" in signature.signer
    assert signature.timestamp_ok is (None if level == "B-B" else True)
    if level == "B-LTA":
        [timestamp] = checks[1:]
        assert timestamp.kind == "timestamp" and timestamp.ok and "TSA" in timestamp.signer
    else:
        assert len(checks) == 1
    assert file_problems(signed[level], None, [pki.root_pem]) == []


def _dss(path: Path) -> DocumentSecurityStore | None:
    with path.open("rb") as handle:
        try:
            return DocumentSecurityStore.read_dss(PdfFileReader(handle))
        except NoDSSFoundError:
            return None


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_embed_the_crls_in_a_dss(
    level: str, signed: dict[str, Path], pki: Pki
) -> None:
    dss = _dss(signed[level])
    assert dss is not None
    crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    issuers = {c["tbs_cert_list"]["issuer"].native["common_name"] for c in crls}
    assert issuers == {"sohoa TEST Root CA", "sohoa TEST Issuing CA"}
    subjects = {cert.subject.native["common_name"] for cert in dss.load_certs()}
    assert {"sohoa TEST Issuing CA", "sohoa TEST TSA"} <= subjects


@pytest.mark.parametrize("level", ["B-B", "B-T"])
def test_short_term_levels_have_no_dss(level: str, signed: dict[str, Path]) -> None:
    assert _dss(signed[level]) is None


def test_signed_files_still_claim_and_pass_pdfa_2b(signed: dict[str, Path]) -> None:
    for path in signed.values():
        with pikepdf.open(path) as pdf:
            meta = pdf.open_metadata()
            assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
    if not verapdf.available():
        pytest.skip("veraPDF not installed: run 'make verapdf'")
    verdicts = check_pdfa(list(signed.values()))
    failing = {p.name: v.failures for p, v in verdicts.items() if not v.compliant}
    assert not failing


def test_visible_stamp_shows_agency_and_iso_time_top_right(signed: dict[str, Path]) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(signed["stamp"]), "-"], capture_output=True, text=True
    ).stdout
    assert AGENCY in text
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", text)
    with pikepdf.open(signed["stamp"]) as pdf:
        page = pdf.pages[0]
        [widget] = [a for a in page.Annots if a.get("/FT") == "/Sig" or "/Parent" in a]
        *_, urx, ury = (float(v) for v in widget.Rect)
        width, height = (float(v) for v in page.MediaBox[2:])
        assert urx > width * 0.6 and ury > height * 0.9  # top right
        fonts = widget.AP.N.Resources.Font
        [font] = list(fonts.values())
        [descendant] = font.DescendantFonts
        assert "NotoSerif" in str(descendant.BaseFont)
        assert (
            "/FontFile2" in descendant.FontDescriptor or "/FontFile3" in descendant.FontDescriptor
        )


def _page_one(path: Path, dpi: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "page"
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(path),
             str(prefix)],
            check=True,
        )  # fmt: skip
        return np.asarray(Image.open(f"{prefix}.png").convert("RGB")).astype(int)


def test_the_seal_is_drawn_top_right_at_its_real_size(signed: dict[str, Path]) -> None:
    """Rendered at 72 dpi a point is a pixel: the red of the seal spans 36 mm."""
    pixels = _page_one(signed["seal"], 72)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    rows, columns = np.nonzero((red > 150) & (green < 90) & (blue < 90))
    assert rows.size, "no red seal on page 1"
    width, height = columns.max() - columns.min() + 1, rows.max() - rows.min() + 1
    expected = 36 * 72 / 25.4  # 102 pt
    assert abs(width - expected) <= 3 and abs(height - expected) <= 3, (width, height)
    page_height, page_width = pixels.shape[:2]
    assert columns.min() > page_width * 0.35 and rows.max() < page_height / 4  # top right
    text = subprocess.run(
        ["pdftotext", "-layout", str(signed["seal"]), "-"], capture_output=True, text=True
    ).stdout
    assert AGENCY in text
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", text), text[-300:]


def test_a_seal_without_transparency_is_refused(pki: Pki, tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (50, 50), (200, 16, 30)).save(flat)
    with pytest.raises(SohoaError, match="must be a PNG with a transparent background"):
        check_spec(signer_spec(pki, seal_image=flat))


def test_a_reviewers_second_signature_keeps_the_first_valid(
    signed: dict[str, Path], pki: Pki, tmp_path: Path
) -> None:
    reviewer = signer_spec(pki, "B-T", pkcs12=pki.reviewer_p12, field_name="Reviewer")
    both = tmp_path / "reviewed.pdf"
    both.write_bytes(sign_pdf(signed["B-LT"].read_bytes(), reviewer))
    pdfa_audit.register(both)
    first, second = verify_signatures(both, [pki.root_pem])
    assert first.field == "SohoaDigitization" and second.field == "Reviewer"
    assert first.ok and second.ok and second.covers_whole_file
    assert first.modification == "FORM_FILLING"
    assert file_problems(both, None, [pki.root_pem]) == []


def _one_line(exc: pytest.ExceptionInfo[SohoaError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


def test_expired_signer_certificate_is_refused(pki: Pki) -> None:
    with pytest.raises(SohoaError) as exc:
        load_signer(signer_spec(pki, pkcs12=pki.expired_p12))
    assert "expired on" in _one_line(exc)


def test_wrong_passphrase_is_refused_without_echoing_it(pki: Pki) -> None:
    secret = b"hunter2-this-is-not-it"
    with pytest.raises(SohoaError) as exc:
        load_signer(signer_spec(pki, passphrase=secret))
    message = _one_line(exc)
    assert "wrong passphrase" in message and secret.decode() not in message
    assert pki.passphrase.decode() not in message
    assert secret.decode() not in repr(signer_spec(pki, passphrase=secret))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"level": "B-T", "tsa_url": None}, "needs a timestamp server: set signing.tsa_url"),
        ({"level": "B-LTA", "tsa_url": None}, "signing.tsa_url"),
        ({"level": "PAdES-XL"}, "signing.level 'PAdES-XL' is unknown"),
        ({"level": "B-LT", "trust_roots": ()}, "needs signing.trust_roots"),
        ({"tsa_url": "ftp://example"}, "not an http(s) URL"),
    ],
)
def test_misconfiguration_is_one_clear_line(
    pki: Pki, unsigned_pdf: bytes, changes: dict, expected: str
) -> None:
    spec = signer_spec(pki, **changes)
    for call in (lambda: load_signer(spec), lambda: sign_pdf(unsigned_pdf, spec)):
        with pytest.raises(SohoaError) as exc:
            call()
        assert expected in _one_line(exc)


def test_default_is_b_b_without_network(pki: Pki, unsigned_pdf: bytes, tmp_path: Path) -> None:
    spec = SignerSpec(pki.signer_p12, pki.passphrase)
    assert spec.level == "B-B" and spec.tsa_url is None and not spec.visible_stamp
    out = tmp_path / "default.pdf"
    out.write_bytes(sign_pdf(unsigned_pdf, spec))
    pdfa_audit.register(out)
    [check] = verify_signatures(out, [pki.root_pem])
    assert check.ok and check.timestamp_ok is None and check.covers_whole_file


def test_unreachable_tsa_is_a_clear_error(pki: Pki, unsigned_pdf: bytes) -> None:
    spec = signer_spec(pki, "B-T", tsa_url="http://127.0.0.1:9/tsa", tsa_timeout_s=2)
    with pytest.raises(SohoaError) as exc:
        sign_pdf(unsigned_pdf, spec)
    assert "timestamp server http://127.0.0.1:9/tsa did not answer" in _one_line(exc)
