"""Writing a record's signed file into the archive: atomically, clearing what an earlier
attempt left, and naming the storage faults (a full disk, an unwritable archive) as the
record's failure reason instead of a bug."""

from __future__ import annotations

import errno
import glob
import os
from pathlib import Path

from sohoa.errors import RecordError


def write_atomically(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Temporary name in the same folder, fsync, rename, fsync the folder: a crash leaves
    either the old file or the new one, never half of one. The temporary name is fixed per
    output, so a retry after a crash overwrites its leftover instead of adding another.
    `exclusive`: FileExistsError instead of replacing a file already at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temporary, path)  # atomic, and refuses an existing name
            temporary.unlink()
        else:
            os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# Failure reasons of the archive's storage rather than of the record: the driver stops
# handing out work on the first one, since every record after it would fail the same way.
ARCHIVE_FAULTS = frozenset({"archive_unwritable", "disk_full"})
_FULL = {errno.ENOSPC, errno.EDQUOT}
_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


def storage_error(exc: OSError, fallback: Path) -> RecordError | None:
    """The RecordError for a write refused by the archive's storage, or None (a bug)."""
    where = exc.filename or fallback
    if exc.errno in _FULL:
        return RecordError("disk_full", f"no space left to write {where}; free space, then resume")
    if exc.errno in _UNWRITABLE:
        return RecordError(
            "archive_unwritable",
            f"cannot write {where} ({exc.strerror}); make the archive writable, then resume",
        )
    return None


def write_output(archive_dir: Path, output: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Clear the leftovers of an earlier attempt and write the signed file (`exclusive`: only
    where no file is)."""
    try:
        remove_leftovers(archive_dir, output.name)
        write_atomically(output, data, exclusive=exclusive)
    except FileExistsError as exc:
        raise RecordError(
            "output_exists", f"{output} was written meanwhile by another run; resume the batch"
        ) from exc
    except OSError as exc:
        failure = storage_error(exc, output)
        if failure is None:
            raise
        raise failure from exc


def remove_leftovers(archive_dir: Path, name: str) -> None:
    """A crash between writing and renaming leaves a temporary; the retry clears it, under
    whichever procedure folder the last attempt chose."""
    for leftover in archive_dir.glob(f"*/.{glob.escape(name)}.tmp"):
        leftover.unlink(missing_ok=True)
