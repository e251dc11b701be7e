"""`sohoa verify`: re-hash every archived file, validate its signatures, its structure (libqpdf)
and its PDF/A claim (veraPDF, or the quick check), and record the verdict as a `verify` event.
A copy that is missing or changed fails its record as `damaged` (see FIXITY_PROBLEMS).

Files are checked in chunks, each in one call of `verify_files`: veraPDF's Java start costs
several CPU-seconds, so a chunk validates all its files in one start. A few files are checked
in this process; many (PARALLEL_FROM and up, or `--workers` above 1, or `--scheduler`) go to
Dask workers, one chunk per task, and the verdicts are committed here as chunks come back.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import pikepdf
from sqlalchemy import Select
from sqlalchemy.orm import Session, sessionmaker

from sohoa import __version__
from sohoa.archive import check_file, check_pdfa, structure
from sohoa.archive.verify import QUICK_CHECK, structure_problems
from sohoa.config import Settings
from sohoa.pipeline.cluster import dashboard_address, map_chunks, usable_cores
from sohoa.pipeline.driver import Reporter
from sohoa.records import (
    EventRow,
    Record,
    open_database,
    session_scope,
    store,
    verify_runs,
)

MAX_CHUNK = 200  # files per veraPDF start
# Files from which Dask's workers pay off by default. Measured on 40 files (2 shared cores):
# veraPDF's Java start is ~7 CPU-s and each file ~0.3 CPU-s more, Dask's start ~10 CPU-s,
# so below a few hundred files one process (one Java start) finishes first.
PARALLEL_FROM = 200
# Problems that mean the signed copy is gone or no longer the file archived (fixity): the
# record stops counting as digitized. Trust, timestamp and PDF/A verdicts on an unchanged
# file are reported only: a wrong trust root in the configuration must not fail the archive.
FIXITY_PROBLEMS = ("missing", "sha256_mismatch", "unreadable")


@dataclass(frozen=True)
class VerifyItem:
    """One archived file to check: what a worker needs, and where the verdict goes."""

    record_id: int
    batch_id: int
    uid: str
    rel_path: str
    path: str
    sha256: str | None
    pages: int


@dataclass(frozen=True)
class VerifyResult:
    uid: str
    path: str
    ok: bool
    problems: tuple[str, ...]
    pdfa_validator: str | None  # "veraPDF 1.28.2" or "pikepdf quick check"; None: not checked
    rel_path: str = ""
    structure_validator: str | None = None  # "libqpdf 12.4.2"
    test_certificate: bool | None = None  # signed with a TEST certificate; None: unreadable


@dataclass(frozen=True)
class VerifyRequest:
    batch: str | None = None
    since: dt.date | None = None  # only files archived on or after this day
    workers: int | None = None  # None: this process for a few files, else the usable cores
    scheduler: str | None = None  # an existing Dask cluster
    sample: int | None = None  # check this many files drawn at random from the selection
    restart: bool = False  # begin anew instead of continuing an interrupted run

    @property
    def selection(self) -> verify_runs.Selection:
        return verify_runs.Selection(self.batch, self.since, self.sample)


@dataclass(frozen=True)
class VerifyOutcome:
    """This invocation's verdicts, and the whole run's counts when it continued one."""

    results: list[VerifyResult]
    continued_from: dt.datetime | None  # start of the interrupted run this one finished
    run_files: int  # files checked by the run, earlier parts included
    run_failed: int


def trust_roots(settings: Settings) -> list[Path]:
    roots = [Path(p) for p in settings.signing.trust_roots]
    test_root = settings.keys_dir / "test-signer.pem"
    if not settings.signing.pkcs12 and test_root.is_file():
        roots.append(test_root)
    return roots


def verify_files(items: list[VerifyItem], roots: list[Path]) -> list[VerifyResult]:
    """Check a chunk of files: hash, signatures, structure, then PDF/A in one veraPDF start.
    Runs on a Dask worker or in the calling process; touches no database."""
    # A tampered file is reported as a problem row; pyHanko's own traceback would be noise.
    logging.getLogger("pyhanko.sign.diff_analysis").setLevel(logging.ERROR)
    checked = {item.uid: check_file(Path(item.path), item.sha256, roots) for item in items}
    found = {uid: list(check.problems) for uid, check in checked.items()}
    readable = [
        item for item in items
        if not any(p.startswith(("missing", "unreadable")) for p in found[item.uid])
    ]  # fmt: skip
    for item in readable:
        found[item.uid] += structure_problems(Path(item.path))
    pdfa = check_pdfa([Path(item.path) for item in readable])
    results = []
    for item in items:
        verdict = pdfa.get(Path(item.path))
        problems = list(found[item.uid])
        if verdict is not None and not verdict.compliant:
            problems.append("not_pdfa: " + "; ".join(verdict.failures[:3]))
        results.append(
            VerifyResult(
                uid=item.uid,
                path=item.path,
                ok=not problems,
                problems=tuple(problems),
                pdfa_validator=verdict.validator if verdict else None,
                rel_path=item.rel_path,
                structure_validator=structure.VALIDATOR,
                test_certificate=checked[item.uid].test_certificate,
            )
        )
    return results


def _targets(session: Session, ids: Select[Any]) -> list[VerifyItem]:
    """The files of the records `ids` selects (a query of Record.id over `records`)."""
    columns = (Record.id, Record.batch_id, Record.uid, Record.rel_path, Record.output_path,
               Record.output_sha256, Record.page_count)  # fmt: skip
    query = ids.with_only_columns(*columns).order_by(Record.id)
    return [
        VerifyItem(record_id, batch_id, uid, rel_path, path or "", sha, pages or 0)
        for record_id, batch_id, uid, rel_path, path, sha, pages in session.execute(query)
    ]


def _chunks(items: list[VerifyItem], size: int) -> Iterator[list[VerifyItem]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _agents(result: VerifyResult) -> list[dict[str, str]]:
    """The programs that gave the verdict, for the audit trail. Versions come from the
    worker's own words ("veraPDF 1.28.2"): asking veraPDF here would start Java again."""
    agents = [{"name": "pyHanko", "version": package_version("pyHanko")}]
    for validator in (result.structure_validator, result.pdfa_validator):
        if validator == QUICK_CHECK:
            agents.append({"name": "pikepdf", "version": pikepdf.__version__})
        elif validator:
            name, _, version = validator.partition(" ")
            agents.append({"name": name, "version": version})
    return agents


