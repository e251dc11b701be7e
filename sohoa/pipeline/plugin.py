"""The Dask worker plugin that pins every worker's threads (sohoa.threads).

Imported only where a Dask cluster is used (it imports `distributed`).
"""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from sohoa.quiet import quiet_library_warnings
from sohoa.threads import pin_threads


class SingleThreadPlugin(WorkerPlugin):
    """Runs `pin_threads` in every worker that joins, also those started by hand on another
    machine for `--scheduler` and those a nanny restarts after a crash; and, unless the
    command runs with -v, silences the libraries' warnings there as the CLI does here."""

    name = "sohoa-single-thread"
    idempotent = True

    def __init__(self, quiet: bool = True) -> None:
        self.quiet = quiet

    def setup(self, worker: object) -> None:
        pin_threads()
        if self.quiet:
            quiet_library_warnings()
