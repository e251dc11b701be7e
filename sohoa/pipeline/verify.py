"""`sohoa verify`: re-hash every archived file, validate its signatures and its PDF/A claim,
and record the verdict as a `verify` event."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sohoa.archive import PdfaCheck, check_pdfa, file_problems
from sohoa.config import Settings
from sohoa.records import (
    ARCHIVED_STATES,
    EventRow,
    Record,
    open_database,
    session_scope,
    store,
)

PDFA_CHUNK = 50  # files per veraPDF start


@dataclass(frozen=True)
class VerifyResult:
    uid: str
    path: str
    ok: bool
    problems: tuple[str, ...]
    pdfa_validator: str | None


def trust_roots(settings: Settings) -> list[Path]:
    roots = [Path(p) for p in settings.section("signing").get("trust_roots") or []]
    test_root = settings.keys_dir / "test-signer.pem"
    if not settings.section("signing").get("pkcs12") and test_root.is_file():
        roots.append(test_root)
    return roots


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def verify_archive(settings: Settings, batch: str | None = None) -> list[VerifyResult]:
    # A tampered file is reported as a problem row; pyHanko's own traceback would be noise.
    logging.getLogger("pyhanko.sign.diff_analysis").setLevel(logging.ERROR)
    with open_database(settings.database_url) as factory:
        return _verify(factory, trust_roots(settings), batch)


def _verify(
    factory: sessionmaker[Session], roots: list[Path], batch: str | None
) -> list[VerifyResult]:
    with session_scope(factory) as session:
        query = select(Record).where(Record.state.in_(ARCHIVED_STATES)).order_by(Record.id)
        if batch:
            query = query.where(Record.batch_id == store.find_batch(session, batch).id)
        targets = [
            (r.id, r.batch_id, r.uid, r.output_path or "", r.output_sha256)
            for r in session.scalars(query)
        ]
    results = []
    for chunk in _chunks(targets, PDFA_CHUNK):
        problems = {uid: file_problems(Path(path), sha, roots) for _i, _b, uid, path, sha in chunk}
        present = [Path(path) for _i, _b, _u, path, _s in chunk if Path(path).is_file()]
        pdfa: dict[Path, PdfaCheck] = check_pdfa(present)
        with session_scope(factory) as session:
            for record_id, batch_id, uid, path, _sha in chunk:
                verdict = pdfa.get(Path(path))
                found = list(problems[uid])
                if verdict is not None and not verdict.compliant:
                    found.append("not_pdfa: " + "; ".join(verdict.failures[:3]))
                result = VerifyResult(
                    uid, path, not found, tuple(found), verdict and verdict.validator
                )
                results.append(result)
                store.add_event(
                    session,
                    EventRow(
                        "verify",
                        "ok" if result.ok else "failed",
                        tool=result.pdfa_validator,
                        detail={"problems": found},
                    ),
                    batch_id=batch_id,
                    record_id=record_id,
                )
    return results
