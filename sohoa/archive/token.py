"""The agency's signing key on a USB token or an HSM, reached over PKCS#11 (python-pkcs11).

Every failure a person can fix (module path, token not plugged in, wrong PIN, a label that
matches no object) becomes one SohoaError line that names the setting to change.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from sohoa.errors import SohoaError


@dataclass(frozen=True)
class TokenSpec:
    """Where the key is. The PIN comes from SOHOA_SIGNING_PIN or a file, and never prints."""

    module: Path
    pin: str = field(default="", repr=False)
    token_label: str | None = None
    token_serial: str | None = None  # hex, as `pkcs11-tool -L` prints it
    key_label: str | None = None
    key_id: str | None = None  # hex
    cert_label: str | None = None  # default: the key's label / id
    cert_id: str | None = None  # hex
    sessions: int = 1  # sessions the signing service keeps open; many tokens allow only one

    @property
    def token_name(self) -> str:
        if self.token_label:
            return f"token '{self.token_label}'"
        return f"token with serial {self.token_serial}" if self.token_serial else "the token"


def _hex(value: str | None, setting: str) -> bytes | None:
    if value is None:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise SohoaError(f"signing.pkcs11.{setting} '{value}' is not hexadecimal") from None


def check_token_spec(spec: TokenSpec) -> None:
    if not spec.module.is_file():
        raise SohoaError(
            f"PKCS#11 module {spec.module} not found: install the token's driver "
            "or fix signing.pkcs11.module"
        )
    if not (spec.key_label or spec.key_id):
        raise SohoaError("signing.pkcs11 names no key: set key_label or key_id")
    if not spec.pin:
        raise SohoaError("no token PIN: set SOHOA_SIGNING_PIN or signing.pin_file")
    if spec.sessions < 1:
        raise SohoaError("signing.pkcs11.sessions must be at least 1")
    _hex(spec.token_serial, "token_serial")
    _hex(spec.key_id, "key_id")
    _hex(spec.cert_id, "cert_id")


def explain(exc: Exception, spec: TokenSpec) -> str:
    """python-pkcs11's exception (or pyHanko's message) as what the user must fix."""
    from pkcs11 import exceptions as p11

    name = spec.token_name
    if isinstance(exc, (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange)):
        return f"wrong PIN for {name}: check SOHOA_SIGNING_PIN or signing.pin_file"
    if isinstance(exc, p11.PinLocked):
        return f"the PIN of {name} is locked: unlock it with the token's SO PIN"
    if isinstance(exc, (p11.TokenNotPresent, p11.DeviceRemoved, p11.NoSuchToken)):
        return f"{name} is not present: plug it in"
    if isinstance(exc, p11.UserAlreadyLoggedIn):
        return f"{name} is already logged in by this process with another signing.pkcs11 setting"
    if isinstance(exc, p11.SessionCount):
        return f"{name} has no free session: close other programs using it"
    text = str(exc)
    if "No token" in text or "more than 1 slot" in text:
        return (
            f"{name} not found in {spec.module}: plug it in, or fix signing.pkcs11.token_label"
            " / token_serial"
        )
    if "private key" in text:
        return (
            f"no private key '{spec.key_label or spec.key_id}' on {name}: "
            "fix signing.pkcs11.key_label / key_id"
        )
    if "certificate" in text and not (spec.cert_label or spec.cert_id):
        return (
            f"no private key '{spec.key_label or spec.key_id}' on {name} (nor a certificate of "
            "that name): fix signing.pkcs11.key_label / key_id, or set cert_label / cert_id"
        )
    if "certificate" in text:
        which = spec.cert_label or spec.cert_id or spec.key_label or spec.key_id
        return f"no certificate '{which}' on {name}: fix signing.pkcs11.cert_label / cert_id"
    return f"PKCS#11 error on {name}: {type(exc).__name__} {text}".strip()


def _open_session(spec: TokenSpec, criteria: TokenCriteria, *, shares_login: bool) -> object:
    from pkcs11.exceptions import UserAlreadyLoggedIn

    try:
        return open_pkcs11_session(str(spec.module), token_criteria=criteria, user_pin=spec.pin)
    except UserAlreadyLoggedIn:
        if not shares_login:
            raise
        # PKCS#11 logs in once per process and token: a further session of the signing
        # service shares the login its first session made with this PIN.
        return open_pkcs11_session(str(spec.module), token_criteria=criteria, user_pin=None)


def open_token_signer(spec: TokenSpec, *, shares_login: bool = False) -> PKCS11Signer:
    """Open one logged-in session and find the key and its certificate on the token.

    `shares_login`: this process already logged in with this spec (the signing service's
    further sessions); otherwise a login that already exists is an error, so that a wrong
    PIN can never ride on an earlier login."""
    from pkcs11 import PKCS11Error

    check_token_spec(spec)
    serial = _hex(spec.token_serial, "token_serial")
    criteria = TokenCriteria(label=spec.token_label, serial=serial)
    try:
        session = _open_session(spec, criteria, shares_login=shares_login)
    except PKCS11Error as exc:
        raise SohoaError(explain(exc, spec)) from None
    cert_label = spec.cert_label or (None if spec.cert_id else spec.key_label)
    signer = PKCS11Signer(
        session,
        cert_label=cert_label,
        key_label=spec.key_label,
        key_id=_hex(spec.key_id, "key_id"),
        cert_id=_hex(spec.cert_id, "cert_id") or (None if cert_label else _hex(spec.key_id, "")),
        other_certs_to_pull=None,  # the chain, when the token holds it
    )
    try:
        signer.signing_cert  # noqa: B018 - finds the certificate and the key now, not mid-batch
    except PKCS11Error as exc:
        session.close()
        raise SohoaError(explain(exc, spec)) from None
    return signer


@functools.cache
def token_signer(spec: TokenSpec) -> PKCS11Signer:
    """One session per process and token spec, kept: a login costs a PBKDF on most tokens."""
    return open_token_signer(spec)


def is_token_error(exc: BaseException) -> bool:
    from pkcs11 import PKCS11Error

    return isinstance(exc, PKCS11Error)
