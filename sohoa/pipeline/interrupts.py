"""Ctrl-C reaches every process of the terminal's process group, the Dask worker processes
too; each printed a KeyboardInterrupt traceback (about 60 lines for two workers) after
sohoa's own line. Only the driver acts on an interrupt: it puts the in-flight records back
to pending and closes the cluster, which ends the workers. So each worker process of a
local cluster ignores SIGINT, from its start (this module is its Dask preload, see
cluster.DASK_CONFIG), also when a nanny restarts it after a crash."""

from __future__ import annotations

import signal
import threading


def dask_setup(worker: object) -> None:
    """Dask's preload hook, run in the worker process's main thread before it takes work."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
