"""veraPDF, the reference PDF/A validator (Java), fetched by `make setup` into .tools/.

Locate it, probe its version, and validate many files in one JVM start (about 2 s).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sohoa.external import Program

LIB_ENV = "SOHOA_VERAPDF_LIB"
MAIN_CLASS = "org.verapdf.apps.GreenfieldCliWrapper"
REPO_LIB = Path(__file__).resolve().parents[2] / ".tools" / "verapdf" / "lib"


@dataclass(frozen=True)
class Verdict:
    compliant: bool
    profile: str
    failures: tuple[str, ...]  # "6.1.3-1: Missing or empty ID in the document trailer"


def _lib_dir() -> Path | None:
    configured = os.environ.get(LIB_ENV)
    candidate = Path(configured) if configured else REPO_LIB
    return candidate if any(candidate.glob("*.jar")) else None


@dataclass(frozen=True)
class _VeraPdf(Program):
    """veraPDF runs in Java from the jars `make verapdf` fetched: both must be there."""

    def available(self) -> bool:
        return _lib_dir() is not None and super().available()

    def command(self, *args: str) -> list[str]:
        lib = _lib_dir()
        if lib is None:
            raise self.missing()
        return [self.locate(), "-cp", f"{lib}/*", MAIN_CLASS, *args]


PROGRAM = _VeraPdf(
    "veraPDF",
    executable="java",
    install=(
        "run 'make verapdf' (needs Java 17 and Maven: Debian packages "
        "openjdk-17-jre-headless maven)"
    ),
    version_pattern=r"^veraPDF (\S+)",
)


def available() -> bool:
    return PROGRAM.available()


def version() -> str:
    """veraPDF's version, from `--version` or from the last report (which names it): each
    Java start costs seconds, so one that validates files is not followed by one that only
    says this."""
    return PROGRAM.version()


def _remember_version(report: dict) -> None:
    details = {d.get("id"): d.get("version") for d in report.get("buildInformation", {}).get(
        "releaseDetails", [])}  # fmt: skip
    found = details.get("gui") or details.get("core")  # "gui" is the apps, as --version says
    if found:
        PROGRAM.remember_version(found)


def _failures(result: dict) -> tuple[str, ...]:
    return tuple(
        f"{rule['clause']}-{rule['testNumber']}: "
        + (rule["checks"][0].get("errorMessage") if rule.get("checks") else rule["description"])
        for rule in result["details"].get("ruleSummaries", [])
        if rule.get("ruleStatus") == "FAILED" or rule.get("status") == "failed"
    )


def validate(paths: list[Path], flavour: str = "2b") -> dict[Path, Verdict]:
    """Validate `paths` against a PDF/A flavour; a file veraPDF cannot parse is not compliant."""
    if not paths:
        return {}
    done = subprocess.run(
        PROGRAM.command("--flavour", flavour, "--format", "json", *map(str, paths)),
        capture_output=True,
        text=True,
    )
    try:
        report = json.loads(done.stdout)["report"]
        jobs = report["jobs"]
    except (json.JSONDecodeError, KeyError) as exc:
        detail = f"exit {done.returncode}: {done.stderr.strip()}"
        raise RuntimeError(f"veraPDF gave no report ({detail})") from exc
    _remember_version(report)
    verdicts: dict[Path, Verdict] = {}
    for job in jobs:
        path = Path(job["itemDetails"]["name"])
        results = job.get("validationResult") or []
        if not results:
            reason = job.get("taskResult") or job.get("exceptionMessage") or "not parsed"
            verdicts[path] = Verdict(False, f"PDF/A-{flavour.upper()}", (f"unreadable: {reason}",))
            continue
        result = results[0]
        verdicts[path] = Verdict(
            bool(result["compliant"]), result["profileName"], _failures(result)
        )
    return verdicts
