"""A register imported after archiving: only the files whose metadata really changes are
rebuilt and signed again, on the workers, with progress (sohoa.pipeline.register)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sohoa.config import Settings
from sohoa.pipeline import register as register_step
from sohoa.pipeline.audit import import_register
from tests.conftest import events_per_record, invoke


class Recording:
    """A progress reporter that remembers what it was told."""

    def __init__(self) -> None:
        self.started: tuple[str, int] | None = None
        self.done: list[tuple[str, str]] = []
        self.closed = False

    def start(self, batch: str, total: int) -> None:
        self.started = (batch, total)

    def record_done(self, rel_path: str, state: str, pages: int, note: str) -> None:
        self.done.append((rel_path, state))

    def close(self) -> None:
        self.closed = True


@pytest.mark.slow
def test_a_later_register_rebuilds_each_changed_file_once_on_the_workers(
    initialised: Settings, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = initialised
    assert invoke("sample", "scans", "--records", "3", "--seed", "7", "--dpi", "150").exit_code == 0
    result = invoke("run", "scans", "--batch", "box-1", "--workers", "1")
    assert result.exit_code == 0, result.output
    built = events_per_record(settings, "sign")
    assert len(built) == 3 and set(built.values()) == {1}

    monkeypatch.setattr(register_step, "PARALLEL_FROM", 1)  # a local Dask cluster from 1 file
    register = workdir / "scans" / "_inventory.csv"
    imported = invoke("inventory", "import", str(register))
    assert imported.exit_code == 0, imported.output
    assert events_per_record(settings, "sign") == {uid: 2 for uid in built}
    assert events_per_record(settings, "pdfa") == {uid: 2 for uid in built}
    names = sorted(p.name for p in settings.archive_dir.rglob("*.pdf"))
    assert len(names) == 3 and all(name.endswith(".001.pdf") for name in names)

    # The same register again changes nothing; one title changed rebuilds that file alone.
    assert invoke("inventory", "import", str(register)).exit_code == 0
    assert events_per_record(settings, "sign") == {uid: 2 for uid in built}
    rows = list(csv.DictReader(register.open(encoding="utf-8")))
    changed = next(row for row in rows if f"{row['code']}.001.pdf" in names)
    changed["title"] += " (bổ sung)"
    with register.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    progress = Recording()
    [(uid, path)] = import_register(settings, register, progress).applied.updated
    assert Path(path).name == f"{changed['code']}.001.pdf"
    assert progress.started == ("register", 1) and progress.closed
    assert [state for _, state in progress.done] == ["archived"]
    assert events_per_record(settings, "sign")[uid] == 3
    verified = invoke("verify")
    assert verified.exit_code == 0, verified.output
