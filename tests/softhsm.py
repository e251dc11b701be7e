"""SoftHSM2 tokens for the tests: a private SOFTHSM2_CONF with its token folder in tmp, and
keys and certificates from the test PKI imported with pkcs11-tool (OpenSC), as an agency
would load a token.

SoftHSM reads its configuration and scans the token folder once per process, when the
PKCS#11 module is initialised: every token a test session needs is made before the first
use, and the variable is set for the whole session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
CONF_ENV = "SOFTHSM2_CONF"
SO_PIN = "87654321"


@dataclass(frozen=True)
class SoftToken:
    label: str
    pin: str
    key_label: str
    folder: Path  # SoftHSM's folder of this token: renaming it pulls the token out
    module: Path = MODULE


def available() -> bool:
    return MODULE.is_file() and shutil.which("pkcs11-tool") is not None


def configure(folder: Path) -> Path:
    """Write a SoftHSM2 configuration whose tokens live in `folder`; set SOFTHSM2_CONF."""
    tokens = folder / "tokens"
    tokens.mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ[CONF_ENV] = str(conf)
    return tokens


def _tool(token: SoftToken, *args: str) -> None:
    subprocess.run(
        ["pkcs11-tool", "--module", str(token.module), "--token-label", token.label,
         "--login", "--pin", token.pin, *args],
        check=True, capture_output=True,
    )  # fmt: skip


def make_token(
    folder: Path,
    label: str,
    key_from: Path,
    passphrase: bytes,
    *,
    cert_from: Path | None = None,
    pin: str = "246810",
) -> SoftToken:
    """In the token folder of `configure`, a token holding the key of PKCS#12 `key_from` and
    the certificate (and chain) of `cert_from` (default: the same file), both labelled
    'signer' with id 01."""
    tokens = folder / "tokens"
    before = set(tokens.iterdir())
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
         "--so-pin", SO_PIN],
        check=True, capture_output=True,
    )  # fmt: skip
    [made] = set(tokens.iterdir()) - before
    token = SoftToken(label=label, pin=pin, key_label="signer", folder=made)
    key, _cert, _chain = pkcs12.load_key_and_certificates(key_from.read_bytes(), passphrase)
    _key, cert, chain = pkcs12.load_key_and_certificates(
        (cert_from or key_from).read_bytes(), passphrase
    )
    assert key is not None and cert is not None
    der = serialization.Encoding.DER
    files = folder / f"{label}-objects"
    files.mkdir()
    (files / "key.der").write_bytes(
        key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (files / "cert.der").write_bytes(cert.public_bytes(der))
    _tool(token, "--write-object", str(files / "key.der"), "--type", "privkey",
          "--label", "signer", "--id", "01")  # fmt: skip
    _tool(token, "--write-object", str(files / "cert.der"), "--type", "cert",
          "--label", "signer", "--id", "01")  # fmt: skip
    for n, extra in enumerate(chain or (), start=2):
        (files / f"chain{n}.der").write_bytes(extra.public_bytes(der))
        _tool(token, "--write-object", str(files / f"chain{n}.der"), "--type", "cert",
              "--label", f"chain{n}", "--id", f"{n:02x}")  # fmt: skip
    return token
