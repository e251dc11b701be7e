"""`sohoa package` at scale: packaging N archived records (files per second, peak RSS) and
validating the bag (`sohoa package --validate`: bagit-python's full validation, the METS
schema on every record).

The archive is made once: `sohoa run` on a small generated sample gives real signed PDF/A
files, events and dossier metadata; those records are then cloned in the database (rows and
events, new ids and paths) up to N, each clone's file a hard link to its template's copy
(the bag gets real copies: packaging reads and writes every byte).

    .venv/bin/python bench/package_scale.py --records 10000 --out /tmp/package-bench

Each command runs as its own process under /usr/bin/time (peak RSS of that process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOHOA = str(REPO / ".venv" / "bin" / "sohoa")
TEMPLATES = 3


def _sohoa(env: dict[str, str], *args: str) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KiB, output) of one `sohoa` command."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "RSS_KB=%M", SOHOA, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    rss = int(done.stderr.rsplit("RSS_KB=", 1)[1].split()[0])
    if done.returncode not in (0, 2):
        sys.exit(f"sohoa {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    output = done.stdout + done.stderr.rsplit("RSS_KB=", 1)[0]
    return wall, rss, output


def _clone(database: Path, records: int) -> int:
    """Copies of the archived records (and their events) up to `records` rows."""
    db = sqlite3.connect(database)
    db.row_factory = sqlite3.Row
    templates = db.execute("SELECT * FROM records WHERE state = 'archived' ORDER BY id").fetchall()
    columns = [c for c in templates[0].keys() if c != "id"]  # noqa: SIM118 (sqlite3.Row)
    events = {
        t["id"]: db.execute("SELECT * FROM events WHERE record_id = ?", (t["id"],)).fetchall()
        for t in templates
    }
    event_columns = [c for c in events[templates[0]["id"]][0].keys() if c != "id"]  # noqa: SIM118
    for n in range(records - len(templates)):
        template = templates[n % len(templates)]
        row = dict(template)
        row["uid"] = f"c{n:015d}"
        row["rel_path"] = f"clone-{n:06d}"
        row["content_hash"] = None
        source = Path(template["output_path"])
        link = source.with_name(f"{row['uid']}.pdf")
        os.link(source, link)
        row["output_path"] = str(link)
        cursor = db.execute(
            f"INSERT INTO records ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [row[c] for c in columns],
        )
        for event in events[template["id"]]:
            values = dict(event) | {"record_id": cursor.lastrowid}
            db.execute(
                f"INSERT INTO events ({', '.join(event_columns)}) "
                f"VALUES ({', '.join('?' * len(event_columns))})",
                [values[c] for c in event_columns],
            )
        if n % 1000 == 0:
            db.commit()
    db.commit()
    total = db.execute("SELECT count(*) FROM records WHERE state = 'archived'").fetchone()[0]
    db.close()
    return int(total)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/package-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    work = args.out / "work"
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env |= {
        "SOHOA_DATA_DIR": str(work / "data"),
        "PYTHONPATH": str(REPO),
        "SOHOA_DATABASE_URL": f"sqlite:///{work / 'sohoa.db'}",
        "SOHOA_WORKERS": "1",
    }
    _sohoa(env, "init")
    _sohoa(env, "sample", str(work / "scans"), "--records", str(TEMPLATES), "--seed", "7")
    _sohoa(env, "run", str(work / "scans"), "--batch", "bench")
    total = _clone(work / "sohoa.db", args.records)
    print(
        f"archive: {total} archived records ({TEMPLATES} processed by sohoa run, the rest "
        "cloned rows with hard-linked files)"
    )
    print(
        f"[load] loadavg {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"cores {len(os.sched_getaffinity(0))} (shared with other work)"
    )

    bag = args.out / "bag"
    pack_wall, pack_rss, pack_out = _sohoa(env, "package", "--out", str(bag))
    valid_wall, valid_rss, valid_out = _sohoa(env, "package", "--validate", str(bag))
    payload = sum(1 for p in (bag / "data").rglob("*") if p.is_file())
    pdfs = sum(1 for _ in (bag / "data" / "records").glob("*/*.pdf"))
    size = _size(bag)
    print(pack_out.strip().splitlines()[-1])
    print(valid_out.strip().splitlines()[-1])
    rows = [
        ("step", "records", "payload files", "MB", "wall s", "records/s", "files/s", "peak RSS MB"),
        (
            "package",
            pdfs,
            payload,
            f"{size / 2**20:.0f}",
            f"{pack_wall:.1f}",
            f"{pdfs / pack_wall:.0f}",
            f"{payload / pack_wall:.0f}",
            f"{pack_rss / 1024:.0f}",
        ),
        (
            "validate",
            pdfs,
            payload,
            f"{size / 2**20:.0f}",
            f"{valid_wall:.1f}",
            f"{pdfs / valid_wall:.0f}",
            f"{payload / valid_wall:.0f}",
            f"{valid_rss / 1024:.0f}",
        ),
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))
    print("package = select, copy with fixity check, write XML, manifests, then the same full")
    print("validation as the validate row, rename and transfer events; wall clock on shared cores")
    print(f"[load] loadavg {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
