"""What `sohoa run` checks and says about its signing identity before any record (a
certificate not valid yet, one that expires soon, the TEST key, signing.require_production),
and where the report and `sohoa verify` show files signed with the TEST key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import Result
from sqlalchemy import select

from sohoa.archive import SignerSpec, create_test_identity, load_signer, sign_pdf
from sohoa.errors import SohoaError
from sohoa.pipeline.verify import VerifyItem, verify_files
from sohoa.records import Record, session_scope
from sohoa.report import collect_report_data, render_report
from tests import pdfa_audit
from tests.conftest import invoke
from tests.pki import Pki
from tests.test_inventory import _add_records
from tests.test_signing import signer_spec

TEST_NOTE = "signing with the TEST certificate made by 'sohoa init'"


def test_a_certificate_not_valid_yet_is_refused(pki: Pki) -> None:
    with pytest.raises(SohoaError, match="is not valid before"):
        load_signer(signer_spec(pki, pkcs12=pki.future_p12))


def _configure(workdir: Path, signing: dict) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump({"signing": signing}), encoding="utf-8")
    assert invoke("init").exit_code == 0
    Path("scans").mkdir()


def _passed_the_identity_checks(result: Result) -> bool:
    """`sohoa run` of the empty folder `scans` got past the signing identity's checks: it
    stopped only at finding no record (exit 1, its last line)."""
    last = result.output.strip().splitlines()[-1]
    return result.exit_code == 1 and last.startswith("error: no records found in scans")


def test_run_warns_once_when_the_certificate_expires_within_the_warning_days(
    pki: Pki, workdir: Path
) -> None:
    _configure(workdir, {"pkcs12": str(pki.expiring_p12)})
    env = {"SOHOA_SIGNING_PASSPHRASE": pki.passphrase.decode()}
    result = invoke("run", "scans", env=env)
    assert _passed_the_identity_checks(result), result.output
    [line] = [line for line in result.output.splitlines() if "expires on" in line]
    assert line.startswith("warning: the signing certificate") and "(9 days)" in line
    assert TEST_NOTE not in result.output
    shorter = {"pkcs12": str(pki.expiring_p12), "expiry_warning_days": 5}
    (workdir / "config.yaml").write_text(yaml.safe_dump({"signing": shorter}), encoding="utf-8")
    assert "expires on" not in invoke("run", "scans", env=env).output


def test_run_says_once_that_it_signs_with_the_test_key(workdir: Path) -> None:
    _configure(workdir, {})
    result = invoke("run", "scans")
    assert _passed_the_identity_checks(result), result.output
    assert result.output.count(TEST_NOTE) == 1


def test_require_production_refuses_the_test_key(workdir: Path) -> None:
    _configure(workdir, {"require_production": True})
    result = invoke("run", "scans")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "signing.require_production is set but the key is the TEST one" in line


def test_require_production_accepts_a_real_certificate(pki: Pki, workdir: Path) -> None:
    _configure(workdir, {"pkcs12": str(pki.signer_p12), "require_production": True})
    env = {"SOHOA_SIGNING_PASSPHRASE": pki.passphrase.decode()}
    assert _passed_the_identity_checks(invoke("run", "scans", env=env))


def _signed_by(session, rel_path: str, test: bool) -> None:
    record = session.scalar(select(Record).where(Record.rel_path == rel_path))
    record.meta = {**record.meta, "signed_by": {"subject": "x", "test_certificate": test}}


def test_the_report_names_the_files_signed_with_the_test_certificate(factory) -> None:
    with session_scope(factory) as session:
        _add_records(session, "box-1", {"A1": "archived", "A2": "archived", "A3": "failed"})
        _signed_by(session, "A1", True)
        _signed_by(session, "A2", False)
    with session_scope(factory) as session:
        data = collect_report_data(session)
    assert data.test_signed_total == 1 and data.test_signed == (("box-1:A1", "/a.pdf"),)
    html = render_report(data)
    assert 'id="test-signed" data-count="1"' in html and "box-1:A1" in html
    assert "box-1:A2" not in html


def test_verify_says_per_file_whether_the_test_certificate_signed_it(
    pki: Pki, unsigned_pdf: bytes, tmp_path: Path
) -> None:
    identity = create_test_identity(tmp_path / "keys", "UBND")
    test_spec = SignerSpec(identity.pkcs12, identity.passphrase_file.read_bytes().strip())
    files = {
        "test": sign_pdf(unsigned_pdf, test_spec),
        "real": sign_pdf(unsigned_pdf, signer_spec(pki)),
    }
    items = []
    for name, data in files.items():
        (tmp_path / f"{name}.pdf").write_bytes(data)
        items.append(VerifyItem(0, 0, name, name, str(tmp_path / f"{name}.pdf"), None, 1))
    pdfa_audit.register(*(Path(item.path) for item in items))
    results = {r.uid: r for r in verify_files(items, [pki.root_pem, identity.certificate])}
    assert results["test"].ok and results["test"].test_certificate is True
    assert results["real"].ok and results["real"].test_certificate is False
