"""Coverage queries against a register of 10^6 dossiers, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/coverage_scale.py [--records N] [--backend sqlite|postgresql|both]
       [--postgres-url URL] [--keep] [--explain] [--seed S]

Per backend: a fresh database brought to the newest migration with `upgrade(engine)`, then
N inventory items and N records bulk loaded outside the ORM (SQLite: executemany of plain
INSERTs in large transactions through sqlite3; PostgreSQL: COPY through psycopg into a
database this script creates, and drops at the end unless --keep), then ANALYZE. Timed,
each after one warm-up, median/min/max of 5 runs: `inventory_coverage` by
(procedure, unit, year), `inventory_coverage` by (procedure,), and `projection`.
--explain prints each query's plan (EXPLAIN QUERY PLAN / EXPLAIN (ANALYZE, BUFFERS)).

Synthetic data: ~95% of the items linked to one record each (the link is a random
permutation, so item order and scan order are unrelated); the other 5% of records carry no
link. 50 batches, the procedures of config.yaml's classify.catalogue, 40 units, years
2010-2025, states mostly archived (some needs_review, failed, pending), page_count 1-5,
archived_at over the last 90 days.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from sohoa.config import load_settings
from sohoa.records.coverage import inventory_coverage, projection
from sohoa.records.db import make_engine, upgrade

DEFAULT_PG_URL = "postgresql+psycopg://sohoa_test:sohoa_test@127.0.0.1:5432/postgres"
CHUNK = 50_000
RUNS = 5
TARGET_S = 1.0
BATCHES = 50
LINKED_SHARE = 0.95
YEARS = range(2010, 2026)
STATES = (("archived", 0.88), ("needs_review", 0.05), ("failed", 0.03), ("pending", 0.04))
UNIT_KINDS = ("xã", "phường", "thị trấn")
UNIT_NAMES = (
    "An Bình",
    "An Phú",
    "Bình Minh",
    "Cẩm Lệ",
    "Đông Hà",
    "Hòa Khánh",
    "Hòa Minh",
    "Hòa Phát",
    "Hải Châu",
    "Long Biên",
    "Mỹ An",
    "Ngũ Hành Sơn",
    "Phước Mỹ",
    "Tân Định",
    "Thạch Thang",
)
ITEM_COLUMNS = (
    "id",
    "code",
    "title",
    "unit",
    "procedure",
    "year",
    "location",
    "expected_pages",
)
RECORD_COLUMNS = (
    "id",
    "uid",
    "batch_id",
    "rel_path",
    "state",
    "attempts",
    "error_reason",
    "error_message",
    "content_hash",
    "source_files",
    "procedure",
    "procedure_code",
    "procedure_confidence",
    "classification_method",
    "page_count",
    "mean_ocr_confidence",
    "output_path",
    "output_sha256",
    "inventory_item_id",
    "metadata",
    "created_at",
    "updated_at",
    "archived_at",
)
BATCH_COLUMNS = ("id", "name", "source", "config", "created_at")


# --- synthetic data -------------------------------------------------------------------------


@dataclass
class Dataset:
    n: int
    seed: int
    now: dt.datetime
    procedures: list[tuple[str, str | None, str]]  # key, national code, name
    units: list[str]

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        n_proc, n_unit = len(self.procedures), len(self.units)
        # Per item: procedure index (n_proc = blank), unit index, year (0 = unknown).
        self.item_proc = bytes(
            n_proc if rng.random() < 0.01 else rng.randrange(n_proc) for _ in range(self.n)
        )
        self.item_unit = bytes(rng.randrange(n_unit) for _ in range(self.n))
        self.item_year = bytes(
            0 if rng.random() < 0.01 else rng.choice(YEARS) - 2000 for _ in range(self.n)
        )
        # Record i (0-based) documents item link[i] (1-based id), or none past `linked`.
        link = list(range(1, self.n + 1))
        rng.shuffle(link)
        self.linked = int(self.n * LINKED_SHARE)
        self.link = link

    def batches(self) -> list[tuple[Any, ...]]:
        created = _ts(self.now - dt.timedelta(days=120))
        return [
            (b, f"lo-{b:03d}", f"/srv/scans/lo-{b:03d}", "{}", created)
            for b in range(1, BATCHES + 1)
        ]

    def items(self) -> Iterator[list[tuple[Any, ...]]]:
        rng = random.Random(self.seed + 1)
        n_proc = len(self.procedures)
        rows: list[tuple[Any, ...]] = []
        for i in range(self.n):
            p, year = self.item_proc[i], self.item_year[i]
            key, _, name = self.procedures[p] if p < n_proc else ("", None, "Hồ sơ")
            rows.append(
                (
                    i + 1,
                    f"HS-{i + 1:08d}",
                    f"{name} số {i + 1}",
                    self.units[self.item_unit[i]],
                    key,
                    2000 + year if year else None,
                    f"Kho {'ABC'[i % 3]}/Kệ {rng.randrange(1, 60)}/Hộp {rng.randrange(1, 400)}",
                    None if rng.random() < 0.03 else rng.randint(1, 5),
                )
            )
            if len(rows) == CHUNK:
                yield rows
                rows = []
        if rows:
            yield rows

    def records(self) -> Iterator[list[tuple[Any, ...]]]:
        rng = random.Random(self.seed + 2)
        n_proc = len(self.procedures)
        states = [s for s, _ in STATES]
        weights = [w for _, w in STATES]
        per_batch = -(-self.n // BATCHES)
        rows: list[tuple[Any, ...]] = []
        for i in range(self.n):
            item = self.link[i] if i < self.linked else None
            p = self.item_proc[item - 1] if item else rng.randrange(n_proc)
            key, code, _ = self.procedures[p] if p < n_proc else self.procedures[-1]
            state = rng.choices(states, weights)[0]
            done = state in ("archived", "needs_review")
            batch = i // per_batch + 1
            created = self.now - dt.timedelta(days=rng.uniform(90, 110))
            archived = self.now - dt.timedelta(seconds=rng.uniform(0, 90 * 86400)) if done else None
            uid = f"{rng.getrandbits(128):032x}"
            rel_path = f"hop-{i % 997:03d}/ho-so-{i + 1:07d}.pdf"
            pages = rng.randint(1, 5) if done else None
            rows.append(
                (
                    i + 1,
                    uid,
                    batch,
                    rel_path,
                    state,
                    1 if state != "pending" else 0,
                    "ocr_failed" if state == "failed" else None,
                    "tesseract exited with status 1" if state == "failed" else None,
                    rng.randbytes(32).hex() if state != "pending" else None,
                    json.dumps([{"path": rel_path, "sha256": "0" * 64, "size": 123456}]),
                    key if state != "pending" else None,
                    code if state != "pending" else None,
                    round(rng.uniform(0.4, 1.0), 3) if state != "pending" else None,
                    "keywords" if state != "pending" else None,
                    pages,
                    round(rng.uniform(0.6, 0.99), 3) if done else None,
                    f"archive/lo-{batch:03d}/{uid}.pdf" if done else None,
                    rng.randbytes(32).hex() if done else None,
                    item,
                    "{}",
                    _ts(created),
                    _ts(archived or created),
                    _ts(archived) if archived else None,
                )
            )
            if len(rows) == CHUNK:
                yield rows
                rows = []
        if rows:
            yield rows


def _ts(value: dt.datetime) -> str:
    # SQLAlchemy's SQLite format (UTC, no offset); PostgreSQL reads it as UTC (session tz).
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def make_dataset(n: int, seed: int) -> Dataset:
    catalogue = load_settings(environ={}).section("classify")["catalogue"]
    procedures = [(c["key"], c.get("code"), c.get("name", c["key"])) for c in catalogue]
    units = [f"UBND {kind} {name}" for name in UNIT_NAMES for kind in UNIT_KINDS][:40]
    return Dataset(n, seed, dt.datetime.now(dt.UTC), procedures, units)


# --- loading --------------------------------------------------------------------------------


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})"


def load_sqlite(path: Path, data: Dataset) -> float:
    """Schema by `upgrade`, rows by sqlite3 executemany; returns the load seconds."""
    start = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")  # a fresh file: nothing to roll back to
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")  # 256 MiB for the index b-trees
    con.execute("PRAGMA foreign_keys=OFF")  # the generator keeps them consistent
    for table, columns, chunks in (
        ("batches", BATCH_COLUMNS, [data.batches()]),
        ("inventory_items", ITEM_COLUMNS, data.items()),
        ("records", RECORD_COLUMNS, data.records()),
    ):
        sql = _insert_sql(table, columns, "?")
        con.execute("BEGIN")
        for n, rows in enumerate(chunks, 1):
            con.executemany(sql, rows)
            if n % 10 == 0:  # commit every 500k rows
                con.execute("COMMIT")
                con.execute("BEGIN")
        con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")  # what sohoa's engine uses
    con.close()
    return time.perf_counter() - start


def create_pg_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load_postgres(url: str, data: Dataset) -> float:
    """Schema by `upgrade`, rows by COPY FROM STDIN; returns the load seconds."""
    import psycopg

    start = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with psycopg.connect(_libpq(url)) as con, con.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        for table, columns, chunks in (
            ("batches", BATCH_COLUMNS, [data.batches()]),
            ("inventory_items", ITEM_COLUMNS, data.items()),
            ("records", RECORD_COLUMNS, data.records()),
        ):
            names = ", ".join(f'"{c}"' for c in columns)
            with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for rows in chunks:
                    for row in rows:
                        copy.write_row(row)
        con.commit()
    with psycopg.connect(_libpq(url), autocommit=True) as con:
        con.execute("VACUUM ANALYZE")  # statistics and the visibility map (index-only scans)
    return time.perf_counter() - start


# --- timing ---------------------------------------------------------------------------------


QUERIES: list[tuple[str, Callable[[Session], Any]]] = [
    (
        "coverage by procedure,unit,year",
        lambda s: inventory_coverage(s, by=("procedure", "unit", "year")),
    ),
    ("coverage by procedure", lambda s: inventory_coverage(s, by=("procedure",))),
    ("projection", lambda s: projection(s)),
]


@dataclass
class Timing:
    backend: str
    rows: int
    load_s: float
    query: str
    runs: list[float]
    sql: str
    params: Any
    result: Any


class Capture:
    """The last SQL statement an engine sent, for EXPLAIN."""

    def __init__(self, engine: Engine) -> None:
        self.sql = ""
        self.params: Any = None
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.sql, self.params = statement, parameters


def time_queries(backend: str, url: str, rows: int, load_s: float) -> list[Timing]:
    engine = make_engine(url)
    capture = Capture(engine)
    out = []
    try:
        for name, run in QUERIES:
            with Session(engine) as session:
                result = run(session)  # warm-up
                session.rollback()
                sql, params = capture.sql, capture.params
                runs = []
                for _ in range(RUNS):
                    start = time.perf_counter()
                    run(session)
                    runs.append(time.perf_counter() - start)
                    session.rollback()
            out.append(Timing(backend, rows, load_s, name, runs, sql, params, result))
            print(f"  {backend}: {name}: median {statistics.median(runs):.3f} s", flush=True)
    finally:
        engine.dispose()
    return out


def explain(backend: str, url: str, timing: Timing) -> str:
    if backend == "sqlite":
        con = sqlite3.connect(make_url(url).database)
        plan = con.execute(f"EXPLAIN QUERY PLAN {timing.sql}", timing.params).fetchall()
        con.close()
        return "\n".join(f"{row[0]:>4} {row[1]:>4} {row[3]}" for row in plan)
    import psycopg

    with psycopg.connect(_libpq(url)) as con:
        rows = con.execute(f"EXPLAIN (ANALYZE, BUFFERS) {timing.sql}", timing.params).fetchall()
    return "\n".join(row[0] for row in rows)


# --- report ---------------------------------------------------------------------------------


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    rule = "-+-".join("-" * w for w in widths)
    for n, row in enumerate(cells):
        print(
            " | ".join(
                c.ljust(w) if i in (0, 3) else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print(rule)


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SOHOA_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--explain", action="store_true", help="print each query's plan")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)

    load_before = _loadavg()
    print(f"cores: os.cpu_count={os.cpu_count()}, usable={len(os.sched_getaffinity(0))}")
    start = time.perf_counter()
    data = make_dataset(args.records, args.seed)
    print(
        f"dataset plan: {args.records} items + {args.records} records "
        f"({time.perf_counter() - start:.1f} s)",
        flush=True,
    )

    timings: list[Timing] = []
    urls: dict[str, str] = {}
    workdir = Path(tempfile.mkdtemp(prefix="sohoa-coverage-"))
    pg_name = f"sohoa_bench_{os.getpid()}"
    try:
        for backend in backends:
            if backend == "sqlite":
                path = workdir / "records.db"
                url = f"sqlite:///{path}"
                load_s = load_sqlite(path, data)
            else:
                url = create_pg_database(args.postgres_url, pg_name)
                load_s = load_postgres(url, data)
            urls[backend] = url
            print(
                f"{backend}: loaded {args.records} items + {args.records} records "
                f"in {load_s:.1f} s (incl. upgrade and ANALYZE)",
                flush=True,
            )
            timings += time_queries(backend, url, args.records, load_s)
            if args.explain:
                for t in (t for t in timings if t.backend == backend):
                    print(f"\n--- {backend}: {t.query}\n{t.sql}\n{explain(backend, url, t)}\n")
    finally:
        if args.keep:
            kept = ", ".join(f"{b}: {u.split('@')[-1]}" for b, u in urls.items())
            print(f"kept: {kept} (files in {workdir})")
        else:
            for item in workdir.iterdir():
                item.unlink()
            workdir.rmdir()
            if "postgresql" in backends:
                drop_pg_database(args.postgres_url, pg_name)

    print()
    print(
        f"cores: {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}); "
        f"{RUNS} timed runs after 1 warm-up; target < {TARGET_S:.0f} s per coverage query"
    )
    print(f"loadavg (1/5/15 min): at start {load_before}, at end {_loadavg()}")
    print_table(
        ("backend", "rows", "load s", "query", "median s", "min s", "max s"),
        [
            (
                t.backend,
                f"{t.rows:,}",
                f"{t.load_s:.1f}",
                t.query,
                f"{statistics.median(t.runs):.3f}",
                f"{min(t.runs):.3f}",
                f"{max(t.runs):.3f}",
            )
            for t in timings
        ],
    )
    for t in timings:
        if t.query == "projection":
            p = t.result
            print(
                f"{t.backend} projection: items {p.items:,}, digitized {p.digitized:,}, "
                f"in window {p.digitized_in_window:,}, completion {p.projected_completion}"
            )
    slow = [t for t in timings if statistics.median(t.runs) > TARGET_S]
    print("over target: " + (", ".join(f"{t.backend} {t.query}" for t in slow) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
