"""A Dask client: a local cluster of single-threaded worker processes, or an existing one."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.threads import SINGLE_THREAD_ENV

CGROUP_ROOT = Path("/sys/fs/cgroup")
Item = TypeVar("Item")
Result = TypeVar("Result")

# Dask's defaults suit interactive analysis; here a task is seconds of OCR, so the
# millisecond-scale housekeeping only burns CPU that the pages need. Measured on this
# 2-core machine, an idle 2-worker local cluster spent ~0.15 CPU-s per second with the
# defaults (event-loop tick every 20 ms, the statistical profiler every 10 ms, the memory
# monitor every 100 ms, system monitor every 500 ms).
DASK_CONFIG = {
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.active-memory-manager.start": False,  # no replicas to reduce
    # Debug logs of recent messages and transitions (1000 by default: with a copy of each
    # task's arguments, ~10 MB of driver memory for nothing).
    "distributed.admin.low-level-log-length": 100,
    # One task per single-threaded worker: none waits behind a long record on a busy worker
    # while another worker is idle (the driver's window keeps the next ones queued).
    "distributed.scheduler.worker-saturation": 1.0,
    # The local cluster's worker processes get the thread caps before they start.
    "distributed.nanny.pre-spawn-environ": SINGLE_THREAD_ENV,
    # Only the driver handles Ctrl-C; the worker processes ignore it (no tracebacks).
    "distributed.worker.preload": ["sohoa.pipeline.interrupts"],
}


def _cgroup_v2_limit(cgroup_root: Path, proc_cgroup: str) -> float | None:
    """The tightest cpu.max quota (in cores) from this process's cgroup up to the root."""
    relative = next((line[3:] for line in proc_cgroup.splitlines() if line.startswith("0::")), None)
    if relative is None:
        return None
    limit = None
    folder = cgroup_root / relative.strip().lstrip("/")
    while True:
        try:
            quota, period = (folder / "cpu.max").read_text().split()[:2]
            if quota != "max":
                cores = int(quota) / int(period)
                limit = cores if limit is None else min(limit, cores)
        except (OSError, ValueError):
            pass
        if folder == cgroup_root or cgroup_root not in folder.parents:
            return limit
        folder = folder.parent


def _cgroup_v1_limit(cgroup_root: Path) -> float | None:
    try:
        quota = int((cgroup_root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup_root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def usable_cores(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path | None = None) -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup CPU quota (v2
    `cpu.max` of its own cgroup and every parent, or v1 `cpu.cfs_quota_us`), as a container
    limited with `--cpus` or a systemd `CPUQuota` sets it. A fractional quota rounds down."""
    cores = len(os.sched_getaffinity(0))
    try:
        membership = (proc_cgroup or Path("/proc/self/cgroup")).read_text()
    except OSError:
        membership = ""
    limit = _cgroup_v2_limit(cgroup_root, membership)
    if limit is None:
        limit = _cgroup_v1_limit(cgroup_root)
    if limit is not None:
        cores = min(cores, int(limit))
    return max(1, cores)


LOOPBACK_DASHBOARD = "127.0.0.1:0"  # any free port, this machine only


def dashboard_address(settings: Settings) -> str:
    """Where the local cluster's scheduler serves its dashboard (pipeline.dashboard_address):
    it shows workers, task keys and logs, so by default only to this machine."""
    return settings.pipeline.dashboard_address or LOOPBACK_DASHBOARD


@contextmanager
def dask_client(
    workers: int, scheduler: str | None, dashboard: str = LOOPBACK_DASHBOARD
) -> Iterator[object]:
    """Yield a `distributed.Client`; a local cluster (its dashboard at `dashboard`) is shut
    down on exit."""
    import dask
    from distributed import Client, LocalCluster  # heavy import: only when a batch runs

    from sohoa.pipeline.plugin import SingleThreadPlugin

    # Errors with -v (the root logger at INFO or below), else nothing: a stopped batch's
    # scheduler logs a CRITICAL "closed comm" with a traceback. Importing distributed resets
    # its loggers, so the level the CLI gave them is gone by now.
    verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
    quiet = logging.ERROR if verbose else logging.CRITICAL + 1
    for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.scheduler"):
        logging.getLogger(name).setLevel(quiet)
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise SohoaError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        try:
            client.register_plugin(SingleThreadPlugin(quiet=not verbose))
            yield client
        finally:
            client.close()
        return
    with dask.config.set(DASK_CONFIG):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # nobody watches it during a batch; it costs CPU
            # The scheduler still serves /health over HTTP: on any free port by default, never a
            # warning that 8787 is taken by another cluster; on loopback unless configured.
            scheduler_kwargs={"dashboard_address": dashboard, "extensions": _extensions()},
            extensions={},  # the workers' only default one is "spans", whose metrics it reads
            silence_logs=quiet,  # sets the "distributed" loggers here and in the workers
        )
        client = Client(cluster)
        try:
            client.register_plugin(SingleThreadPlugin(quiet=not verbose))
            yield client
        finally:
            client.close()
            cluster.close()


def _extensions() -> dict[str, type]:
    """The local scheduler's extensions without "spans": it keeps a metadata entry for every
    `client.submit` for the scheduler's lifetime (distributed 2026.8 spans.Span.add_metadata),
    which made the driver grow ~37 bytes per record, 41 MB over a million-record batch.
    sohoa reads no span metrics; the dashboard's span pages are the only loss. The workers go
    without their half of it (which reports to this one), or their heartbeats fail."""
    import dask
    from distributed.scheduler import DEFAULT_EXTENSIONS

    dropped = {"spans"}
    if not dask.config.get("distributed.scheduler.work-stealing"):
        dropped.add("stealing")  # as the scheduler does when it picks its own
    return {name: ext for name, ext in DEFAULT_EXTENSIONS.items() if name not in dropped}


# dask.utils.key_split keeps every task key it was asked about, up to 100,000 of them
# (functools.lru_cache), and a local scheduler asks once per task in the driver's process:
# measured ~430 bytes per key (the key and the cache's entry), so up to ~43 MB that only
# grows, reached at ~50,000 records when each goes in a task of its own. Emptied every
# TASK_NAMES_KEPT tasks, the cache stays under ~4 MB; key_split only recomputes a name.
TASK_NAMES_KEPT = 10_000


def forget_task_names() -> None:
    """Empty the cache of task keys that Dask's key_split keeps in this process."""
    from dask.utils import key_split

    key_split.cache_clear()


def map_chunks(
    function: Callable[..., list[Result]],
    chunks: Sequence[list[Item]],
    args: tuple[Any, ...],
    workers: int,
    scheduler: str | None,
    dashboard: str,
) -> Iterable[tuple[list[Item], list[Result]]]:
    """(chunk, `function(chunk, *args)`) as each finishes: in this process when one worker
    will do, else on a Dask cluster (a local one, or the one at `scheduler`)."""
    if workers <= 1 and not scheduler:
        for chunk in chunks:
            yield chunk, function(chunk, *args)
        return
    from distributed import as_completed

    with dask_client(workers, scheduler, dashboard) as client:
        futures = {client.submit(function, chunk, *args, pure=False): chunk for chunk in chunks}
        for future in as_completed(futures):
            yield futures[future], future.result()
