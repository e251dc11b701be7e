"""Tampering with a signed PDF/A is caught, each with the word `sohoa verify` reports:
`sohoa.archive.verify.file_problems`, the per-file logic meant for `sohoa verify`."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from sohoa.archive import SignerSpec, sign_pdf
from sohoa.archive.verify import file_problems
from tests.pki import Pki

NEW_TEXT = b"BT /F1 12 Tf 72 720 Td (Nguyen Van Gia Mao) Tj ET"


@pytest.fixture(scope="module")
def signed(pki: Pki, unsigned_pdf: bytes) -> bytes:
    """A B-LT file, the most demanding for the verifier: a DSS update follows the signature."""
    spec = SignerSpec(
        pki.signer_p12, pki.passphrase, level="B-LT", tsa_url=pki.tsa_url,
        trust_roots=(pki.root_pem,),
    )  # fmt: skip
    return sign_pdf(unsigned_pdf, spec)


def problems(pki: Pki, path: Path, original: bytes) -> list[str]:
    found = file_problems(path, hashlib.sha256(original).hexdigest(), [pki.root_pem])
    return [problem.split(":")[0] for problem in found]


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    return path


def test_untouched_file_has_no_problem(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    assert problems(pki, write(tmp_path, signed), signed) == []


def test_one_byte_changed_in_the_page_image(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    start = signed.index(b"\xff\xd8\xff")  # the JPEG of page 1
    tampered = bytearray(signed)
    tampered[start + 2000] ^= 0x01
    found = problems(pki, write(tmp_path, bytes(tampered)), signed)
    assert found == ["sha256_mismatch", "signature_broken"]


def _text_layer_stream(pdf: pikepdf.Pdf) -> pikepdf.Stream:
    """The tesseract text layer: a form XObject that `build_pdfa` overlays on the scan."""
    forms = pdf.pages[0].Resources.XObject.values()
    return next(f for f in forms if f.Subtype == "/Form" and b"BT" in f.read_bytes())


def test_text_layer_replaced_and_file_rewritten(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        _text_layer_stream(pdf).write(NEW_TEXT)
        out = io.BytesIO()
        pdf.save(out)
    found = problems(pki, write(tmp_path, out.getvalue()), signed)
    assert found == ["sha256_mismatch", "signature_broken"]


def test_text_layer_replaced_in_an_incremental_update(
    pki: Pki, signed: bytes, tmp_path: Path
) -> None:
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        objgen = _text_layer_stream(pdf).objgen
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    idnum, generation = objgen
    old = writer.prev.get_object(generic.Reference(idnum, generation, writer.prev))
    kept = {k: v for k, v in old.items() if k not in ("/Filter", "/Length", "/DecodeParms")}
    writer.objects[(generation, idnum)] = generic.StreamObject(kept, stream_data=NEW_TEXT)
    out = io.BytesIO()
    writer.write(out)
    found = problems(pki, write(tmp_path, out.getvalue()), signed)
    assert found == ["sha256_mismatch", "modified_after_signing"]


def test_annotation_appended_after_the_signature(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    note = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Text"),
            pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject, (50, 50, 70, 70))),
            pdf_name("/Contents"): generic.TextStringObject("đã sửa sau khi ký"),
            pdf_name("/F"): generic.NumberObject(4),
        }
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(writer.add_object(note))
    page[pdf_name("/Annots")] = annots
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert data.startswith(signed)  # a true incremental update: the signed bytes are intact
    found = problems(pki, write(tmp_path, data), signed)
    assert found == ["sha256_mismatch", "modified_after_signing"]


def test_truncated_file(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    found = problems(pki, write(tmp_path, signed[: len(signed) // 2]), signed)
    assert found == ["sha256_mismatch", "unreadable"]  # "EOF marker not found"


def test_deleted_file(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    path = write(tmp_path, signed)
    path.unlink()
    assert problems(pki, path, signed) == ["missing"]


def test_signature_from_an_untrusted_certificate(
    pki: Pki, unsigned_pdf: bytes, tmp_path: Path
) -> None:
    data = sign_pdf(unsigned_pdf, SignerSpec(pki.stranger_p12, pki.passphrase))
    found = problems(pki, write(tmp_path, data), data)
    assert found == ["untrusted"]
