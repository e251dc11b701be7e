"""Coverage queries against a register of 10^6 dossiers, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/coverage_scale.py [--records N] [--backend sqlite|postgresql|both]
       [--postgres-url URL] [--keep] [--explain] [--seed S] [--skip-batch]

Per backend: a fresh database brought to migration 0002 (the schema before the per-item
summary), N inventory items and N records bulk loaded outside the ORM (SQLite: executemany
of plain INSERTs in large transactions through sqlite3; PostgreSQL: COPY through psycopg into
a database this script creates, and drops at the end unless --keep), then `upgrade(engine)`
to the newest migration: its time is migration 0003's backfill of the summary on a full
database, shown apart. Then ANALYZE (PostgreSQL: VACUUM ANALYZE, as autovacuum would after
the backfill's updates).

Timed, each after one warm-up, median/min/max of 5 runs (wall and this process's CPU):
- `sohoa coverage --by procedure,unit,year` as the command runs it: `audit.coverage_report`
  (engine, schema check, register count, grouped coverage, projection), and the command
  itself in-process through click's CliRunner with --format csv (interpreter start-up and
  imports, about 3 CPU-s, are not included: they do not depend on the database);
- `inventory_coverage` by (procedure, unit, year), (procedure,), (unit,) (coverage cells),
  by (procedure, unit, year) --since 30 days ago (item summaries), `projection`,
  `digitized_per_day` (burn-up);
- the per-record upkeep: refreshing one item's summary, what `store` adds to each commit;
- `inventory_coverage` by (procedure, batch): the join path, timed once (--skip-batch skips it).
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

from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from sohoa.cli import main as sohoa_cli
from sohoa.config import Settings, load_settings
from sohoa.pipeline import audit
from sohoa.records import summary
from sohoa.records.coverage import digitized_per_day, inventory_coverage, projection
from sohoa.records.db import MIGRATIONS, make_engine, upgrade

DEFAULT_PG_URL = "postgresql+psycopg://sohoa_test:sohoa_test@127.0.0.1:5432/postgres"
CHUNK = 50_000
RUNS = 5
BEFORE_SUMMARY = "0002"  # the data is loaded at this revision, then migrated to the newest
DIMS = ("procedure", "unit", "year")
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
    catalogue = list(load_settings(environ={}).classify.catalogue)
    procedures = [(c["key"], c.get("code"), c.get("name", c["key"])) for c in catalogue]
    units = [f"UBND {kind} {name}" for name in UNIT_NAMES for kind in UNIT_KINDS][:40]
    return Dataset(n, seed, dt.datetime.now(dt.UTC), procedures, units)


# --- loading --------------------------------------------------------------------------------


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})"


def schema_before_summary(url: str) -> None:
    """The schema as it was before migration 0003 (what an existing archive has)."""
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, BEFORE_SUMMARY)
    engine.dispose()


def migrate(url: str) -> float:
    """`upgrade` to the newest revision (0003 backfills the summary); returns its seconds."""
    start = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return time.perf_counter() - start


def load_sqlite(path: Path, data: Dataset) -> float:
    """Schema at 0002, rows by sqlite3 executemany; returns the load seconds."""
    start = time.perf_counter()
    schema_before_summary(f"sqlite:///{path}")
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
    con.execute("PRAGMA journal_mode=WAL")  # what sohoa's engine uses
    con.close()
    return time.perf_counter() - start


def analyze(backend: str, url: str) -> None:
    """Planner statistics after the migration (PostgreSQL: and the visibility map, which
    index-only scans need after the backfill's updates)."""
    if backend == "sqlite":
        con = sqlite3.connect(make_url(url).database)
        con.execute("ANALYZE")
        con.close()
        return
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as con:
        con.execute("VACUUM ANALYZE")


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
    """Schema at 0002, rows by COPY FROM STDIN; returns the load seconds."""
    import psycopg

    start = time.perf_counter()
    schema_before_summary(url)
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
    return time.perf_counter() - start


# --- timing ---------------------------------------------------------------------------------


@dataclass
class Context:
    """What a timed query gets: a session, the settings the CLI would load, one item."""

    session: Session
    settings: Settings
    url: str
    item_id: int  # an item with a signed copy: its summary is what a commit refreshes


def _command(ctx: Context) -> str:
    """`sohoa coverage --by procedure,unit,year --format csv`, in this process."""
    args = ["coverage", "--by", ",".join(DIMS), "--format", "csv"]
    result = CliRunner().invoke(sohoa_cli, args, env={"SOHOA_DATABASE_URL": ctx.url})
    if result.exit_code != 0:
        raise RuntimeError(f"sohoa coverage failed: {result.output}")
    return result.output


def _since(ctx: Context) -> Any:
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).date()
    return inventory_coverage(ctx.session, by=DIMS, since=day)


