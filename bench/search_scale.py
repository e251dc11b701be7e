"""Search at scale: N archived records with multi-page Vietnamese texts on SQLite and
PostgreSQL in one run. Measures the index build (time, size), p50/p95 latency of five query
kinds through sohoa.records.search.find_in (parse, engine query, fuzzy pass, snippets, access-log
write and commit: what `sohoa search` does after opening the database), and the
incremental cost of indexing one archived record in its transaction.

Targets (issue 13): p95 < 100 ms for every kind on both backends; incremental <= 5 ms.

    python bench/search_scale.py --records 100000          # PostgreSQL from SOHOA_TEST_POSTGRES_URL
    python bench/search_scale.py --records 100000 --backends sqlite --keep /tmp/s.db
    python bench/search_scale.py --backends postgresql --keep pg1e6  # database sohoa_bench_pg1e6
    python bench/search_scale.py --backends postgresql --keep pg1e6 --reuse  # queries only
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np
from search_corpus import Dossier, dossier, fresh_database, kept_database, load
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from sohoa.records import make_engine, session_scope, upgrade
from sohoa.records.models import Record, SearchDoc
from sohoa.records.search import SearchRequest, SearchSettings, find_in, fold
from sohoa.records.search.index import index_records, rebuild
from sohoa.sample.people import GIVEN_FEMALE, GIVEN_MALE, STREETS

TARGET_P95_MS = 100.0
TARGET_INCREMENTAL_MS = 5.0
SEARCH_TABLES = ("search_docs", "search_identifiers", "search_terms")


def _ms(seconds: list[float]) -> tuple[float, float]:
    values = sorted(s * 1000 for s in seconds)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return statistics.median(values), p95


def _queries(rng: np.random.Generator, picked: list[Dossier]) -> dict[str, list[SearchRequest]]:
    given = GIVEN_MALE + GIVEN_FEMALE
    return {
        "one word": [SearchRequest(given[int(rng.integers(len(given)))]) for _ in picked],
        "phrase": [SearchRequest(f'"{STREETS[int(rng.integers(len(STREETS)))]}"') for _ in picked],
        "name without diacritics": [SearchRequest(fold(d.name)) for d in picked],
        "code": [SearchRequest(f"code:{d.code}") for d in picked],
        "procedure+year filter": [
            SearchRequest(d.name.split()[-1], procedure=d.procedure, year=d.year) for d in picked
        ],
    }


def _index_bytes(engine) -> int:
    """Bytes of the search tables, their indexes and the engine structures over them."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = (
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search%' OR name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name LIKE 'search%')"
            )
            return connection.exec_driver_sql(query).scalar_one() or 0
        return sum(
            connection.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one()
            for t in SEARCH_TABLES
        )


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    engine = make_engine(url)
    upgrade(engine)
    picked: list[Dossier] = []
    every = max(1, args.records // args.samples)

    def corpus():
        for number in range(args.records):
            item = dossier(rng, number)
            if number % every == 0 and len(picked) < args.samples:
                picked.append(item)
            yield item

    factory = sessionmaker(engine, expire_on_commit=False)
    if args.reuse:  # the same dossiers, drawn again to pick the same queries; nothing written
        for _ in corpus():
            pass
        with session_scope(factory) as session:
            indexed = session.scalar(select(func.count()).select_from(SearchDoc))
        loaded = build = float("nan")
    else:
        started = time.perf_counter()
        load(engine, corpus())
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        with session_scope(factory) as session:
            indexed = rebuild(session)
        build = time.perf_counter() - started
    if name == "postgresql" and not args.reuse:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    size = _index_bytes(engine)
    config = SearchSettings()
    latencies: dict[str, tuple[float, float, float]] = {}
    for kind, requests in _queries(rng, picked).items():
        times, hits = [], 0
        for request in requests[:3]:  # warm the caches of this kind
            with session_scope(factory) as session:
                find_in(session, request, config)
        for request in requests:
            t0 = time.perf_counter()
            with session_scope(factory) as session:
                hits += len(find_in(session, request, config).hits)
            times.append(time.perf_counter() - t0)
        p50, p95 = _ms(times)
        latencies[kind] = (p50, p95, hits / len(requests))
    if args.reuse:
        engine.dispose()
        return {"indexed": indexed, "load_s": loaded, "build_s": build, "size": size,
                "latency": latencies, "incremental": None}  # fmt: skip
    # Incremental: records archived after the build, indexed one per transaction.
    load(engine, (dossier(rng, args.records + i) for i in range(args.incremental)), "later")
    with session_scope(factory) as session:
        new_ids = list(session.scalars(select(Record.id).order_by(Record.id.desc())
                                       .limit(args.incremental)))  # fmt: skip
    costs = []
    for record_id in new_ids:
        with session_scope(factory) as session:
            t0 = time.perf_counter()
            index_records(session, [record_id])  # what store.commit_outcome adds
            session.flush()
            costs.append(time.perf_counter() - t0)  # the commit is the archive's own
    engine.dispose()
    return {"indexed": indexed, "load_s": loaded, "build_s": build, "size": size,
            "latency": latencies, "incremental": _ms(costs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=40, help="queries per kind")
    parser.add_argument("--incremental", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", type=Path, help="keep the databases: SQLite's in this file, "
                        "PostgreSQL's as sohoa_bench_<the file's stem>")
    parser.add_argument("--reuse", action="store_true", help="query the --keep databases "
                        "built by an earlier run (same --records and --seed) without "
                        "loading, building or the incremental step")
    args = parser.parse_args()
    if args.reuse and not args.keep:
        parser.error("--reuse needs --keep")
    print(f"search_scale: {args.records} records, {args.samples} queries per kind "
          f"(2 cores shared with other jobs)", flush=True)  # fmt: skip
    for backend in args.backends.split(","):
        if args.reuse:
            url = kept_database(backend, args.keep)
            report(backend, run_backend(backend, url, args))
            continue
        with fresh_database(backend, "sohoa-search-", args.keep) as url:
            report(backend, run_backend(backend, url, args))


def report(backend: str, r: dict) -> None:
    built = "reused, not built" if math.isnan(r["build_s"]) else (
        f"load {r['load_s']:.0f} s; index build {r['build_s']:.1f} s "
        f"({r['indexed'] / r['build_s']:.0f} records/s)")  # fmt: skip
    print(f"\n[{backend}] indexed {r['indexed']} records; {built}; "
          f"index size {r['size'] / 2**20:.0f} MiB")  # fmt: skip
    print(f"  {'query kind':<26}{'p50 ms':>9}{'p95 ms':>9}{'hits/query':>12}  target p95 < 100")
    for kind, (p50, p95, hits) in r["latency"].items():
        verdict = "ok" if p95 < TARGET_P95_MS else "NOT MET"
        print(f"  {kind:<26}{p50:>9.1f}{p95:>9.1f}{hits:>12.1f}  {verdict}")
    if r["incremental"] is None:
        return
    p50, p95 = r["incremental"]
    verdict = "ok" if p95 <= TARGET_INCREMENTAL_MS else "NOT MET"
    print(f"  incremental index per archived record: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
          f"(target <= 5 ms: {verdict})", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
