"""The signatures a source PDF already carries (a document signed before it was scanned
into the archive): validated and recorded, since rasterising the pages drops them."""

from __future__ import annotations

from importlib.metadata import version as package_version

from sohoa.archive import signature_problems, verify_signatures
from sohoa.archive.verify import PdfReadError
from sohoa.ingest import RecordSource, sniff_type
from sohoa.pipeline.context import WorkerSettings
from sohoa.records import EventRow


def source_signatures(source: RecordSource, settings: WorkerSettings) -> dict[str, dict]:
    """The verdict on the signatures a source PDF carries (a document signed before it was
    scanned into the archive): rasterised, they would be lost without a word. Checked
    against the archive's trust roots (signing.trust_roots)."""
    verdicts = {}
    for source_file in source.files:
        path = source.root / source_file.rel_path
        if sniff_type(path) != "pdf":
            continue
        try:
            checks = verify_signatures(path, settings.signer.trust_roots)
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            verdicts[source_file.rel_path] = {"ok": False, "problems": [f"unreadable: {exc}"]}
            continue
        if not checks:
            continue
        problems = signature_problems(checks)
        verdicts[source_file.rel_path] = {
            "ok": not problems,
            "problems": problems,
            "signatures": [
                {"field": c.field, "signer": c.signer, "kind": c.kind, "intact": c.intact,
                 "valid": c.valid, "trusted": c.trusted, "modification": c.modification}
                for c in checks
            ],
        }  # fmt: skip
    return verdicts


def signature_events(verdicts: dict[str, dict]) -> tuple[EventRow, ...]:
    if not verdicts:
        return ()
    outcome = "ok" if all(v["ok"] for v in verdicts.values()) else "warning"
    row = EventRow("source_signatures", outcome, tool="pyHanko",
                   tool_version=package_version("pyHanko"), detail=verdicts)  # fmt: skip
    return (row,)
