"""A throw-away test PKI (root → intermediate → signer / reviewer / TSA) and a local HTTP
server on 127.0.0.1 that answers RFC 3161 timestamp requests and serves the CAs' CRLs at the
addresses written into the certificates. It stops when the context exits, or by itself after
`lifetime_s` seconds at the latest."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

PASSPHRASE = b"correct horse battery staple"
MAX_BODY = 64 * 1024


@dataclass
class Party:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate


@dataclass(frozen=True)
class Pki:
    root_pem: Path
    intermediate_pem: Path
    signer_p12: Path
    reviewer_p12: Path
    expired_p12: Path
    expiring_p12: Path  # valid for 10 more days: inside the 30-day warning
    future_p12: Path  # not valid before tomorrow
    stranger_p12: Path  # self-signed, chains to nothing we trust
    stranger_pem: Path
    tsa_url: str
    crl_url: str  # the intermediate's CRL, as written into the end-entity certificates
    short_tsa_url: str  # a TSA whose certificate expires in 5 days (for timestamp renewal)
    passphrase: bytes = PASSPHRASE


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sohoa test PKI"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=not ca, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _issue(
    cn: str,
    issuer: Party | None,
    *,
    ca: bool,
    crl_url: str | None = None,
    eku: x509.ObjectIdentifier | None = None,
    days: tuple[int, int] = (-1, 365),
) -> Party:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())
        builder = builder.add_extension(aki, critical=False)
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    return Party(key, builder.sign(signing_key, hashes.SHA256()))


def _crl(issuer: Party, revoked_serials: tuple[int, ...] = ()) -> bytes:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=7))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - dt.timedelta(days=1))
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _p12(party: Party, chain: list[x509.Certificate]) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"test", party.key, party.cert, chain, serialization.BestAvailableEncryption(PASSPHRASE)
    )


def _timestamper(tsa: Party, chain: list[x509.Certificate]) -> DummyTimeStamper:
    der = serialization.Encoding.DER
    key_der = tsa.key.private_bytes(
        der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.cert.public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=[asn1_x509.Certificate.load(c.public_bytes(der)) for c in chain],
    )


class _Handler(BaseHTTPRequestHandler):
    timeout = 10
    routes: ClassVar[dict[str, bytes]] = {}
    timestampers: ClassVar[dict[str, DummyTimeStamper]] = {}  # by path

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        body = self.routes.get(self.path)
        if body is None:
            self._reply(404, b"not found", "text/plain")
        else:
            self._reply(200, body, "application/pkix-crl")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        timestamper = self.timestampers.get(self.path)
        if timestamper is None or not 0 < length <= MAX_BODY:
            self._reply(400, b"bad request", "text/plain")
            return
        request = tsp.TimeStampReq.load(self.rfile.read(length))
        response = timestamper.request_tsa_response(request)
        self._reply(200, response.dump(), "application/timestamp-reply")

    def log_message(self, format: str, *args: object) -> None:
        pass


def _build(folder: Path, base: str) -> tuple[Pki, dict[str, bytes], dict[str, DummyTimeStamper]]:
    root = _issue("sohoa TEST Root CA", None, ca=True, days=(-1, 3650))
    inter = _issue("sohoa TEST Issuing CA", root, ca=True, crl_url=f"{base}/root.crl")
    crl_url = f"{base}/issuing.crl"
    signer = _issue("UBND phường Bến Nghé (TEST)", inter, ca=False, crl_url=crl_url)
    reviewer = _issue("Người kiểm tra (TEST)", inter, ca=False, crl_url=crl_url)
    expired = _issue("Expired signer (TEST)", inter, ca=False, crl_url=crl_url, days=(-30, -1))
    expiring = _issue("Expiring signer (TEST)", inter, ca=False, crl_url=crl_url, days=(-1, 10))
    future = _issue("Future signer (TEST)", inter, ca=False, crl_url=crl_url, days=(1, 365))
    tsa = _issue(
        "sohoa TEST TSA", inter, ca=False, crl_url=crl_url, eku=ExtendedKeyUsageOID.TIME_STAMPING
    )
    short_tsa = _issue(
        "sohoa TEST TSA, expiring", inter, ca=False, crl_url=crl_url,
        eku=ExtendedKeyUsageOID.TIME_STAMPING, days=(-360, 5),
    )  # fmt: skip
    stranger = _issue("Stranger (self-signed)", None, ca=False)
    files = {
        "root.pem": _pem(root.cert),
        "issuing.pem": _pem(inter.cert),
        "signer.p12": _p12(signer, [inter.cert]),
        "reviewer.p12": _p12(reviewer, [inter.cert]),
        "expired.p12": _p12(expired, [inter.cert]),
        "expiring.p12": _p12(expiring, [inter.cert]),
        "future.p12": _p12(future, [inter.cert]),
        "stranger.p12": _p12(stranger, []),
        "stranger.pem": _pem(stranger.cert),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    pki = Pki(
        root_pem=folder / "root.pem",
        intermediate_pem=folder / "issuing.pem",
        signer_p12=folder / "signer.p12",
        reviewer_p12=folder / "reviewer.p12",
        expired_p12=folder / "expired.p12",
        expiring_p12=folder / "expiring.p12",
        future_p12=folder / "future.p12",
        stranger_p12=folder / "stranger.p12",
        stranger_pem=folder / "stranger.pem",
        tsa_url=f"{base}/tsa",
        crl_url=crl_url,
        short_tsa_url=f"{base}/tsa-short",
    )
    routes = {"/root.crl": _crl(root), "/issuing.crl": _crl(inter, (expired.cert.serial_number,))}
    stampers = {
        "/tsa": _timestamper(tsa, [inter.cert]),
        "/tsa-short": _timestamper(short_tsa, [inter.cert]),
    }
    return pki, routes, stampers


@contextmanager
def running_pki(folder: Path, lifetime_s: float = 300.0) -> Iterator[Pki]:
    """Make the PKI in `folder` and serve its TSA and CRLs on 127.0.0.1 (a free port)."""
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pki, handler.routes, handler.timestampers = _build(folder, base)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    watchdog = threading.Timer(lifetime_s, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield pki
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