# (name, function, timed runs); the slow join path runs once.
QUERIES: list[tuple[str, Callable[[Context], Any], int]] = [
    ("sohoa coverage --by p,u,y: audit path", lambda c: audit.coverage_report(
        c.settings, DIMS, None), RUNS),
    ("sohoa coverage --by p,u,y: CLI csv", _command, RUNS),
    ("coverage by procedure,unit,year", lambda c: inventory_coverage(c.session, by=DIMS), RUNS),
    ("coverage by procedure", lambda c: inventory_coverage(c.session, by=("procedure",)), RUNS),
    ("coverage by unit", lambda c: inventory_coverage(c.session, by=("unit",)), RUNS),
    ("coverage by p,u,y --since 30 days", _since, RUNS),
    ("projection", lambda c: projection(c.session), RUNS),
    ("burn-up (digitized per day)", lambda c: digitized_per_day(c.session), RUNS),
    ("upkeep: refresh 1 item summary", lambda c: summary.refresh_items(
        c.session, [c.item_id]), RUNS),
    ("coverage by procedure,batch (join)", lambda c: inventory_coverage(
        c.session, by=("procedure", "batch")), 1),
]  # fmt: skip


@dataclass
class Timing:
    backend: str
    rows: int
    load_s: float
    migrate_s: float
    query: str
    runs: list[float]
    cpu: list[float]  # this process's CPU seconds per run (PostgreSQL's own work not included)
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


def _signed_item(session: Session) -> int:
    from sqlalchemy import select

    from sohoa.records.models import InventoryItem

    query = select(InventoryItem.id).where(InventoryItem.first_digitized_at.is_not(None))
    return session.scalars(query.limit(1)).one()


def time_queries(
    backend: str, url: str, rows: int, load_s: float, migrate_s: float, skip_batch: bool
) -> list[Timing]:
    engine = make_engine(url)
    capture = Capture(engine)
    settings = load_settings(environ={"SOHOA_DATABASE_URL": url})
    out = []
    try:
        for name, run, n_runs in QUERIES:
            if skip_batch and "batch" in name:
                continue
            with Session(engine) as session:
                ctx = Context(session, settings, url, _signed_item(session))
                session.rollback()
                capture.sql, capture.params = (
                    "",
                    None,
                )  # the command paths use an engine of their own
                result = run(ctx) if n_runs > 1 else None  # warm-up
                session.rollback()
                sql, params = capture.sql, capture.params
                runs, cpu = [], []
                for _ in range(n_runs):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    result = run(ctx)
                    runs.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - start_cpu)
                    session.rollback()
                sql, params = (sql, params) if n_runs > 1 else (capture.sql, capture.params)
            out.append(
                Timing(backend, rows, load_s, migrate_s, name, runs, cpu, sql, params, result)
            )
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


def check_against_records(backend: str, url: str) -> str:
    """The cells' overall answer against a direct count over the records, and their grouped
    answer against grouping the items' summaries."""
    from sqlalchemy import distinct, func, select

    from sohoa.records.coverage import _from_cells, _from_summary
    from sohoa.records.models import ARCHIVED_STATES, Record

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            [total] = inventory_coverage(session)
            signed = Record.state.in_(ARCHIVED_STATES) & Record.inventory_item_id.is_not(None)
            items, pages = session.execute(
                select(
                    func.count(distinct(Record.inventory_item_id)),
                    func.coalesce(func.sum(Record.page_count), 0),
                ).where(signed)
            ).one()
            cells, grouped = (
                {tuple(row) for row in session.execute(query(DIMS, *args))}
                for query, args in ((_from_cells, ()), (_from_summary, (None,)))
            )
    finally:
        engine.dispose()
    same = (total.digitized, total.pages_digitized) == (items, pages)
    return (
        f"{backend} check: cells say {total.digitized:,} items / {total.pages_digitized:,}"
        f" pages digitized, the records say {items:,} / {pages:,}: {'same' if same else 'DIFFER'};"
        f" {len(cells):,} cells {'=' if cells == grouped else '!='} the items grouped"
    )


# --- report ---------------------------------------------------------------------------------


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    rule = "-+-".join("-" * w for w in widths)
    for n, row in enumerate(cells):
        print(
            " | ".join(
                c.ljust(w) if i in (0, 4) else c.rjust(w)
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
    parser.add_argument("--skip-batch", action="store_true", help="skip the by-batch join")
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
    checks: list[str] = []
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
            migrate_s = migrate(url)
            analyze(backend, url)
            print(
                f"{backend}: loaded {args.records} items + {args.records} records at "
                f"{BEFORE_SUMMARY} in {load_s:.1f} s; upgrade to head (summary backfill) "
                f"{migrate_s:.1f} s",
                flush=True,
            )
            timings += time_queries(backend, url, args.records, load_s, migrate_s, args.skip_batch)
            checks.append(check_against_records(backend, url))
            if args.explain:
                for t in (t for t in timings if t.backend == backend and t.sql):
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
        ("backend", "rows", "load s", "migrate s", "query", "runs", "median s", "min s",
         "max s", "cpu s"),
        [
            (
                t.backend,
                f"{t.rows:,}",
                f"{t.load_s:.1f}",
                f"{t.migrate_s:.1f}",
                t.query,
                str(len(t.runs)),
                f"{statistics.median(t.runs):.3f}",
                f"{min(t.runs):.3f}",
                f"{max(t.runs):.3f}",
                f"{statistics.median(t.cpu):.3f}",
            )
            for t in timings
        ],
    )  # fmt: skip
    print("cpu s: this process only (SQLite works in it; PostgreSQL's server CPU is apart)")
    for line in checks:
        print(line)
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
