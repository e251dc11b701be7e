"""Tampering with a signed PDF/A is caught, each with the word `sohoa verify` reports:
`sohoa.archive.verify.file_problems`, the per-file logic meant for `sohoa verify`."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import select, update

from sohoa.archive import SignerSpec, create_test_identity, sign_pdf, verapdf
from sohoa.archive.verify import file_problems
from sohoa.config import Settings
from sohoa.pipeline import record_uid, worker_settings
from sohoa.records import Digest, EventRow, Record, RecordOutcome, database_session, store
from tests import pdfa_audit
from tests.conftest import invoke
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


def flip_image_byte(signed: bytes) -> bytes:
    start = signed.index(b"\xff\xd8\xff")  # the JPEG of page 1
    tampered = bytearray(signed)
    tampered[start + 2000] ^= 0x01
    return bytes(tampered)


def test_one_byte_changed_in_the_page_image(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    found = problems(pki, write(tmp_path, flip_image_byte(signed)), signed)
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


def append_annotation(signed: bytes) -> bytes:
    """A note added to page 1 in an incremental update: the signed bytes stay intact."""
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
    return out.getvalue()


def test_annotation_appended_after_the_signature(pki: Pki, signed: bytes, tmp_path: Path) -> None:
    data = append_annotation(signed)
    assert data.startswith(signed)  # a true incremental update: the signed bytes are intact
    found = problems(pki, write(tmp_path, data), signed)
    assert found == ["sha256_mismatch", "modified_after_signing"]


def change_title(signed: bytes) -> bytes:
    """A new /Info /Title in an incremental update (pyHanko's default rates it LTA_UPDATES)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    title = generic.TextStringObject("Hồ sơ đã bị thay")
    writer.set_info(generic.DictionaryObject({pdf_name("/Title"): title}))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_info_changed_after_signing_fails_even_with_a_matching_hash(
    pki: Pki, signed: bytes, tmp_path: Path
) -> None:
    data = change_title(signed)
    assert data.startswith(signed)
    # As if the database's hash had been updated to match the changed copy.
    assert problems(pki, write(tmp_path, data), data) == ["modified_after_signing"]


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


# --- `sohoa verify` on an archive: each tampered record reported by id, with its reason --------


def archive_copies(settings: Settings, unsigned_pdf: bytes, count: int,
                   batch: str = "box-t") -> list[tuple[str, Path]]:  # fmt: skip
    """`count` archived records whose files are signed copies of the session's PDF/A (the key
    of `sohoa init`), committed like a worker's results: the verify path without OCR."""
    signer = worker_settings(settings).signer
    names = [f"HS-2021-{n:06d}" for n in range(count)]
    records = []
    with database_session(settings.database_url) as session:
        batch_id = store.get_or_create_batch(session, batch, str(settings.data_dir), {}).id
        store.register_records(session, batch_id, [(record_uid(batch, n), n) for n in names])
        for n, name in enumerate(names):
            uid = record_uid(batch, name)
            source_hash = hashlib.sha256(f"{batch}/{name}".encode()).hexdigest()
            store.commit_digest(session, Digest(uid, source_hash, ()))
            data = sign_pdf(unsigned_pdf, signer)
            path = settings.archive_dir / "khai_sinh" / f"{uid}.pdf"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            outcome = RecordOutcome(
                uid, ok=True, procedure="khai_sinh", procedure_code="1.001193",
                procedure_confidence=0.9, classification_method="rules", output_path=str(path),
                output_sha256=hashlib.sha256(data).hexdigest(), metadata={"n": n},
                events=(
                    EventRow("ocr", tool="tesseract", tool_version="5.3.0"),
                    EventRow("pdfa", tool="pikepdf", tool_version=pikepdf.__version__),
                    EventRow("sign", tool="pyHanko", tool_version="0.38.0"),
                ),
            )  # fmt: skip
            store.commit_outcome(session, outcome)
            records.append((uid, path))
    return records


def _reasons(uid: str) -> list[str]:
    """The problem words of the record's latest `verify` event."""
    listed = invoke("events", "--record", uid, "--format", "json")
    assert listed.exit_code == 0, listed.output
    [*_, last] = [e for e in json.loads(listed.output) if e["kind"] == "verify"]
    return [problem.split(":")[0] for problem in last["detail"]["problems"]]


def _states(settings: Settings) -> dict[str, tuple[str, str | None]]:
    """uid -> (state, error reason) of every record."""
    with database_session(settings.database_url) as session:
        rows = session.execute(select(Record.uid, Record.state, Record.error_reason))
        return {uid: (str(state), reason) for uid, state, reason in rows}


def test_a_missing_or_changed_copy_fails_as_damaged_and_stops_counting(
    initialised: Settings, unsigned_pdf: bytes
) -> None:
    settings = initialised
    (kept, _), (changed, changed_path), (gone, gone_path) = archive_copies(
        settings, unsigned_pdf, 3
    )
    changed_path.write_bytes(changed_path.read_bytes() + b"%%EOF\n")
    gone_path.unlink()
    pdfa_audit.exclude(changed_path, gone_path)

    result = invoke("verify", "--format", "json", "--workers", "1")
    assert result.exit_code == 2, result.output
    assert _states(settings) == {
        kept: ("archived", None), changed: ("failed", "damaged"), gone: ("failed", "damaged")
    }  # fmt: skip
    [coverage] = json.loads(invoke("coverage", "--format", "json").output)["rows"]
    assert (coverage["registered"], coverage["digitized"]) == (3, 1)
    status = invoke("status")
    assert "damaged" in status.output and "sha256_mismatch" in status.output
    events = json.loads(invoke("events", "--record", gone, "--format", "json").output)
    assert [(e["kind"], e["outcome"]) for e in events[-2:]] == [
        ("verify", "failed"), ("fail", "failed")
    ]  # fmt: skip


def _sign_as(settings: Settings, path: Path, data: bytes) -> None:
    """Put `data` in place as if it had been archived so: the database's hash matches."""
    path.write_bytes(data)
    with database_session(settings.database_url) as session:
        session.execute(
            update(Record).where(Record.output_path == str(path))
            .values(output_sha256=hashlib.sha256(data).hexdigest())
        )  # fmt: skip


@pytest.mark.slow
def test_sohoa_verify_reports_each_tampered_record_with_its_reason(
    initialised: Settings, unsigned_pdf: bytes, tmp_path: Path
) -> None:
    settings = initialised
    (intact, _), *tampered = archive_copies(settings, unsigned_pdf, 7)
    cases = dict(zip(("byte", "appended", "truncated", "deleted", "untrusted", "not_pdfa"),
                     tampered, strict=True))  # fmt: skip
    path = cases["byte"][1]
    path.write_bytes(flip_image_byte(path.read_bytes()))
    path = cases["appended"][1]
    path.write_bytes(append_annotation(path.read_bytes()))
    path = cases["truncated"][1]
    path.write_bytes(path.read_bytes()[:30000])
    cases["deleted"][1].unlink()
    stranger = create_test_identity(tmp_path / "stranger", "someone else")
    stranger_spec = SignerSpec(stranger.pkcs12, stranger.passphrase_file.read_bytes().strip())
    _sign_as(settings, cases["untrusted"][1], sign_pdf(unsigned_pdf, stranger_spec))
    with pikepdf.open(io.BytesIO(unsigned_pdf)) as pdf:
        del pdf.Root.OutputIntents
        no_intent = io.BytesIO()
        pdf.save(no_intent)
    signer = worker_settings(settings).signer
    _sign_as(settings, cases["not_pdfa"][1], sign_pdf(no_intent.getvalue(), signer))
    pdfa_audit.exclude(*(path for _uid, path in tampered))

    result = invoke("verify", "--format", "json", "--workers", "1")
    assert result.exit_code == 2, result.output
    rows = {row["record"]: row for row in json.loads(result.output)}
    assert rows[intact]["ok"] and rows[intact]["problems"] == ""
    expected = {
        # The flipped byte also makes the page's JPEG data corrupt when it is decoded.
        "byte": ["sha256_mismatch", "signature_broken", "pdf_structure"],
        # veraPDF also sees that the note has no appearance stream (PDF/A-2 6.3.3).
        "appended": ["sha256_mismatch", "modified_after_signing"]
        + (["not_pdfa"] if verapdf.available() else []),
        "truncated": ["sha256_mismatch", "unreadable"],
        "deleted": ["missing"],
        "untrusted": ["untrusted"],
        "not_pdfa": ["not_pdfa"],
    }
    assert {name: _reasons(uid) for name, (uid, _path) in cases.items()} == expected
    assert not any(rows[uid]["ok"] for uid, _path in tampered)
    assert "6.2.4" in rows[cases["not_pdfa"][0]]["problems"] or not verapdf.available()

    # Missing and changed copies failed as damaged; the others stay archived, and two Dask
    # workers give them the same verdicts; --since leaves out older archives.
    damaged = {cases[name][0] for name in ("byte", "appended", "truncated", "deleted")}
    assert {uid for uid, (state, _reason) in _states(settings).items() if state == "failed"} == (
        damaged
    )
    parallel = invoke("verify", "--format", "json", "--workers", "2")
    assert parallel.exit_code == 2
    assert {r["record"]: r["problems"] for r in json.loads(parallel.output)} == {
        uid: row["problems"] for uid, row in rows.items() if uid not in damaged
    }
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    later = invoke("verify", "--since", tomorrow, "--format", "json")
    assert later.exit_code == 0 and json.loads(later.output) == []
