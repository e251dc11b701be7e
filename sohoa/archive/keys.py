"""A self-signed TEST signing identity, so that a fresh installation can sign at once.

Its subject says TEST and NOT FOR PRODUCTION: an archive must configure its official-duty
certificate (signing.pkcs12) before its files are worth anything in law.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

TEST_SUBJECT_CN = "TEST sohoa signer - NOT FOR PRODUCTION"
VALID_YEARS = 10


@dataclass(frozen=True)
class TestIdentity:
    pkcs12: Path
    passphrase_file: Path
    certificate: Path  # PEM, the trust root for verifying files it signed


def is_test_certificate(cert: asn1_x509.Certificate) -> bool:
    """Whether `cert` is a TEST identity made by `sohoa init` (its subject says so)."""
    return cert.subject.native.get("common_name") == TEST_SUBJECT_CN


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def create_test_identity(keys_dir: Path, organisation: str) -> TestIdentity:
    """Write test-signer.p12, its random passphrase (mode 600) and its certificate."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, TEST_SUBJECT_CN),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=True, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * VALID_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    passphrase = secrets.token_urlsafe(24).encode()
    identity = TestIdentity(
        pkcs12=keys_dir / "test-signer.p12",
        passphrase_file=keys_dir / "test-signer.pass",
        certificate=keys_dir / "test-signer.pem",
    )
    _write_private(identity.passphrase_file, passphrase + b"\n")
    _write_private(
        identity.pkcs12,
        pkcs12.serialize_key_and_certificates(
            b"sohoa-test", key, certificate, None, serialization.BestAvailableEncryption(passphrase)
        ),
    )
    identity.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return identity
