"""Accounts of `sohoa serve`: people with a role and an Argon2id password hash, API tokens
for client programs, refused sign-ins (the rate limit), and the record access log.

Roles, each with its own pages and API and nothing else:
officer  — search, view a record, download its signed PDF/A;
auditor  — dashboard, coverage, verification, events: no personal text or files;
operator — batches, failures, the review queue;
admin    — users, tokens, the access log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, select

from sohoa.errors import SohoaError
from sohoa.records.models import ApiToken, LoginFailure, Record, RecordAccess, WebUser, utcnow

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from sqlalchemy.orm import Session

ROLES = ("officer", "auditor", "operator", "admin")
MIN_PASSWORD_CHARS = 10
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")
TOKEN_PREFIX = "sohoa_"


@dataclass(frozen=True)
class Account:
    """Who a request acts for: a person (`name`) or a token's client ("token:<client>")."""

    name: str
    role: str
    token: bool = False


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class TokenRow:
    client: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class AccessRow:
    at: dt.datetime
    actor: str
    action: str
    record_id: str
    address: str


@cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults are RFC 9106's second recommendation (Argon2id, 64 MiB, t=3).
    from argon2 import PasswordHasher

    return PasswordHasher()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise SohoaError(f"role {role!r}: choose from {', '.join(ROLES)}")


def _check_name(name: str, what: str = "user name") -> None:
    if not NAME.match(name):
        raise SohoaError(
            f"{what} {name!r}: up to 80 letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise SohoaError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")


def hash_password(password: str) -> str:
    _check_password(password)
    return _hasher().hash(password)


def add_user(session: Session, name: str, role: str, password: str) -> None:
    _check_name(name)
    _check_role(role)
    if session.scalar(select(WebUser.id).where(WebUser.name == name)) is not None:
        raise SohoaError(f"user {name!r} exists: use 'sohoa user passwd' or 'sohoa user role'")
    session.add(WebUser(name=name, role=role, password_hash=hash_password(password)))


def _user(session: Session, name: str) -> WebUser:
    user = session.scalar(select(WebUser).where(WebUser.name == name))
    if user is None:
        raise SohoaError(f"no user named {name!r}: see 'sohoa user list'")
    return user


def set_password(session: Session, name: str, password: str) -> None:
    _user(session, name).password_hash = hash_password(password)


def set_role(session: Session, name: str, role: str) -> None:
    _check_role(role)
    _user(session, name).role = role


def set_active(session: Session, name: str, active: bool) -> None:
    _user(session, name).active = active


def users(session: Session) -> list[UserRow]:
    rows = session.scalars(select(WebUser).order_by(WebUser.name))
    return [UserRow(u.name, u.role, u.active, u.created_at) for u in rows]


def active_account(session: Session, name: str) -> Account | None:
    """The account of a signed-in name, None once removed or disabled."""
    row = session.execute(
        select(WebUser.role).where(WebUser.name == name, WebUser.active.is_(True))
    ).first()
    return Account(name, row.role) if row else None


@dataclass(frozen=True)
class LoginLimits:
    window_s: int = 900
    per_name: int = 5  # refused sign-ins of one name within the window
    per_address: int = 20  # ... from one address, whatever the names


class LoginThrottled(SohoaError):
    """Too many refused sign-ins lately, for this name or from this address."""


def _dummy_hash() -> str:
    return _hasher().hash("not a password of anyone")


_DUMMY: list[str] = []


def count_attempt(session: Session, name: str, address: str, limits: LoginLimits) -> int:
    """The first step of a sign-in, in a short write transaction: LoginThrottled when the
    name or the address has too many recent failures; otherwise the attempt is recorded as a
    failure at once and its id returned (`settle_attempt` removes it if the password was
    right). So the slow password check runs outside any lock, and sign-ins in parallel
    still cannot guess past the limit."""
    since = utcnow() - dt.timedelta(seconds=limits.window_s)
    name, address = name[:80], address[:64]
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.at >= since)
    by_name = session.scalar(recent.where(LoginFailure.name == name)) or 0
    by_address = session.scalar(recent.where(LoginFailure.address == address)) or 0
    if by_name >= limits.per_name or by_address >= limits.per_address:
        raise LoginThrottled("too many failed sign-ins: wait a few minutes")
    attempt = LoginFailure(name=name, address=address)
    session.add(attempt)
    session.flush()
    return attempt.id


