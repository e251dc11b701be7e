"""`sohoa verify`: re-hash every archived file, validate its signatures and its PDF/A claim,
and record the verdict as a `verify` event."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from sohoa.archive import PdfaCheck, check_pdfa, verify_signatures
from sohoa.archive.verify import PdfReadError
from sohoa.config import Settings
from sohoa.ingest import sha256_file
from sohoa.records import (
    ARCHIVED_STATES,
    EventRow,
    Record,
    check_schema,
    make_engine,
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


def _file_problems(path: Path, expected_sha256: str | None, roots: list[Path]) -> list[str]:
    if not path.is_file():
        return ["missing: the archived file is not there"]
    problems = []
    if sha256_file(path) != expected_sha256:
        problems.append("sha256_mismatch: the file differs from the one archived")
    try:
        checks = verify_signatures(path, roots)
    except (PdfReadError, ValueError, KeyError) as exc:
        return [*problems, f"unreadable: {exc}"]
    if not checks:
        problems.append("unsigned: no signature found")
    for check in checks:
        if not check.intact:
            problems.append(f"signature_broken: {check.field} no longer matches the file")
        elif not check.valid:
            problems.append(f"signature_invalid: {check.field}")
        elif not check.trusted:
            problems.append(f"untrusted: {check.field} signed by {check.signer}")
    if checks and not checks[-1].covers_whole_file:
        problems.append("modified_after_signing: bytes were appended after the last signature")
    return problems


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def verify_archive(settings: Settings, batch: str | None = None) -> list[VerifyResult]:
    engine = make_engine(settings.database_url)
    check_schema(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    roots = trust_roots(settings)
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
        problems = {uid: _file_problems(Path(path), sha, roots) for _i, _b, uid, path, sha in chunk}
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
    engine.dispose()
    return results
