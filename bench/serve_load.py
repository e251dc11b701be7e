"""Load on `sohoa serve` over loopback: N archived records (the search benchmarks' generator,
bench/search_corpus.py), the server started on 127.0.0.1, then C concurrent clients for S
seconds asking for the dashboard (auditor), a search without diacritics, a record page and a
download (officer). Prints p50/p95 per kind, errors, throughput, and the CPU a request cost
the server's processes and the load generator.

Targets (issue 14): at 10^5 records and 50 clients, p95 < 300 ms for every kind and 0 errors.
Only 127.0.0.1 is contacted; every client stops at the deadline or after --max-requests.

    python bench/serve_load.py --records 100000 --clients 50 --seconds 60
    python bench/serve_load.py --records 100000 --keep /tmp/serve-1e5 --kinds search
      (--keep: build the database once and reuse it; --kinds: some kinds only)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import psutil
from search_corpus import dossier, fresh_database, kept_database, load
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from sohoa.records import accounts, make_engine, session_scope, upgrade
from sohoa.records.models import Record
from sohoa.records.search import fold
from sohoa.records.search.index import rebuild

TARGET_P95_MS = 300.0
KINDS = ("dashboard", "search", "record", "download")
PASSWORD = "load-test-password"
FILES = 200  # records given a file to download (the same ~300 KB PDF bytes each)


def build(url: str, records: int, seed: int, archive: Path) -> tuple[list[str], list[str]]:
    """The database; returns (queries: applicants' names without diacritics, record ids)."""
    rng = np.random.default_rng(seed)
    engine = make_engine(url)
    upgrade(engine)
    names: list[str] = []

    def corpus():
        for number in range(records):
            item = dossier(rng, number)
            if number % max(1, records // 200) == 0:
                names.append(fold(item.name))
            yield item

    started = time.perf_counter()
    load(engine, corpus())
    factory = sessionmaker(engine, expire_on_commit=False)
    with session_scope(factory) as session:
        rebuild(session)
        for name, role in (("load-officer", "officer"), ("load-auditor", "auditor")):
            accounts.add_user(session, name, role, PASSWORD)
        ids = list(session.scalars(select(Record.id).order_by(Record.id).limit(FILES * 50)))[::50]
        uids = list(session.scalars(select(Record.uid).where(Record.id.in_(ids))))
        pdf = archive / "khai_sinh" / "sample.pdf"
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n")
        session.execute(update(Record).where(Record.id.in_(ids))
                        .values(output_path=str(pdf), output_sha256="0" * 64))  # fmt: skip
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"built {records} records in {time.perf_counter() - started:.0f} s", flush=True)
    return names, uids


def _kept_file(args: argparse.Namespace) -> Path:
    """What search_corpus keeps the database as: SQLite's file, or PostgreSQL's name (its stem)."""
    return args.keep / ("bench.db" if args.backend == "sqlite" else f"serve_{args.keep.name}")


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    """A fresh database's URL; with --keep, the one built by an earlier run or kept now."""
    if args.keep and (args.keep / "plan.json").exists():
        yield kept_database(args.backend, _kept_file(args))
        return
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with fresh_database(args.backend, "sohoa-serve-",
                        _kept_file(args) if args.keep else None) as url:  # fmt: skip
        yield url


def built(url: str, args: argparse.Namespace, archive: Path) -> tuple[list[str], list[str]]:
    """`build`, or with --keep the queries and ids of the database built by an earlier run."""
    if not args.keep:
        return build(url, args.records, args.seed, archive)
    plan_file = args.keep / "plan.json"
    wanted = {"records": args.records, "seed": args.seed, "backend": args.backend}
    if plan_file.exists():
        plan = json.loads(plan_file.read_text())
        if {"backend": "sqlite", **plan["made_with"]} != wanted:  # folders kept before --backend
            sys.exit(f"--keep {args.keep}: built with {plan['made_with']}, not {wanted}")
        return plan["names"], plan["uids"]
    names, uids = build(url, args.records, args.seed, archive)
    plan_file.write_text(json.dumps({"made_with": wanted, "names": names, "uids": uids}))
    return names, uids


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign_in(base: str, name: str) -> str:
    """The Cookie header of a signed-in session of `name`."""
    with httpx.Client(base_url=base) as client:
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf})
        assert done.status_code == 303, done.text
        return "; ".join(f"{key}={value}" for key, value in client.cookies.items())


