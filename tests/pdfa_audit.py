"""pytest plugin: every PDF/A the test suite produces is validated by veraPDF (PDF/A-2B), before
and after signing, in one Java start at the end of the session (the start costs seconds).

Collected: every file under an `archive/<procedure>/` folder of the session's temporary
directory (what `sohoa run`, `review set` and `link` wrote), the first revision of each of
them (the PDF/A as built, before the signature), and the files tests `register()` (e.g. the
signing tests' outputs). Files a test breaks on purpose are `exclude()`d. A non-compliant
file fails the session, naming the file and the rules it breaks; the verdict counts are
printed in the terminal summary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sohoa.archive import original_revision, verapdf

_registered: list[Path] = []
_excluded: set[Path] = set()
_summary: list[str] = []


def register(*paths: Path) -> None:
    """Validate these files too (they must still exist at the end of the session)."""
    _registered.extend(Path(p).resolve() for p in paths)


def exclude(*paths: Path) -> None:
    """Files a test tampered with on purpose: not an output of sohoa any more."""
    _excluded.update(Path(p).resolve() for p in paths)


def _collect(base: Path, unsigned_dir: Path) -> list[Path]:
    found = {p.resolve() for p in base.rglob("archive/*/*.pdf")}
    signed = sorted(found - _excluded)
    before: list[Path] = []
    for path in signed:  # the PDF/A as built, before pyHanko appended the signature
        try:
            first = original_revision(path.read_bytes())
        except ValueError:
            continue  # not signed: validated as it is
        name = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        copy = unsigned_dir / f"{name}-{path.stem}.unsigned.pdf"
        copy.write_bytes(first)
        before.append(copy)
    extra = [p for p in _registered if p.is_file() and p not in _excluded]
    return sorted(set(signed) | set(before) | set(extra))


def _signed(path: Path) -> bool:
    try:
        original_revision(path.read_bytes())
    except ValueError:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def pdfa_audit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    base = tmp_path_factory.getbasetemp()
    paths = _collect(base, tmp_path_factory.mktemp("pdfa-audit"))
    if not paths:
        return
    if not verapdf.available():
        _summary.append(f"veraPDF not installed: {len(paths)} PDF(s) of this session not validated")
        return
    verdicts = verapdf.validate(paths)
    bad = {path: v for path, v in verdicts.items() if not v.compliant}
    missing = [path for path in paths if path not in verdicts]
    unsigned = sum(not _signed(path) for path in paths)
    _summary.append(
        f"veraPDF {verapdf.version()} PDF/A-2B: {len(verdicts) - len(bad)} compliant, "
        f"{len(bad)} not compliant, {len(missing)} without a verdict, of {len(paths)} PDF(s) "
        f"produced by this session ({unsigned} before signing, {len(paths) - unsigned} signed)"
    )
    if bad or missing:
        lines = [f"{path}: {'; '.join(v.failures) or 'not compliant'}" for path, v in bad.items()]
        lines += [f"{path}: no verdict from veraPDF" for path in missing]
        pytest.fail("PDF/A-2B violations in the session's outputs:\n" + "\n".join(lines))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _summary:
        terminalreporter.write_line(line)
