"""Signing with a key on a PKCS#11 token (SoftHSM2, loaded with OpenSC's pkcs11-tool): every
PAdES level through the batch's signing service, one session shared by many signers, the
certificate checks, a token that goes away, and the bad inputs a user can cause."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from PIL import Image

from sohoa.archive import SignerSpec, TokenSpec, load_signer, sign_pdf, verify_signatures
from sohoa.archive.service import signing_service
from sohoa.archive.token import token_signer
from sohoa.config import load_settings
from sohoa.errors import SohoaError
from sohoa.pipeline import driver
from sohoa.pipeline.context import PIN_ENV, resolve_pin, token_signing, worker_settings
from tests import pdfa_audit
from tests.conftest import invoke
from tests.pki import Pki
from tests.softhsm import SoftToken
from tests.test_signing import AGENCY, LEVELS

NO_FILE = Path("/nonexistent/not-used.p12")


def token_spec(token: SoftToken, **changes: object) -> TokenSpec:
    spec = TokenSpec(
        token.module, pin=token.pin, token_label=token.label, key_label=token.key_label
    )
    return replace(spec, **changes)


def spec_for(pki: Pki, token: TokenSpec, level: str = "B-B", **changes: object) -> SignerSpec:
    spec = SignerSpec(
        NO_FILE,
        b"",
        level=level,
        tsa_url=pki.tsa_url,
        trust_roots=(pki.root_pem,),
        agency=AGENCY,
        pkcs11=token,
    )
    return replace(spec, **changes)


@pytest.fixture(scope="module")
def service(tokens: dict[str, SoftToken]):
    spec = token_spec(tokens["signer"])
    with signing_service(spec, token_signer(spec)) as running:
        yield running


def _as_worker(spec: SignerSpec, service, **changes: object) -> SignerSpec:
    return replace(spec, pkcs11=None, service=service.address, **changes)


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_signs_through_the_service_and_validates(
    level: str, pki: Pki, tokens, service, unsigned_pdf: bytes, tmp_path: Path
) -> None:
    spec = _as_worker(spec_for(pki, token_spec(tokens["signer"]), level), service)
    out = tmp_path / f"{level}.pdf"
    out.write_bytes(sign_pdf(unsigned_pdf, spec))
    pdfa_audit.register(out)
    checks = verify_signatures(out, [pki.root_pem])
    assert "UBND phường Bến Nghé (TEST)" in checks[0].signer, checks[0]
    assert all(check.ok for check in checks), checks
    assert [c.kind for c in checks] == ["signature"] + (["timestamp"] if level == "B-LTA" else [])
    assert checks[0].timestamp_ok is (None if level == "B-B" else True)


def test_a_direct_session_signs_too(pki: Pki, tokens, unsigned_pdf: bytes, tmp_path: Path) -> None:
    """`review set` and `link` sign in the driver itself, without the service."""
    out = tmp_path / "direct.pdf"
    out.write_bytes(sign_pdf(unsigned_pdf, spec_for(pki, token_spec(tokens["signer"]))))
    pdfa_audit.register(out)
    [check] = verify_signatures(out, [pki.root_pem])
    assert check.ok and check.covers_whole_file


def test_one_token_session_serves_concurrent_workers(
    pki: Pki, tokens, service, unsigned_pdf: bytes, tmp_path: Path
) -> None:
    """Four signers at once (each its own connection, as four workers have) share the one
    session the service opened; every file validates."""
    base = spec_for(pki, token_spec(tokens["signer"]))
    outputs: dict[int, list[bytes]] = {}

    def work(n: int) -> None:
        spec = _as_worker(base, service, reason=f"worker {n}")  # its own RemoteSigner
        outputs[n] = [sign_pdf(unsigned_pdf, spec) for _ in range(2)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outputs) == [0, 1, 2, 3]
    assert service.sessions == 1
    for n, files in outputs.items():
        for i, data in enumerate(files):
            out = tmp_path / f"w{n}-{i}.pdf"
            out.write_bytes(data)
            [check] = verify_signatures(out, [pki.root_pem])
            assert check.ok, (n, check)


def test_worker_settings_carry_no_pin_and_no_module(
    pki: Pki, tokens, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens["signer"]
    _init_with_token(workdir, pki, token, monkeypatch)
    work = worker_settings(load_settings())
    assert work.signer.pkcs11 is not None and work.signer.pkcs11.pin == token.pin
    with token_signing(work) as for_workers:
        assert for_workers.signer.pkcs11 is None and for_workers.signer.service is not None
        shipped = pickle.dumps(for_workers)
        assert token.pin.encode() not in shipped and b"softhsm" not in shipped


def test_a_key_that_does_not_match_its_certificate_is_refused(pki: Pki, tokens) -> None:
    with pytest.raises(SohoaError, match="does not match its certificate"):
        load_signer(spec_for(pki, token_spec(tokens["mismatch"])))


def test_an_expired_certificate_on_the_token_is_refused(pki: Pki, tokens) -> None:
    with pytest.raises(SohoaError, match="expired on"):
        load_signer(spec_for(pki, token_spec(tokens["expired"])))


def test_files_signed_before_a_key_change_keep_verifying(
    pki: Pki, tokens, unsigned_pdf: bytes, tmp_path: Path
) -> None:
    before, after = tmp_path / "before.pdf", tmp_path / "after.pdf"
    before.write_bytes(sign_pdf(unsigned_pdf, spec_for(pki, token_spec(tokens["signer"]))))
    # the agency's token is replaced: a new key and certificate from the same CA
    after.write_bytes(sign_pdf(unsigned_pdf, spec_for(pki, token_spec(tokens["reviewer"]))))
    pdfa_audit.register(before, after)
    [old], [new] = (verify_signatures(p, [pki.root_pem]) for p in (before, after))
    assert old.ok and new.ok and old.signer != new.signer


def test_a_token_pulled_mid_batch_fails_the_signature_not_the_service(
    pki: Pki, tokens, unsigned_pdf: bytes
) -> None:
    token = tokens["pulled"]
    spec = token_spec(token)
    with signing_service(spec, token_signer(spec)) as running:
        worker = _as_worker(spec_for(pki, spec), running)
        sign_pdf(unsigned_pdf, worker)
        away = token.folder.with_name("pulled-away")
        token.folder.rename(away)
        try:
            for _ in range(2):  # the service lives on and answers every request
                with pytest.raises(SohoaError, match="token signing failed: token 'pulled'"):
                    sign_pdf(unsigned_pdf, worker)
        finally:
            away.rename(token.folder)


def _config(
    workdir: Path, pki: Pki, token: SoftToken, signing: dict | None = None, **pkcs11: object
) -> None:
    settings = {
        "signing": {
            "pkcs11": {
                "module": str(token.module),
                "token_label": token.label,
                "key_label": token.key_label,
                **pkcs11,
            },
            "trust_roots": [str(pki.root_pem)],
            **(signing or {}),
        }
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")


def _init_with_token(
    workdir: Path, pki: Pki, token: SoftToken, monkeypatch: pytest.MonkeyPatch, **signing: object
) -> None:
    """config.yaml naming the token, its PIN in the environment, `sohoa init` done."""
    _config(workdir, pki, token, signing)
    monkeypatch.setenv(PIN_ENV, token.pin)
    assert invoke("init").exit_code == 0


@pytest.mark.parametrize(
    ("pkcs11", "pin", "expected"),
    [
        ({}, "000000", "wrong PIN for token 'signer': check SOHOA_SIGNING_PIN"),
        ({"token_label": "absent"}, None, "token 'absent' not found in"),
        ({"key_label": "nobody"}, None, "no private key 'nobody' on token 'signer'"),
        ({"module": "/usr/lib/no-such-p11.so"}, None, "PKCS#11 module /usr/lib/no-such-p11.so"),
        ({}, "", "no token PIN: set SOHOA_SIGNING_PIN or signing.pin_file"),
    ],
)
def test_bad_token_input_is_one_line_exit_1_and_nothing_archived(
    pkcs11: dict, pin: str | None, expected: str, pki: Pki, tokens, workdir: Path
) -> None:
    """In a fresh process, as a user would run it (PKCS#11 logins are per process)."""
    token = tokens["signer"]
    _config(workdir, pki, token, **pkcs11)
    scans = workdir / "scans"
    scans.mkdir()
    Image.new("L", (64, 64), 255).save(scans / "a.png")
    env = {**os.environ, PIN_ENV: token.pin if pin is None else pin}
    env.pop("SOHOA_DATABASE_URL", None)
    assert invoke("init").exit_code == 0
    done = subprocess.run(
        [str(Path(sys.executable).parent / "sohoa"), "run", "scans", "--workers", "1"],
        env=env, cwd=workdir, capture_output=True, text=True,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    archive = workdir / "sohoa-data" / "archive"
    assert not [p for p in archive.rglob("*") if p.is_file()]
    if pin:
        assert pin not in done.stderr


@pytest.mark.slow
def test_a_batch_on_two_workers_signs_every_record_with_the_token(
    pki: Pki, tokens, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens["signer"]
    _init_with_token(workdir, pki, token, monkeypatch, level="B-LTA", tsa_url=pki.tsa_url)
    assert invoke("sample", "scans", "--records", "3", "--seed", "5").exit_code == 0
    result = invoke("run", "scans", "--batch", "token", "--workers", "2")
    assert result.exit_code == 0, result.output
    files = sorted((workdir / "sohoa-data" / "archive").rglob("*.pdf"))
    assert len(files) == 3
    for path in files:
        checks = verify_signatures(path, [pki.root_pem])
        assert [c.kind for c in checks] == ["signature", "timestamp"]
        assert all(c.ok for c in checks), (path, checks)
        assert "UBND phường Bến Nghé (TEST)" in checks[0].signer
    rows = [json.loads(line) for line in invoke("export", "--format", "jsonl").output.splitlines()]
    assert len(rows) == 3 and {row["test_certificate"] for row in rows} == {False}


@pytest.mark.slow
def test_records_in_flight_when_the_token_goes_fail_and_resume_finishes_them(
    pki: Pki, tokens, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens["resumed"]
    _init_with_token(workdir, pki, token, monkeypatch)
    assert invoke("sample", "scans", "--records", "2", "--seed", "3").exit_code == 0
    away = token.folder.with_name("resumed-away")
    real_client = driver.dask_client

    @contextmanager
    def token_pulled_once_the_batch_runs(*args: object):
        token.folder.rename(away)  # the signing service has its session; then the token goes
        with real_client(*args) as client:
            yield client

    monkeypatch.setattr(driver, "dask_client", token_pulled_once_the_batch_runs)
    result = invoke("run", "scans", "--batch", "pulled", "--workers", "2")
    assert result.exit_code == 2, result.output
    status = json.loads(invoke("status", "pulled", "--format", "json").output)
    reasons = [f["reason"] for f in status["failures"]]
    assert reasons == ["signing_failed", "signing_failed"], status
    assert not list((workdir / "sohoa-data" / "archive").rglob("*.pdf"))  # nothing unsigned

    away.rename(token.folder)  # plugged in again; a new process sees it
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "sohoa"), "resume", "pulled", "--workers", "2"],
        env=env, cwd=workdir, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    files = sorted((workdir / "sohoa-data" / "archive").rglob("*.pdf"))
    assert len(files) == 2
    for path in files:
        [check] = verify_signatures(path, [pki.root_pem])
        assert check.ok, check


def test_a_pin_written_in_config_yaml_is_refused(pki: Pki, tokens, workdir: Path) -> None:
    token = tokens["signer"]
    _config(workdir, pki, token, pin=token.pin)
    result = invoke("init", env={PIN_ENV: token.pin})
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "a PIN in config.yaml is never read" in line and token.pin not in line


def test_the_pin_comes_from_the_environment_else_from_pin_file(tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text("135790\n", encoding="utf-8")
    assert resolve_pin(str(pin_file), environ={}) == "135790"
    assert resolve_pin(str(pin_file), environ={PIN_ENV: "24680"}) == "24680"
    with pytest.raises(SohoaError, match=r"signing\.pin_file .* is not readable"):
        resolve_pin(str(tmp_path / "absent"), environ={})
