"""Settings: built-in defaults, then config.yaml, then SOHOA_* environment variables.

The result is a frozen `Settings` value; each stage receives only the part it needs.
Secrets (the signing passphrase) are read from the environment or a file when needed,
never stored here.
"""

from __future__ import annotations

import copy
import os
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
class Settings:
    raw: dict[str, Any]  # the merged configuration, as a snapshot for the batch record
    source: str  # where the user part came from ("built-in defaults" or a path)
    data_dir: Path
    database_url: str
    archive_dir: Path
    keys_dir: Path

    def section(self, name: str) -> dict[str, Any]:
        return self.raw.get(name) or {}

    @property
    def signing_pkcs12(self) -> Path:
        configured = self.section("signing").get("pkcs12")
        return Path(configured) if configured else self.keys_dir / "test-signer.p12"


def _defaults() -> dict[str, Any]:
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


def _read_user_config(path: Path) -> dict[str, Any]:
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
    unknown = sorted(set(loaded) - set(_defaults()))
    if unknown:
        raise SohoaError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return loaded


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> None:
    for var, keys in ENV_OVERRIDES.items():
        if var not in environ:
            continue
        target = raw
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        value: Any = environ[var]
        if keys == ("pipeline", "workers"):
            if not value.isdigit() or int(value) < 1:
                raise SohoaError(f"{var} must be a positive whole number, not {value!r}")
            value = int(value)
        target[keys[-1]] = value


def load_settings(
    config_path: Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Merge defaults, the user's config.yaml and the environment into `Settings`."""
    environ = dict(os.environ if environ is None else environ)
    if config_path is None and environ.get(CONFIG_ENV):
        config_path = Path(environ[CONFIG_ENV])
    if config_path is None and Path("config.yaml").is_file():
        config_path = Path("config.yaml")
    raw = _defaults()
    source = "built-in defaults"
    if config_path is not None:
        raw = _merge(raw, _read_user_config(config_path))
        source = str(config_path)
    _apply_env(raw, environ)

    data_dir = Path(raw["data_dir"]).expanduser().absolute()
    database_url = raw.get("database_url") or f"sqlite:///{data_dir / 'sohoa.db'}"
    archive_dir = Path(raw.get("archive_dir") or data_dir / "archive").expanduser().absolute()
    return Settings(
        raw=raw,
        source=source,
        data_dir=data_dir,
        database_url=database_url,
        archive_dir=archive_dir,
        keys_dir=data_dir / "keys",
    )
