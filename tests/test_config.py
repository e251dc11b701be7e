"""Typed configuration: every name and type of a config.yaml checked, one place for the
defaults, and `sohoa config show|check`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from sohoa.config import SECTIONS, TOP_LEVEL, defaults, load_settings
from sohoa.errors import SohoaError
from tests.conftest import invoke


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ocr: {lowconfidence: 50}\n",
         "ocr.lowconfidence: unknown setting; did you mean ocr.low_confidence?"),
        ("pipeline: {max_attempts: three}\n",
         "pipeline.max_attempts: expected a whole number, got 'three'"),
        ("pipeline: 5\n", "pipeline: expected a mapping of settings, got 5"),
        ("ocr: {low_confidence: high}\n", "ocr.low_confidence: expected a number, got 'high'"),
        ("inventory: {qr: 1}\n", "inventory.qr: expected true or false, got 1"),
        ("signing: {trust_roots: ca.pem}\n", "signing.trust_roots: expected a list, got 'ca.pem'"),
        ("databse_url: x\n", "databse_url: unknown setting; did you mean database_url?"),
    ],
)  # fmt: skip
def test_a_wrong_name_or_type_is_refused_with_its_path(
    workdir: Path, text: str, message: str
) -> None:
    Path("config.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SohoaError) as caught:
        load_settings()
    assert str(caught.value) == f"config file config.yaml: {message}"
    result = invoke("config", "check", "config.yaml")
    assert result.exit_code == 1 and result.output.strip() == f"error: {caught.value}"


def test_typed_fields_carry_the_file_and_the_environment(workdir: Path) -> None:
    Path("config.yaml").write_text("ocr: {low_confidence: 45}\npipeline: {max_attempts: 5}\n")
    settings = load_settings(environ={"SOHOA_WORKERS": "3", "SOHOA_OCR_LANGUAGES": "vie"})
    assert settings.ocr.low_confidence == 45.0 and settings.ocr.languages == "vie"
    assert (settings.pipeline.max_attempts, settings.pipeline.workers) == (5, 3)
    assert settings.ocr.min_dpi == defaults()["ocr"]["min_dpi"]


def test_the_dataclasses_and_config_yaml_name_the_same_settings() -> None:
    documented = defaults()
    assert set(documented) == set(TOP_LEVEL) | set(SECTIONS)
    for name, cls in SECTIONS.items():
        assert set(documented[name]) == {f.name for f in dataclasses.fields(cls)}, name
    load_settings(environ={})  # and every default has its declared type


def test_config_show_says_where_each_value_came_from_and_hides_passwords(
    workdir: Path,
) -> None:
    Path("config.yaml").write_text(
        "database_url: postgresql+psycopg://sohoa:s3cret@db.example/sohoa\n"
        "pipeline: {max_attempts: 5}\n"
    )
    result = invoke("config", "show", "--format", "json", env={"SOHOA_WORKERS": "2"})
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    rows = {row["setting"]: row for row in json.loads(result.output)}
    assert rows["database_url"] == {"setting": "database_url", "from": "file",
                                    "value": "postgresql+psycopg://***@db.example/sohoa"}
    assert (rows["pipeline.max_attempts"]["value"], rows["pipeline.max_attempts"]["from"]) == (
        5, "file")  # fmt: skip
    assert rows["pipeline.workers"] == {"setting": "pipeline.workers", "value": 2,
                                        "from": "env SOHOA_WORKERS"}  # fmt: skip
    assert rows["ocr.languages"]["from"] == "default"


def test_config_check_accepts_a_good_file(workdir: Path) -> None:
    Path("good.yaml").write_text("ocr: {languages: vie}\n")
    result = invoke("config", "check", "good.yaml")
    assert (result.exit_code, result.output) == (0, "good.yaml: ok\n")


def test_the_readme_example_config_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("### Example config.yaml", 1)[1].split("```yaml\n", 1)[1]
    path = tmp_path / "config.yaml"
    path.write_text(example.split("```", 1)[0], encoding="utf-8")
    settings = load_settings(path, environ={})
    assert settings.signing.level == "B-T" and settings.pipeline.workers == 2