def _record(
    factory: sessionmaker[Session], run_id: int, items: list[VerifyItem],
    results: list[VerifyResult],
) -> None:  # fmt: skip
    where = {item.uid: item for item in items}
    with session_scope(factory) as session:
        verify_runs.add_checked(session, run_id, len(results), sum(not r.ok for r in results))
        for result in results:
            item = where[result.uid]
            detail = {
                "problems": list(result.problems),
                "pdfa_validator": result.pdfa_validator,
                "agents": _agents(result),
            }
            store.add_event(
                session,
                EventRow("verify", "ok" if result.ok else "failed", tool="sohoa verify",
                         tool_version=__version__, detail=detail),
                batch_id=item.batch_id,
                record_id=item.record_id,
            )  # fmt: skip
            damage = [p for p in result.problems if p.startswith(FIXITY_PROBLEMS)]
            if damage:
                store.mark_damaged(session, item.record_id, damage)


def _workers(request: VerifyRequest, files: int) -> int:
    """1 (this process) for a few files; else --workers, or the usable cores."""
    if request.scheduler:
        return max(2, request.workers or usable_cores())
    if request.workers is not None:
        return request.workers
    return usable_cores() if files >= PARALLEL_FROM else 1


def verify_archive(
    settings: Settings, request: VerifyRequest, reporter: Reporter | None = None
) -> VerifyOutcome:
    """Check the selection's files, or what an interrupted run of the same selection left."""
    with open_database(settings.database_url) as factory:
        with session_scope(factory) as session:
            start = verify_runs.start_run(session, request.selection, request.restart)
            items = _targets(session, verify_runs.still_to_check(session, request.selection, start))
        roots = trust_roots(settings)
        workers = _workers(request, len(items))
        size = max(1, min(MAX_CHUNK, math.ceil(len(items) / workers)))
        chunks = list(_chunks(items, size))
        if reporter is not None:
            reporter.start("verify", len(items))
        results: list[VerifyResult] = []
        try:
            dashboard = dashboard_address(settings)
            for chunk, checked in map_chunks(
                verify_files, chunks, (roots,), workers, request.scheduler, dashboard
            ):
                _record(factory, start.run_id, chunk, checked)
                results.extend(checked)
                if reporter is not None:
                    pages = {item.uid: item.pages for item in chunk}
                    for r in checked:
                        note = "; ".join(r.problems) or "ok"
                        state = "ok" if r.ok else "failed"
                        reporter.record_done(r.rel_path, state, pages[r.uid], note)
        finally:
            if reporter is not None:
                reporter.close()
        with session_scope(factory) as session:
            run = verify_runs.finish_run(session, start.run_id)
            run_files, run_failed = run.files, run.failed
    position = {item.uid: n for n, item in enumerate(items)}
    return VerifyOutcome(
        results=sorted(results, key=lambda r: position[r.uid]),
        continued_from=start.started_at if start.continued else None,
        run_files=run_files,
        run_failed=run_failed,
    )