def _session(base: str, cookie: str) -> aiohttp.ClientSession:
    """One keep-alive connection with a fixed session cookie. aiohttp, not httpx: at 50
    clients httpx cost the load generator 1.2-4.1 ms of CPU per request on the 2 cores the
    server runs on too."""
    return aiohttp.ClientSession(
        base_url=base, headers={"Cookie": cookie}, cookie_jar=aiohttp.DummyCookieJar(),
        connector=aiohttp.TCPConnector(limit=1), timeout=aiohttp.ClientTimeout(total=30),
    )  # fmt: skip


async def client_loop(number: int, base: str, cookies: dict[str, str], plan: dict,
                      deadline: float, max_requests: int, think: float,
                      times: dict[str, list[float]], heads: dict[str, list[float]],
                      errors: dict[str, int],
                      reasons: dict[str, int]) -> None:  # fmt: skip
    rng = np.random.default_rng(number)
    async with _session(base, cookies["officer"]) as officer, \
            _session(base, cookies["auditor"]) as auditor:  # fmt: skip
        for n in range(max_requests):
            if time.monotonic() >= deadline:
                return
            kind = plan["kinds"][(number + n) % len(plan["kinds"])]
            if kind == "dashboard":
                client, path = auditor, "/dashboard"
            elif kind == "search":
                query = plan["names"][int(rng.integers(len(plan["names"])))]
                client, path = officer, f"/search?q={query}"
            else:
                uid = plan["uids"][int(rng.integers(len(plan["uids"])))]
                path = f"/records/{uid}" + ("/pdf" if kind == "download" else "")
                client = officer
            t0 = time.perf_counter()
            head = None
            try:
                async with client.get(path, allow_redirects=False) as answer:
                    head = time.perf_counter() - t0
                    await answer.read()
                why = "" if answer.status == 200 else f"HTTP {answer.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                why = type(exc).__name__
            times[kind].append(time.perf_counter() - t0)
            if head is not None:
                heads[kind].append(head)
            if why:
                errors[kind] += 1
                reasons[why] = reasons.get(why, 0) + 1
            if think:
                await asyncio.sleep(think)


def _user_sys(processes: Iterable[psutil.Process]) -> float:
    """User+sys seconds of the processes still living."""
    total = 0.0
    for one in processes:
        try:
            times = one.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def cpu_seconds(process: psutil.Process) -> float:
    """User+sys seconds of the server process and its living children (uvicorn's workers)."""
    return _user_sys((process, *process.children(recursive=True)))


