"""What `sohoa run` checks and says about its signing identity before any record: a
certificate not valid yet, one that expires soon, the TEST key and signing.require_production."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sohoa.archive import load_signer
from sohoa.errors import SohoaError
from tests.conftest import invoke
from tests.pki import Pki
from tests.test_signing import signer_spec

TEST_NOTE = "signing with the TEST certificate made by 'sohoa init'"


def test_a_certificate_not_valid_yet_is_refused(pki: Pki) -> None:
    with pytest.raises(SohoaError, match="is not valid before"):
        load_signer(signer_spec(pki, pkcs12=pki.future_p12))


def _configure(workdir: Path, signing: dict) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump({"signing": signing}), encoding="utf-8")
    assert invoke("init").exit_code == 0
    Path("scans").mkdir()


def test_run_warns_once_when_the_certificate_expires_within_the_warning_days(
    pki: Pki, workdir: Path
) -> None:
    _configure(workdir, {"pkcs12": str(pki.expiring_p12)})
    env = {"SOHOA_SIGNING_PASSPHRASE": pki.passphrase.decode()}
    result = invoke("run", "scans", env=env)
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if "expires on" in line]
    assert line.startswith("warning: the signing certificate") and "(9 days)" in line
    assert TEST_NOTE not in result.output
    shorter = {"pkcs12": str(pki.expiring_p12), "expiry_warning_days": 5}
    (workdir / "config.yaml").write_text(yaml.safe_dump({"signing": shorter}), encoding="utf-8")
    assert "expires on" not in invoke("run", "scans", env=env).output


def test_run_says_once_that_it_signs_with_the_test_key(workdir: Path) -> None:
    _configure(workdir, {})
    result = invoke("run", "scans")
    assert result.exit_code == 0, result.output
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
    assert invoke("run", "scans", env=env).exit_code == 0
