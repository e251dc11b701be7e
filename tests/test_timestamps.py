"""`sohoa timestamps renew` against the test PKI's TSA whose certificate expires in 5 days:
the B-LTA file gets a new document timestamp from the long-lived TSA, with the old one's
validation data; its SHA-256 in the database and a renewal event follow in one transaction."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml
from sqlalchemy import select

from sohoa.archive import sign_pdf, verify_signatures
from sohoa.archive.renew import timestamp_chain
from sohoa.config import Settings
from sohoa.ingest import sha256_bytes
from sohoa.records import Event, Record, open_database, session_scope
from tests import pdfa_audit
from tests.conftest import invoke
from tests.pki import Pki
from tests.test_inventory import _add_records
from tests.test_signing import signer_spec


def _archive(settings: Settings, rel_path: str, data: bytes) -> Path:
    path = settings.archive_dir / "khai_sinh" / f"{rel_path}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with open_database(settings.database_url) as factory, session_scope(factory) as session:
        record = session.scalar(select(Record).where(Record.rel_path == rel_path))
        record.output_path, record.output_sha256 = str(path), sha256_bytes(data)
    return path


def _configure(settings: Settings, workdir: Path, pki: Pki, *rel_paths: str) -> None:
    """signing.tsa_url is the long-lived TSA; one archived record per rel_path."""
    signing = {"tsa_url": pki.tsa_url, "trust_roots": [str(pki.root_pem)]}
    (workdir / "config.yaml").write_text(yaml.safe_dump({"signing": signing}), encoding="utf-8")
    with open_database(settings.database_url) as factory, session_scope(factory) as session:
        _add_records(session, "box-1", dict.fromkeys(rel_paths, "archived"))


def _renew(days: int) -> list[dict]:
    result = invoke("timestamps", "renew", "--within", str(days), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_renew_adds_a_timestamp_before_the_tsa_certificate_expires(
    initialised: Settings, workdir: Path, pki: Pki, unsigned_pdf: bytes
) -> None:
    settings = initialised
    _configure(settings, workdir, pki, "short", "long", "bb")
    short_lived = signer_spec(pki, "B-LTA", tsa_url=pki.short_tsa_url)
    expiring = _archive(settings, "short", sign_pdf(unsigned_pdf, short_lived))
    _archive(settings, "long", sign_pdf(unsigned_pdf, signer_spec(pki, "B-LTA")))
    _archive(settings, "bb", sign_pdf(unsigned_pdf, signer_spec(pki, "B-B")))
    before = expiring.read_bytes()
    assert timestamp_chain(before).newest_expires < dt.datetime.now(dt.UTC) + dt.timedelta(days=6)

    assert _renew(1) == []  # 5 days left: not within 1
    assert expiring.read_bytes() == before
    [row] = _renew(30)
    assert (row["record"], row["outcome"]) == ("box-1:short", "renewed")

    after = expiring.read_bytes()
    assert after.startswith(before)  # an incremental update: every signed byte kept
    chain = timestamp_chain(after)
    assert chain.document_timestamps == 2
    assert chain.newest_expires > dt.datetime.now(dt.UTC) + dt.timedelta(days=300)
    checks = verify_signatures(expiring, [pki.root_pem])
    assert [c.kind for c in checks] == ["signature", "timestamp", "timestamp"]
    assert all(c.ok for c in checks), checks
    assert "expiring" in checks[1].signer and "expiring" not in checks[2].signer
    with open_database(settings.database_url) as factory, session_scope(factory) as session:
        record = session.scalar(select(Record).where(Record.rel_path == "short"))
        assert record.output_sha256 == sha256_bytes(after)
        [event] = session.scalars(
            select(Event).where(Event.record_id == record.id, Event.kind == "timestamp_renewal")
        ).all()
        assert event.detail["previous_sha256"] == sha256_bytes(before)
        assert event.detail["sha256"] == sha256_bytes(after)
    assert _renew(30) == []  # the new timestamp has a year to go
    verified = json.loads(invoke("verify", "--format", "json").output)
    assert {row["source"]: row["ok"] for row in verified} == dict.fromkeys(
        ("short", "long", "bb"), True
    )


def test_a_damaged_file_is_not_renewed(
    initialised: Settings, workdir: Path, pki: Pki, unsigned_pdf: bytes
) -> None:
    settings = initialised
    _configure(settings, workdir, pki, "short")
    data = sign_pdf(unsigned_pdf, signer_spec(pki, "B-LTA", tsa_url=pki.short_tsa_url))
    path = _archive(settings, "short", data)
    path.write_bytes(data + b"\n% appended\n")
    pdfa_audit.exclude(path)  # broken on purpose
    result = invoke("timestamps", "renew", "--within", "30", "--format", "json")
    assert result.exit_code == 2
    [row] = json.loads(result.output)
    assert row["outcome"] == "failed" and "no longer matches its SHA-256" in row["message"]
    assert path.read_bytes() == data + b"\n% appended\n"