def database_cpu_seconds(backend: str) -> float:
    """User+sys seconds of PostgreSQL's processes on this machine (0 on SQLite, whose work
    is in the server's processes): its queries' CPU is on the same cores. Every cluster's
    processes count (run the bench with no other PostgreSQL work), and a backend that exits
    during the run does not."""
    if backend != "postgresql":
        return 0.0
    return _user_sys(p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres")


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(v * 1000 for v in values)
    if not ordered:
        return 0.0, 0.0
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def drive(base: str, plan: dict, args: argparse.Namespace) -> tuple[dict, dict, float]:
    """(times per kind, times to the answer's headers per kind, errors per kind with their
    reasons under "why", seconds)."""
    cookies = {"officer": sign_in(base, "load-officer"), "auditor": sign_in(base, "load-auditor")}
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    heads: dict[str, list[float]] = {k: [] for k in KINDS}
    errors = dict.fromkeys(KINDS, 0)
    reasons: dict[str, int] = {}
    started = time.monotonic()
    deadline = started + args.seconds
    await asyncio.gather(*(client_loop(n, base, cookies, plan, deadline, args.max_requests,
                                       args.think_ms / 1000, times, heads, errors, reasons)
                           for n in range(args.clients)))  # fmt: skip
    return times, heads, {**errors, "why": reasons}, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=20_000, help="per client")
    parser.add_argument("--think-ms", type=float, default=0, help="pause between requests")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--keep", type=Path, help="folder of the data (and SQLite's database), "
                        "built on the first run and reused by the next ones (same --records, "
                        "--seed and --backend; PostgreSQL's database is kept as "
                        "sohoa_bench_serve_<folder name>)")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help="comma-separated kinds each client asks for in turn")  # fmt: skip
    args = parser.parse_args()
    kinds = tuple(args.kinds.split(","))
    if not kinds or set(kinds) - set(KINDS):
        parser.error(f"--kinds: some of {','.join(KINDS)}")
    with database(args) as url:
        data = args.keep or (Path(url.removeprefix("sqlite:///")).parent
                             if args.backend == "sqlite" else Path(tempfile.mkdtemp()))  # fmt: skip
        archive = data / "archive"
        names, uids = built(url, args, archive)
        port = free_port()
        env = {**os.environ, "SOHOA_DATABASE_URL": url, "SOHOA_DATA_DIR": str(data),
               "SOHOA_ARCHIVE_DIR": str(archive)}  # fmt: skip
        sohoa = shutil.which("sohoa", path=str(Path(sys.executable).parent)) or "sohoa"
        server = subprocess.Popen([sohoa, "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", str(args.workers)], env=env, cwd=data)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        server_tree = psutil.Process(server.pid)
        try:
            for _ in range(120):
                try:
                    httpx.get(f"{base}/login", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
            plan = {"names": names, "uids": uids, "kinds": kinds}
            bench_cpu, server_cpu = time.process_time(), cpu_seconds(server_tree)
            database_cpu = database_cpu_seconds(args.backend)
            times, heads, errors, elapsed = asyncio.run(drive(base, plan, args))
            bench_cpu, server_cpu = time.process_time() - bench_cpu, \
                cpu_seconds(server_tree) - server_cpu  # fmt: skip
            database_cpu = database_cpu_seconds(args.backend) - database_cpu
        finally:
            server.terminate()
            server.wait(timeout=30)
    total = sum(len(v) for v in times.values())
    print(f"\nserve_load: {args.records} records ({args.backend}), {args.clients} clients, "
          f"{elapsed:.0f} s, {args.workers} server processes, think {args.think_ms:.0f} ms; "
          f"{total} requests ({total / elapsed:.1f}/s); load average {os.getloadavg()[0]:.1f}")
    per = max(total, 1) / 1000
    postgresql = f", PostgreSQL {database_cpu / per:.1f} ms" if args.backend != "sqlite" else ""
    print(f"  CPU per request: server {server_cpu / per:.1f} ms{postgresql}, load generator "
          f"{bench_cpu / per:.1f} ms (user+sys); {os.cpu_count()} cores")  # fmt: skip
    # "headers": until the answer's headers arrived, before its body was read (a download's
    # 300 KB take the load generator's event loop several turns, shared with 49 clients).
    print(f"  {'kind':<10}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'headers p50/p95':>17}  target p95 < 300")  # fmt: skip
    for kind in kinds:
        p50, p95 = percentiles(times[kind])
        h50, h95 = percentiles(heads[kind])
        verdict = "ok" if p95 < TARGET_P95_MS and not errors[kind] else "NOT MET"
        count = len(times[kind])
        print(f"  {kind:<10}{count:>9}{errors[kind]:>8}{p50:>9.0f}{p95:>9.0f}"
              f"{f'{h50:.0f} / {h95:.0f}':>17}  {verdict}")  # fmt: skip
    if errors["why"]:
        print("  errors:", ", ".join(f"{why} x{n}" for why, n in errors["why"].items()))


if __name__ == "__main__":
    main()
