"""One thread per library in a worker process: workers already run one page per core.

Imported only where a Dask cluster is used (it imports `distributed`).
"""

from __future__ import annotations

import os

from distributed.diagnostics.plugin import WorkerPlugin

from sohoa.pipeline.cluster import SINGLE_THREAD_ENV


def pin_threads() -> None:
    """Cap this process's thread pools, and those of the programs it starts, at one thread.

    Environment variables only reach libraries loaded after they are set; numpy's OpenBLAS
    is loaded before a worker runs anything of ours, so its pool is capped at run time."""
    import cv2
    from threadpoolctl import threadpool_limits

    os.environ.update(SINGLE_THREAD_ENV)
    cv2.setNumThreads(1)
    threadpool_limits(limits=1)


class SingleThreadPlugin(WorkerPlugin):
    """Runs `pin_threads` in every worker that joins, also those started by hand on another
    machine for `--scheduler` and those a nanny restarts after a crash."""

    name = "sohoa-single-thread"
    idempotent = True

    def setup(self, worker: object) -> None:
        pin_threads()
