"""One signing process for a batch: it holds the token's sessions, workers hand it digests.

Why not a session per worker: a USB token or a shared HSM partition often allows one
session (or a few), every worker would need the PIN, and N workers would log in N times.
Here the driver opens `sessions` sessions (default 1) and listens on a Unix socket in a
private folder (mode 700, HMAC challenge with a random key); a worker sends the bytes to sign
(the CMS signed attributes, about 100 bytes) and gets the raw signature back. Workers never
see the PIN or the PKCS#11 module. A session that fails (token pulled, HSM restarted) is
reopened once per request; if that fails too the request gets the reason, and the record
fails as `signing_failed` for `sohoa resume` to finish later.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import AuthenticationError, Client, Connection, Listener
from pathlib import Path

from asn1crypto import x509
from pyhanko.sign import signers
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from sohoa.archive.token import TokenSpec, explain, is_token_error, open_token_signer
from sohoa.errors import SohoaError

PLACEHOLDER_SIGNATURE_BYTES = 512  # room reserved before the real signature is known


@dataclass(frozen=True)
class ServiceAddress:
    """What a worker needs to reach the signing service; no PIN, no module."""

    socket: str
    authkey: bytes = field(repr=False)
    cert_der: bytes
    chain_der: tuple[bytes, ...] = ()


def _sign_with(signer: PKCS11Signer, data: bytes, digest_algorithm: str) -> bytes:
    return asyncio.run(signer.async_sign_raw(data, digest_algorithm))


class SigningService:
    """Token sessions in a pool, one thread per connected worker."""

    def __init__(self, spec: TokenSpec, first: PKCS11Signer, folder: Path) -> None:
        self._spec = spec
        self._free: queue.Queue[PKCS11Signer] = queue.Queue()
        self._free.put(first)
        opened = [first]
        try:
            for _ in range(spec.sessions - 1):
                opened.append(open_token_signer(spec, shares_login=True))
                self._free.put(opened[-1])
        except SohoaError:
            for signer in opened[1:]:
                signer.pkcs11_session.close()
            raise
        self._owned = opened[1:]  # the first belongs to load_signer's cache
        self._authkey = secrets.token_bytes(32)
        self._socket = str(folder / "signer.sock")
        self._listener = Listener(self._socket, family="AF_UNIX", authkey=self._authkey)
        self._cert = first.signing_cert
        self._chain = tuple(c for c in first.cert_registry if c != self._cert)
        self._accepting = threading.Thread(target=self._accept, daemon=True, name="signing")
        self._accepting.start()

    @property
    def sessions(self) -> int:
        """Token sessions in the pool: all of them while no request is being signed."""
        return self._free.qsize()

    @property
    def address(self) -> ServiceAddress:
        return ServiceAddress(
            self._socket, self._authkey, self._cert.dump(), tuple(c.dump() for c in self._chain)
        )

    def _accept(self) -> None:
        while True:
            try:
                connection = self._listener.accept()
            except (AuthenticationError, EOFError, ConnectionError):
                continue  # a stranger or a worker that went away during the handshake
            except OSError:
                return  # the listener was closed
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: Connection) -> None:
        with connection:
            while True:
                try:
                    data, digest_algorithm = connection.recv()
                except (EOFError, OSError):
                    return
                connection.send(self._sign(data, digest_algorithm))

    def _sign(self, data: bytes, digest_algorithm: str) -> tuple[str, bytes | str]:
        signer = self._free.get()
        try:
            try:
                return "ok", _sign_with(signer, data, digest_algorithm)
            except Exception as exc:
                if not is_token_error(exc):
                    raise  # a bug: the worker sees the connection close
            # The session died (token pulled, HSM restarted): a new one, and one more try.
            fresh = self._reopen(signer)
            if isinstance(fresh, str):
                return "error", fresh
            signer = fresh
            try:
                return "ok", _sign_with(signer, data, digest_algorithm)
            except Exception as exc:
                if not is_token_error(exc):
                    raise
                return "error", explain(exc, self._spec)
        finally:
            self._free.put(signer)

    def _reopen(self, dead: PKCS11Signer) -> PKCS11Signer | str:
        """A new session in place of a dead one, or why there is none (the dead one then
        stays in the pool, to be tried again by the next request)."""
        with contextlib.suppress(Exception):
            dead.pkcs11_session.close()
        try:
            fresh = open_token_signer(self._spec, shares_login=True)
        except SohoaError as exc:
            return str(exc)
        self._owned.append(fresh)
        return fresh

    def close(self) -> None:
        self._listener.close()
        for signer in self._owned:
            with contextlib.suppress(Exception):
                signer.pkcs11_session.close()


@contextlib.contextmanager
def signing_service(spec: TokenSpec, first: PKCS11Signer) -> Iterator[SigningService]:
    with tempfile.TemporaryDirectory(prefix="sohoa-signer-") as folder:  # mode 700
        service = SigningService(spec, first, Path(folder))
        try:
            yield service
        finally:
            service.close()


class RemoteSigner(signers.Signer):
    """A pyHanko signer in a worker whose private-key operation happens in the service."""

    def __init__(self, address: ServiceAddress) -> None:
        cert = x509.Certificate.load(address.cert_der)
        chain = [x509.Certificate.load(der) for der in address.chain_der]
        super().__init__(
            signing_cert=cert, cert_registry=SimpleCertificateStore.from_certs([cert, *chain])
        )
        self._address = address
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def _call(self, data: bytes, digest_algorithm: str) -> tuple[str, bytes | str]:
        if self._connection is None:
            self._connection = Client(
                self._address.socket, family="AF_UNIX", authkey=self._address.authkey
            )
        self._connection.send((data, digest_algorithm))
        return self._connection.recv()

    def _request(self, data: bytes, digest_algorithm: str) -> bytes:
        with self._lock:
            try:
                status, answer = self._call(data, digest_algorithm)
            except (OSError, EOFError, AuthenticationError) as exc:
                self._connection = None
                raise SohoaError(f"the signing service is not reachable: {exc}") from None
        if status != "ok":
            raise SohoaError(f"token signing failed: {answer}")
        assert isinstance(answer, bytes)
        return answer

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(PLACEHOLDER_SIGNATURE_BYTES)
        return await asyncio.get_running_loop().run_in_executor(
            None, self._request, data, digest_algorithm
        )
