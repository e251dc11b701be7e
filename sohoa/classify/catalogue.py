"""The procedure catalogue (config.yaml `classify.catalogue`): validated, normalised, versioned.

A mistake in the catalogue silently misfiles whole batches, so `load_catalogue` refuses
anything doubtful and says which entry and field to fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from sohoa.classify.normalise import fold, nfc
from sohoa.errors import SohoaError

UNKNOWN_KEY = "khac"
LEVELS = ("xa", "huyen", "tinh")
_REQUIRED = ("key", "name", "level")
_TERM_LISTS = ("phrases", "keywords", "patterns")
_FIELDS = frozenset({*_REQUIRED, "code", *_TERM_LISTS})
# Keys name archive folders (archive/<procedure>/...), so they must be safe path parts.
_KEY = re.compile(r"[a-z][a-z0-9_]*")
# National codes look like 1.001193; a province may add a suffix (1.012753.H19).
_CODE = re.compile(r"\d\.\d{6}(\.[A-Z0-9]+)?")
# Shorter folded terms ("so", "ho") occur inside ordinary words and match everything.
_MIN_TERM_CHARS = 4


@dataclass(frozen=True)
class Procedure:
    key: str
    code: str | None
    name: str
    level: str
    phrases: tuple[str, ...]  # form titles, as printed on the application form
    keywords: tuple[str, ...]  # words typical of the form's body
    patterns: tuple[str, ...]  # regular expressions, tried on the NFC and the folded text


@dataclass(frozen=True)
class Catalogue:
    procedures: tuple[Procedure, ...]
    version: str  # short hash of the normalised content; recorded with each classification

    def get(self, key: str) -> Procedure:
        for procedure in self.procedures:
            if procedure.key == key:
                return procedure
        known = ", ".join(p.key for p in self.procedures)
        raise SohoaError(f"unknown procedure '{key}'; the catalogue has: {known}")

    @property
    def unknown(self) -> Procedure:
        return self.get(UNKNOWN_KEY)


def load_catalogue(items: list[dict]) -> Catalogue:
    """Validate the raw catalogue entries and return them normalised to NFC."""
    if not isinstance(items, list):
        raise SohoaError(f"classify.catalogue must be a list of entries, not {_kind(items)}")
    procedures: list[Procedure] = []
    first_entry: dict[tuple[str, str | None], int] = {}  # ("key"|"code", value) -> entry number
    term_owner: dict[str, tuple[int, str, str]] = {}  # folded term -> (entry, key, field)
    for number, item in enumerate(items, start=1):
        procedure = _procedure(number, item)
        where = f"catalogue entry {number} (key '{procedure.key}')"
        for field, value in (("key", procedure.key), ("code", procedure.code)):
            if value is None:
                continue
            if (field, value) in first_entry:
                raise SohoaError(
                    f"{where}: duplicate {field} '{value}', already used by entry "
                    f"{first_entry[field, value]}"
                )
            first_entry[field, value] = number
        _check_terms(where, number, procedure, term_owner)
        procedures.append(procedure)
    if ("key", UNKNOWN_KEY) not in first_entry:
        raise SohoaError(
            f"the catalogue has no '{UNKNOWN_KEY}' entry; add one (level xa, no phrases) "
            "for records that match no procedure"
        )
    return Catalogue(procedures=tuple(procedures), version=_version(procedures))


def _procedure(number: int, item: Any) -> Procedure:
    if not isinstance(item, dict):
        raise SohoaError(f"catalogue entry {number}: must be a mapping, not {_kind(item)}")
    key = item.get("key")
    where = f"catalogue entry {number}" + (f" (key '{key}')" if isinstance(key, str) else "")
    unknown = sorted(str(field) for field in set(item) - _FIELDS)
    if unknown:
        raise SohoaError(
            f"{where}: unknown field(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(_FIELDS))})"
        )
    for field in _REQUIRED:
        value = item.get(field)
        if not isinstance(value, str) or not value.strip():
            raise SohoaError(f"{where}: '{field}' is required and must be non-empty text")
    if not _KEY.fullmatch(key):
        raise SohoaError(f"{where}: key must be lowercase letters, digits and _ (like khai_sinh)")
    if item["level"] not in LEVELS:
        raise SohoaError(f"{where}: level '{item['level']}' is not one of {', '.join(LEVELS)}")
    terms = {field: _text_list(where, field, item.get(field)) for field in _TERM_LISTS}
    return Procedure(
        key=key,
        code=_code(where, item.get("code")),
        name=nfc(item["name"].strip()),
        level=item["level"],
        phrases=terms["phrases"],
        keywords=terms["keywords"],
        patterns=terms["patterns"],
    )


def _code(where: str, code: Any) -> str | None:
    if code is None:
        return None
    if isinstance(code, float | int):
        # YAML reads an unquoted 1.001193 as a number and drops trailing zeros.
        raise SohoaError(f'{where}: code {code} must be quoted text, like code: "1.001193"')
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise SohoaError(f"{where}: code '{code}' should look like 1.001193 or 1.012753.H19")
    return code


def _text_list(where: str, field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SohoaError(f"{where}: '{field}' must be a list, like {field}: [first, second]")
    for text in value:
        if not isinstance(text, str) or not text.strip():
            raise SohoaError(f"{where}: '{field}' holds {text!r}; each item must be non-empty text")
    return tuple(nfc(text.strip()) for text in value)


def _check_terms(
    where: str, number: int, procedure: Procedure, owner: dict[str, tuple[int, str, str]]
) -> None:
    if procedure.key == UNKNOWN_KEY:
        if procedure.phrases or procedure.keywords or procedure.patterns:
            raise SohoaError(
                f"{where}: the '{UNKNOWN_KEY}' entry is the fallback for unmatched records "
                "and must have no phrases, keywords or patterns"
            )
        return
    if not (procedure.phrases or procedure.keywords or procedure.patterns):
        raise SohoaError(f"{where}: needs at least one phrase, keyword or pattern to be found")
    for field in ("phrases", "keywords"):
        for term in getattr(procedure, field):
            folded = fold(term)
            if len(folded) < _MIN_TERM_CHARS:
                raise SohoaError(
                    f"{where}: {field} item '{term}' is too short to match reliably "
                    f"(under {_MIN_TERM_CHARS} characters without diacritics)"
                )
            if folded in owner:
                entry, key, other_field = owner[folded]
                raise SohoaError(
                    f"{where}: {field} item '{term}' is already in {other_field} of entry "
                    f"{entry} (key '{key}'); a term must point to one procedure"
                )
            owner[folded] = (number, procedure.key, field)
    for pattern in procedure.patterns:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise SohoaError(
                f"{where}: pattern '{pattern}' is not a valid regular expression: {exc}"
            ) from exc
        if compiled.search(""):
            raise SohoaError(f"{where}: pattern '{pattern}' matches empty text, so every record")


def _version(procedures: list[Procedure]) -> str:
    content = json.dumps([asdict(p) for p in procedures], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]


def _kind(value: Any) -> str:
    return type(value).__name__
