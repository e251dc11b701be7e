"""The signer parses its private key once per process, and its signatures still validate."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.signers import SimpleSigner

from sohoa.archive import SignerSpec, load_signer, sign_pdf, verify_signatures
from sohoa.archive.sign import KeptKeySigner
from tests.pki import Pki


def _counting_key_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = serialization.load_der_private_key

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    # pyHanko and sohoa both look the function up on this module at call time.
    monkeypatch.setattr(serialization, "load_der_private_key", counted)
    return calls


def test_key_is_parsed_once_for_many_signatures(
    pki: Pki, unsigned_pdf: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = SignerSpec(pki.signer_p12, pki.passphrase, agency="cache test")
    load_signer.cache_clear()
    calls = _counting_key_loads(monkeypatch)
    signer = load_signer(spec)  # parses it for the key check, once
    assert isinstance(signer, KeptKeySigner)
    outputs = []
    for n in range(3):
        path = tmp_path / f"{n}.pdf"
        path.write_bytes(sign_pdf(unsigned_pdf, spec))
        outputs.append(path)
    assert len(calls) == 1  # pyHanko's SimpleSigner would parse it three times
    for path in outputs:
        [check] = verify_signatures(path, [pki.root_pem])
        assert check.intact and check.valid and check.trusted, check


def test_kept_key_signs_like_pyhanko(pki: Pki) -> None:
    """Same key, same mechanism: RSA PKCS#1 v1.5 signatures are deterministic."""
    spec = SignerSpec(pki.signer_p12, pki.passphrase)
    load_signer.cache_clear()
    kept = load_signer(spec)
    plain = SimpleSigner.sign_raw(kept, b"digest me", "sha256")
    assert kept.sign_raw(b"digest me", "sha256") == plain
