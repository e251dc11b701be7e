"""Settings: built-in defaults, then config.yaml, then SOHOA_* environment variables.

`sohoa/config.yaml` is the one place the defaults live (and their documentation); the frozen
dataclasses below give each setting its type. Every key of a user's file is checked: an
unknown one is refused with its full path and the closest valid name, a value of the wrong
type with the type expected. A test keeps the dataclasses and config.yaml in step.

Secrets (the signing passphrase) are read from the environment or a file when needed,
never stored here.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sohoa.errors import SohoaError

CONFIG_ENV = "SOHOA_CONFIG"
# Environment variables that override a top-level or nested key.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "SOHOA_DATA_DIR": ("data_dir",),
    "SOHOA_DATABASE_URL": ("database_url",),
    "SOHOA_ARCHIVE_DIR": ("archive_dir",),
    "SOHOA_WORKERS": ("pipeline", "workers"),
    "SOHOA_OCR_LANGUAGES": ("ocr", "languages"),
    "SOHOA_SIGNING_PKCS12": ("signing", "pkcs12"),
    "SOHOA_SIGNING_LEVEL": ("signing", "level"),
    "SOHOA_SIGNING_TSA_URL": ("signing", "tsa_url"),
}


@dataclass(frozen=True)
class OcrConfig:
    languages: str
    default_dpi: float
    min_dpi: float
    ocr_dpi: float
    low_confidence: float
    page_timeout_s: float
    max_pixels: int


@dataclass(frozen=True)
class ClassifyConfig:
    review_threshold: float
    model_review_threshold: float
    catalogue: tuple[dict[str, Any], ...]  # checked entry by entry by sohoa.classify


@dataclass(frozen=True)
class InventoryConfig:
    qr: bool
    code_pattern: str | None


@dataclass(frozen=True)
class FondsConfig:
    """The fonds (phông lưu trữ) of `sohoa package`'s bag-info.txt, TT 02/2019/TT-BNV."""

    identifier: str | None
    organ_id: str | None
    fond_name: str | None
    fond_history: str | None
    archives_time: str | None
    paper_total: int | None
    paper_digital: int | None
    keys_groups: str | None
    other_types: str | None
    language: str | None
    lookup_tools: str | None
    copy_number: int | None
    description: str | None


@dataclass(frozen=True)
class ArchiveConfig:
    agency: str
    jpeg_quality: int
    language: str
    maintenance: str
    maintenance_by_procedure: dict[str, str]
    rights: str
    fonds: FondsConfig


@dataclass(frozen=True)
class Pkcs11Config:
    """The agency's token or HSM (signing.pkcs11); the PIN is never here."""

    module: str | None
    token_label: str | None
    token_serial: str | None
    key_label: str | None
    key_id: str | None
    cert_label: str | None
    cert_id: str | None
    sessions: int


@dataclass(frozen=True)
class SigningConfig:
    pkcs12: str | None
    passphrase_file: str | None
    level: str
    tsa_url: str | None
    tsa_timeout_s: float
    trust_roots: tuple[str, ...]
    other_certs: tuple[str, ...]
    crls: tuple[str, ...]
    fetch_revocation: bool
    visible_stamp: bool
    seal_image: str | None
    seal_size_mm: float
    expiry_warning_days: int
    require_production: bool
    pin_file: str | None
    pkcs11: Pkcs11Config


@dataclass(frozen=True)
class PipelineConfig:
    workers: int | None
    max_in_flight_per_worker: int
    max_attempts: int
    db_retry_s: float
    dashboard_address: str | None
    pages_per_task: int

    def __post_init__(self) -> None:
        if self.pages_per_task < 1:
            raise SohoaError(
                f"pipeline.pages_per_task: expected at least 1, got {self.pages_per_task}"
            )


@dataclass(frozen=True)
class SearchConfig:
    max_query_chars: int
    default_limit: int
    max_limit: int
    fuzzy: bool


@dataclass(frozen=True)
class WebConfig:
    workers: int | None
    threads: int
    language: str
    session_hours: float
    secure_cookies: bool
    dashboard_ttl_s: float
    keep_alive_s: int
    login_window_s: int
    login_failures_per_name: int
    login_failures_per_address: int