@dataclass(frozen=True)
class StoredLogin:
    """What a sign-in's password is checked against (password_matches)."""

    password_hash: str  # a dummy hash when there is no such user: the same work either way
    account: Account | None  # None: no such user, or disabled


def stored_login(session: Session, name: str) -> StoredLogin:
    user = session.scalar(select(WebUser).where(WebUser.name == name[:80]))
    if not _DUMMY:
        _DUMMY.append(_dummy_hash())
    if user is None:
        return StoredLogin(_DUMMY[0], None)
    return StoredLogin(user.password_hash, Account(user.name, user.role) if user.active else None)


def password_matches(stored: StoredLogin, password: str) -> Account | None:
    """The account when the password is right and the account active. No database: the
    memory-hard hash (~150 ms of CPU) runs wherever the caller likes."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        _hasher().verify(stored.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return stored.account


def settle_attempt(session: Session, attempt_id: int, account: Account, password: str) -> None:
    """The last step of a right password, in a short write transaction: its attempt comes off
    the failures (and the password is re-hashed when the hash parameters changed)."""
    session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
    user = session.scalar(select(WebUser).where(WebUser.name == account.name))
    if user is not None and _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_token(session: Session, client: str, role: str) -> str:
    """A new API token for `client`; returned once, only its SHA-256 is kept."""
    _check_name(client, "client name")
    _check_role(role)
    if session.scalar(select(ApiToken.id).where(ApiToken.client == client)) is not None:
        raise SohoaError(f"client {client!r} has a token: revoke it first ('sohoa token revoke')")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(client=client, role=role, token_sha256=_token_digest(token)))
    return token


def revoke_token(session: Session, client: str) -> None:
    """Revoked tokens stay listed (who had access, until when); the name is freed."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.client == client, ApiToken.revoked_at.is_(None))
    )
    if token is None:
        raise SohoaError(f"no live token for client {client!r}: see 'sohoa token list'")
    token.revoked_at = utcnow()
    token.client = f"{client}~{token.id}"[:80]


def tokens(session: Session) -> list[TokenRow]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.created_at))
    return [TokenRow(t.client.split("~")[0], t.role, t.created_at, t.revoked_at) for t in rows]


def token_account(session: Session, token: str) -> Account | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken.client, ApiToken.role).where(
            ApiToken.token_sha256 == _token_digest(token), ApiToken.revoked_at.is_(None)
        )
    ).first()
    return Account(f"token:{row.client}", row.role, token=True) if row else None


def log_access(session: Session, actor: str, action: str, record_id: int, address: str) -> None:
    # An INSERT statement, not session.add: the unit of work's flush cost more than the
    # write itself on every record view and download.
    line = {"actor": actor[:100], "action": action, "record_id": record_id,
            "address": address[:64]}  # fmt: skip
    session.execute(insert(RecordAccess).values(line))


def access_log(
    session: Session, limit: int, offset: int = 0, actor: str | None = None,
    record: str | None = None,
) -> tuple[int, list[AccessRow]]:  # fmt: skip
    """(lines matching, the newest `limit` of them after `offset`)."""
    query = select(
        RecordAccess.at, RecordAccess.actor, RecordAccess.action, Record.uid, RecordAccess.address
    ).join(Record, Record.id == RecordAccess.record_id)
    if actor:
        query = query.where(RecordAccess.actor == actor)
    if record:
        query = query.where(Record.uid == record)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(RecordAccess.id.desc()).limit(limit).offset(offset))
    return int(total), [AccessRow(*row) for row in rows]


def forget_login_failures(session: Session, older_than_s: int) -> None:
    """Refused sign-ins older than the window count for nothing: drop them."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
    session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))

