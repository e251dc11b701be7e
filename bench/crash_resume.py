"""Operator's night, reproduced: a generated batch with bad inputs mixed in, the driver and
its workers killed with SIGKILL about halfway, then one `sohoa resume`.

Prints the final `sohoa status`, and checks that every archived record has exactly one
output file and one signing event (nothing archived twice).

    .venv/bin/python bench/crash_resume.py --records 30 --out /tmp/crash-demo
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import yaml
from PIL import Image

from sohoa.sample import generate_sample

REPO = Path(__file__).resolve().parents[1]


def _png(width: int, height: int, shade: int = 245, dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), shade, dtype=np.uint8)).save(
        buffer, "PNG", dpi=(dpi, dpi)
    )
    return buffer.getvalue()


def add_bad_inputs(scans: Path, outside: Path) -> list[str]:
    """Each bad input is one loose file (or link) in the batch; returns their names."""
    encrypted = io.BytesIO()
    with pikepdf.open(io.BytesIO(_pdf_bytes())) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(owner="o", user="secret"))
    jpeg = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(jpeg, "JPEG")
    bomb = bytearray(_png(64, 64))
    bomb[16:24] = (35000).to_bytes(4, "big") * 2  # a 35000x35000 declared size
    bomb[29:33] = zlib.crc32(bytes(bomb[12:29])).to_bytes(4, "big")
    bad = {
        "zero-bytes.png": b"",
        "truncated.png": _png(800, 600, 128)[:300],
        "truncated.jpg": jpeg.getvalue()[:400],
        "header-only.pdf": b"%PDF-1.7\n",
        "encrypted.pdf": encrypted.getvalue(),
        "letter.docx": b"PK\x03\x04" + bytes(200),
        "bomb.png": bytes(bomb),
        "blank-page.png": _png(1654, 2339),
        "low-res-page.png": _png(827, 1169, 240, dpi=100),
        "name\nwith-newline.png": _png(200, 200),
    }
    for name, data in bad.items():
        (scans / name).write_bytes(data)
    outside.write_bytes(_png(400, 400))
    (scans / "link-outside.png").symlink_to(outside)
    return [*bad, "link-outside.png"]


def _pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), "white").save(buffer, "PDF")
    return buffer.getvalue()


def sohoa(*args: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sohoa.cli", *args], **popen)


def archived(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT count(*) FROM records WHERE state IN ('archived', 'needs_review')"
        ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True, help="a new, empty folder")
    args = parser.parse_args()
    work = args.out.absolute()
    work.mkdir(parents=True)
    os.chdir(work)
    catalogue = yaml.safe_load((REPO / "sohoa/config.yaml").read_text())["classify"]["catalogue"]
    generate_sample(work / "scans", args.records, args.seed, catalogue, dpi=200)
    bad = add_bad_inputs(work / "scans", work / "outside.png")
    total = args.records + len(bad)
    print(f"batch: {args.records} generated records + {len(bad)} bad inputs = {total}")
    subprocess.run(
        [sys.executable, "-m", "sohoa.cli", "init"], check=True, stdout=subprocess.DEVNULL
    )

    db = work / "sohoa-data" / "sohoa.db"
    log = (work / "run-1.log").open("w")
    driver = sohoa(
        "run", "scans", "--batch", "night", stdout=log, stderr=log, start_new_session=True
    )
    while archived(db) < args.records // 2 and driver.poll() is None:
        time.sleep(0.5)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    with sqlite3.connect(db) as connection:
        states = dict(connection.execute("SELECT state, count(*) FROM records GROUP BY state"))
    print(f"killed the driver and its workers with SIGKILL; states then: {states}")

    resumed = subprocess.run([sys.executable, "-m", "sohoa.cli", "resume", "night"],
                             capture_output=True, text=True)  # fmt: skip
    print(f"sohoa resume night: exit code {resumed.returncode}")
    subprocess.run([sys.executable, "-m", "sohoa.cli", "status", "night"], check=False)

    with sqlite3.connect(db) as connection:
        outputs = [r[0] for r in connection.execute(
            "SELECT output_path FROM records WHERE output_path IS NOT NULL")]  # fmt: skip
        signs = connection.execute(
            "SELECT max(n), count(*) FROM (SELECT count(*) AS n FROM events "
            "WHERE kind = 'sign' GROUP BY record_id)"
        ).fetchone()
        takeovers = connection.execute(
            "SELECT count(*) FROM events WHERE kind='takeover'"
        ).fetchone()
    files = sorted(str(p) for p in (work / "sohoa-data" / "archive").rglob("*") if p.is_file())
    print(f"archived records with an output: {len(outputs)}; files in the archive: {len(files)}")
    print(f"output paths distinct: {len(set(outputs)) == len(outputs)}; "
          f"files == outputs: {sorted(outputs) == files}")  # fmt: skip
    print(f"records signed: {signs[1]}, most signing events for one record: {signs[0]}")
    print(f"lock takeovers logged: {takeovers[0]}")


if __name__ == "__main__":
    main()