SECTIONS: dict[str, type] = {
    "ocr": OcrConfig,
    "classify": ClassifyConfig,
    "inventory": InventoryConfig,
    "archive": ArchiveConfig,
    "signing": SigningConfig,
    "pipeline": PipelineConfig,
    "search": SearchConfig,
    "web": WebConfig,
}
TOP_LEVEL: dict[str, Any] = {
    "data_dir": str,
    "database_url": str | None,
    "archive_dir": str | None,
    "timezone": str,
    "quarantine_dir": str | None,
}


@dataclass(frozen=True)
class Settings:
    raw: dict[str, Any]  # the merged configuration, as a snapshot for the batch record
    source: str  # where the user part came from ("built-in defaults" or a path)
    data_dir: Path
    database_url: str
    archive_dir: Path
    keys_dir: Path
    quarantine_dir: Path  # damaged copies and files no record owns, moved aside as evidence
    timezone: str  # IANA name: the days and times that reports show
    ocr: OcrConfig
    classify: ClassifyConfig
    inventory: InventoryConfig
    archive: ArchiveConfig
    signing: SigningConfig
    pipeline: PipelineConfig
    search: SearchConfig
    web: WebConfig
    # "ocr.languages" -> "default", "file", or "env SOHOA_OCR_LANGUAGES"
    origins: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def signing_pkcs12(self) -> Path:
        configured = self.signing.pkcs12
        return Path(configured) if configured else self.keys_dir / "test-signer.p12"


