"""Credentials out of anything that is stored, printed or sent: the batch's configuration
snapshot, messages, events.

A setting is secret by its name (password, passphrase, PIN, token, secret, API key; a
`*_file` or `*_env` setting names where the secret lives and is kept), and any URL keeps its
user but loses its password."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "***"
_SECRET_WORDS = {"password", "passphrase", "passwd", "pin", "token", "secret", "apikey",
                 "credential", "credentials"}  # fmt: skip
_KEPT_LAST_WORDS = {"file", "env", "path", "dir", "url", "label", "name"}  # not the secret
# scheme://user:password@host -> scheme://user:***@host (also inside longer text)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?=@)")


def redact_text(text: str) -> str:
    """`text` with the password of every URL in it replaced by ***."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + REDACTED, text)


def is_secret_name(name: str) -> bool:
    """True for `pin`, `tsa_password`, `api_key`; false for `passphrase_file`, `mapping`."""
    words = re.split(r"[_\-. ]", name.lower())
    secret = not _SECRET_WORDS.isdisjoint(words) or "api_key" in name.lower()
    return secret and words[-1] not in _KEPT_LAST_WORDS


def redact(value: Any, name: str = "") -> Any:
    """A copy of a configuration value (dicts, lists, strings) with its secrets replaced."""
    if isinstance(value, dict):
        return {key: redact(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, name) for item in value]
    if value is not None and name and is_secret_name(name):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    return value
