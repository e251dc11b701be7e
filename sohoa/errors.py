"""The two kinds of failure sohoa reports, and the CLI's exit codes.

`SohoaError` is a mistake a user can fix (bad option, missing program, unreadable config):
the CLI prints its message on one line and exits with `exit_code`.
`RecordError` fails one record (corrupt scan, timeout) and the batch goes on;
its `reason` is a short stable word stored in the database and grouped by `sohoa status`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    USAGE = 1  # usage or configuration error
    FAILED_RECORDS = 2  # the batch finished, some records failed
    INTERRUPTED = 130


class SohoaError(Exception):
    """A user-caused error; the message says what to do."""

    exit_code: ExitCode = ExitCode.USAGE


class RecordError(Exception):
    """One record cannot be processed; `reason` is a stable short word (e.g. `corrupt_image`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __reduce__(self):  # keep both fields across Dask's pickling
        return (RecordError, (self.reason, self.message))