def defaults() -> dict[str, Any]:
    """The built-in defaults, as config.yaml documents them."""
    text = resources.files("sohoa").joinpath("config.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_config_file(path: Path) -> dict[str, Any]:
    """A user's config.yaml, with every name and type checked (SohoaError otherwise)."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SohoaError(f"cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise SohoaError(f"config file {path} is not valid YAML{line}: {problem}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        kind = type(loaded).__name__
        raise SohoaError(f"config file {path} must be a mapping of settings, not a {kind}")
    try:
        _check_names(loaded)
        _typed(_merge(defaults(), loaded))
    except SohoaError as exc:
        raise SohoaError(f"config file {path}: {exc}") from None
    return loaded


def _check_names(loaded: dict[str, Any]) -> None:
    known = [*TOP_LEVEL, *SECTIONS]
    for key, value in loaded.items():
        if key not in known:
            raise SohoaError(_unknown(str(key), known))
        if key in SECTIONS:
            _check_section(key, value, SECTIONS[key])


# Secrets a user may be tempted to write into config.yaml, and where they go instead.
SECRETS = {
    "pin": ("a PIN", "SOHOA_SIGNING_PIN or signing.pin_file"),
    "passphrase": ("a passphrase", "SOHOA_SIGNING_PASSPHRASE or signing.passphrase_file"),
    "password": ("a password", "the environment (e.g. SOHOA_DATABASE_URL)"),
}


def _check_section(path: str, value: Any, cls: type) -> None:
    """Every name in a section (or a mapping nested in one) is a field of its dataclass."""
    if not isinstance(value, dict):
        raise SohoaError(f"{path}: expected a mapping of settings, got {value!r}")
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls)]
    for name, inner in value.items():
        if name in SECRETS:
            what, where = SECRETS[name]
            raise SohoaError(
                f"{path}.{name}: {what} in config.yaml is never read: remove it, use {where}"
            )
        if name not in fields:
            raise SohoaError(_unknown(f"{path}.{name}", [f"{path}.{f}" for f in fields]))
        if dataclasses.is_dataclass(hints[name]) and inner is not None:
            _check_section(f"{path}.{name}", inner, hints[name])


def _unknown(path: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(path, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f" (valid: {', '.join(valid)})"
    return f"{path}: unknown setting{hint}"


def _typed(raw: dict[str, Any]) -> dict[str, Any]:
    """Each top-level value and each section, converted to its declared type."""
    typed: dict[str, Any] = {
        key: _convert(raw.get(key), kind, key) for key, kind in TOP_LEVEL.items()
    }
    for name, cls in SECTIONS.items():
        typed[name] = _convert(raw.get(name), cls, name)
    return typed


def _convert(value: Any, kind: Any, path: str) -> Any:
    """`value` as `kind` (str, int, float, bool, T | None, tuple[T, ...], dict[str, T])."""
    if isinstance(kind, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0], path)
    origin = typing.get_origin(kind)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise SohoaError(f"{path}: expected a list, got {value!r}")
        item = typing.get_args(kind)[0]
        return tuple(_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise SohoaError(f"{path}: expected a mapping, got {value!r}")
        args = typing.get_args(kind)
        item = args[1] if args else Any
        return {str(k): _convert(v, item, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise SohoaError(f"{path}: expected a mapping of settings, got {value!r}")
        hints = typing.get_type_hints(kind)
        return kind(
            **{f.name: _convert(value.get(f.name), hints[f.name], f"{path}.{f.name}")
               for f in dataclasses.fields(kind)}
        )  # fmt: skip
    if kind is Any:
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise SohoaError(f"{path}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SohoaError(f"{path}: expected a whole number, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SohoaError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise SohoaError(f"{path}: expected text, got {value!r}")
        return str(value)
    raise TypeError(f"no conversion to {kind!r} for {path}")  # a field type this module misses


def _field_type(keys: tuple[str, ...]) -> Any:
    if len(keys) == 1:
        return TOP_LEVEL[keys[0]]
    return typing.get_type_hints(SECTIONS[keys[0]])[keys[1]]


def _apply_env(raw: dict[str, Any], environ: dict[str, str], origins: dict[str, str]) -> None:
    for var, keys in ENV_OVERRIDES.items():
        if var not in environ:
            continue
        target = raw
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        value: Any = environ[var]
        if _field_type(keys) in (int, int | None):
            if not value.isdigit() or int(value) < 1:
                raise SohoaError(f"{var} must be a positive whole number, not {value!r}")
            value = int(value)
        target[keys[-1]] = value
        origins[".".join(keys)] = f"env {var}"


def _origins(user: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in user.items():
        if key in SECTIONS:
            found.update({f"{key}.{name}": "file" for name in value})
        else:
            found[key] = "file"
    return found


def load_settings(
    config_path: Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Merge defaults, the user's config.yaml and the environment into `Settings`."""
    environ = dict(os.environ if environ is None else environ)
    if config_path is None and environ.get(CONFIG_ENV):
        config_path = Path(environ[CONFIG_ENV])
    if config_path is None and Path("config.yaml").is_file():
        config_path = Path("config.yaml")
    raw = defaults()
    source = "built-in defaults"
    origins: dict[str, str] = {}
    if config_path is not None:
        user = read_config_file(config_path)
        raw = _merge(raw, user)
        origins = _origins(user)
        source = str(config_path)
    _apply_env(raw, environ, origins)
    typed = _typed(raw)

    data_dir = Path(typed["data_dir"]).expanduser().absolute()
    database_url = typed["database_url"] or f"sqlite:///{data_dir / 'sohoa.db'}"
    archive_dir = Path(typed["archive_dir"] or data_dir / "archive").expanduser().absolute()
    quarantine = Path(typed["quarantine_dir"] or data_dir / "quarantine").expanduser().absolute()
    return Settings(
        raw=raw,
        source=source,
        data_dir=data_dir,
        database_url=database_url,
        archive_dir=archive_dir,
        keys_dir=data_dir / "keys",
        quarantine_dir=quarantine,
        timezone=typed["timezone"],
        origins=origins,
        **{name: typed[name] for name in SECTIONS},
    )


def effective_values(settings: Settings) -> list[tuple[str, Any, str]]:
    """(setting, value, where it came from) for every setting but the catalogue."""
    resolved = {
        "data_dir": str(settings.data_dir),
        "database_url": settings.database_url,
        "archive_dir": str(settings.archive_dir),
        "timezone": settings.timezone,
        "quarantine_dir": str(settings.quarantine_dir),
    }
    rows = [(key, resolved[key], settings.origins.get(key, "default")) for key in TOP_LEVEL]
    for name in SECTIONS:
        rows.extend(_section_values(name, getattr(settings, name), settings.origins))
    return rows


def _section_values(path: str, section: Any, origins: dict[str, str]) -> list[tuple[str, Any, str]]:
    rows: list[tuple[str, Any, str]] = []
    for f in dataclasses.fields(section):
        where, value = f"{path}.{f.name}", getattr(section, f.name)
        if where == "classify.catalogue":
            value = f"{len(value)} procedure(s): see 'sohoa procedures'"
        if dataclasses.is_dataclass(value):
            rows.extend(_section_values(where, value, origins))
        else:
            rows.append((where, value, origins.get(where, origins.get(path, "default"))))
    return rows
