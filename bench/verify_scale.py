"""`sohoa verify` on many archived files: files per second and CPU per file, with the
structure check it replaced (`qpdf --check`, one process per file) as the baseline, in the
same run on the same files.

The archive: `sohoa run` signs a small generated corpus at 300 dpi (1-3 pages per record,
all four input formats), then the database gets --files archived records whose files are
hard links to those signed files (the bytes verify reads are real signed PDF/A files; the
page cache holds them either way). Measured, each as its own process:

  verify (no veraPDF)  `sohoa verify --workers 2` with veraPDF unavailable: SHA-256 fixity,
                       every signature (pyHanko), structure (libqpdf) and the quick PDF/A
                       check; Dask's start-up included
  verify + veraPDF     `sohoa verify --sample S --workers 1`: the same plus veraPDF over the S
                       files in one Java start
  qpdf --check         the previous structure check alone, on Q of the files, two at a time

Usage: python bench/verify_scale.py [--files 10000] [--sample 200] [--qpdf-files 100]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    VENV_BIN,
    clean_env,
    cpu_probe_us,
    machine_line,
    make_corpus,
    print_table,
    run_command,
    run_pool,
    run_sohoa,
)
from sohoa.records import Batch, Record, RecordState, database_session
from sohoa.records.models import utcnow


def _clone_archive(database_url: str, archive: Path, files: int) -> list[Path]:
    """`files` archived records in a new batch, their files hard links to the signed ones."""
    with database_session(database_url) as session:
        seeds = session.execute(
            select(Record.output_path, Record.output_sha256, Record.page_count).where(
                Record.state.in_([RecordState.ARCHIVED, RecordState.NEEDS_REVIEW])
            )
        ).all()
        batch = Batch(name="verify-scale", source=str(archive), config={})
        session.add(batch)
        session.flush()
        rows, paths = [], []
        for n in range(files):
            path, sha, pages = seeds[n % len(seeds)]
            clone = archive / "scale" / f"{n // 1000:04d}" / f"v{n:08d}.pdf"
            clone.parent.mkdir(parents=True, exist_ok=True)
            if not clone.exists():
                os.link(path, clone)
            uid = hashlib.sha256(f"verify-scale/{n}".encode()).hexdigest()[:16]
            rows.append({
                "uid": uid, "batch_id": batch.id, "rel_path": f"HS-{n:08d}",
                "state": RecordState.ARCHIVED, "output_path": str(clone), "output_sha256": sha,
                "page_count": pages, "procedure": "khai_sinh", "archived_at": utcnow(),
            })  # fmt: skip
            paths.append(clone)
            if len(rows) == 5000:
                session.execute(insert(Record), rows)
                rows = []
        if rows:
            session.execute(insert(Record), rows)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=12, help="signed files to clone from")
    parser.add_argument("--sample", type=int, default=200, help="files checked with veraPDF")
    parser.add_argument("--qpdf-files", type=int, default=100)
    args = parser.parse_args()
    print(machine_line("start"), f"cpu probe {cpu_probe_us():.1f} us")

    with tempfile.TemporaryDirectory(prefix="sohoa-verify-scale-") as tmp:
        base = Path(tmp)
        make_corpus(base / "corpus", args.records, seed=11, dpi=300)
        seeded = run_sohoa(base / "corpus", base / "work")
        if seeded.run.returncode != 0:
            raise SystemExit(f"sohoa run failed: {seeded.run.stderr[-2000:]}")
        data = base / "work" / "data"
        database_url = f"sqlite:///{data / 'sohoa.db'}"
        paths = _clone_archive(database_url, data / "archive", args.files)
        seed_pages = [row["pages"] for row in seeded.export]
        print(f"archive: {len(paths)} files cloned from {len(seed_pages)} signed records "
              f"of {min(map(len, seed_pages))}-{max(map(len, seed_pages))} page(s)")  # fmt: skip

        sohoa = str(VENV_BIN / "sohoa")
        env = clean_env(SOHOA_DATA_DIR=str(data))
        no_verapdf = {**env, "SOHOA_VERAPDF_LIB": str(base / "no-verapdf")}
        total = args.files + len(seed_pages)
        runs = []
        whole = run_command([sohoa, "verify", "--workers", "2", "--restart", "--format", "csv"],
                            env=no_verapdf, cwd=base / "work")  # fmt: skip
        runs.append(("verify (no veraPDF), 2 workers", total, whole))
        sample = run_command(
            [sohoa, "verify", "--sample", str(args.sample), "--workers", "1", "--restart",
             "--format", "csv"], env=env, cwd=base / "work",
        )  # fmt: skip
        runs.append((f"verify + veraPDF, --sample {args.sample}, 1 process", args.sample, sample))
        for _name, _files, result in runs:
            if result.returncode != 0:
                raise SystemExit(f"sohoa verify failed ({result.returncode}): {result.stderr}")
        qpdf = run_pool([["qpdf", "--check", str(p)] for p in paths[: args.qpdf_files]])

        rows = [
            [name, files, f"{r.wall_s:.1f}", f"{files / r.wall_s:.1f}", f"{r.cpu_s / files:.3f}"]
            for name, files, r in runs
        ]
        qpdf_cpu = statistics.median(r.cpu_s for r in qpdf.results)
        rows.append(["baseline: qpdf --check, 2 at a time", len(qpdf.results),
                     f"{qpdf.wall_s:.1f}", f"{len(qpdf.results) / qpdf.wall_s:.1f}",
                     f"{qpdf.cpu_s / len(qpdf.results):.3f}"])  # fmt: skip
        print_table(
            "sohoa verify at scale (CPU = user+sys of the command and its children)",
            ["what", "files", "wall s", "files/s", "CPU-s/file"],
            rows,
        )
        per_file = whole.cpu_s / total
        print(f"qpdf --check median CPU-s/file {qpdf_cpu:.3f}; sohoa verify without veraPDF "
              f"{per_file:.3f} CPU-s/file for fixity, signatures, structure and the quick PDF/A "
              f"check together, Dask start-up included (x{per_file / qpdf_cpu:.2f} of qpdf "
              "alone)")  # fmt: skip
    print(machine_line("end"), f"cpu probe {cpu_probe_us():.1f} us")


if __name__ == "__main__":
    main()
