"""Sessions for a long-running server (`sohoa serve`): engines opened once, connections
pooled, and on SQLite reads apart from writes.

Every transaction of `make_engine` on SQLite starts with BEGIN IMMEDIATE, which takes the
write lock (see db._SqliteFile): right for the pipeline, but fifty readers of a web page
would then queue for one lock. The reader engine here begins deferred and is query-only
(WAL lets it read while a writer commits); a page that also writes (the access log) writes
in a short transaction of the writer engine. On PostgreSQL one engine serves both.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from sohoa.records.db import _sqlite_connect, _SqliteFile, check_schema, make_engine, session_scope


def _reader_connect(dbapi_connection, record) -> None:
    _sqlite_connect(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages per connection
    # No memory-mapped reads: every access-log line the server writes is a commit, and after
    # a commit a reader's first full-text query cost ~3 ms more with a 1 GiB map than
    # without one (10^5 records, a search then a log line, 200 names: 12.4-13.9 ms of CPU
    # per search mapped, 8.3-8.7 ms not).
    cursor.close()


class _DeferredBegin(_SqliteFile):
    def begin(self, connection) -> None:
        connection.exec_driver_sql("BEGIN")
        self.check()


class Pool:
    """`reading()` and `writing()` sessions on the database at `url`, `size` connections
    each (plus as many again in bursts)."""

    def __init__(self, url: str, size: int = 8) -> None:
        options = {"pool_size": size, "max_overflow": size, "pool_timeout": 30}
        self.writer = make_engine(url, **options)
        check_schema(self.writer)
        self.reader = self.writer
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///")).absolute()
            self.reader = create_engine(url, **options)
            event.listen(self.reader, "connect", _reader_connect)
            event.listen(self.reader, "begin", _DeferredBegin(path).begin)
        self._read = sessionmaker(self.reader, expire_on_commit=False)
        self._write = sessionmaker(self.writer, expire_on_commit=False)
        # SQLite has one write lock, and a transaction waiting for it polls in sleeps of up
        # to 100 ms (its busy handler). The threads of this process queue here instead and
        # are woken as soon as the one before them commits: only the other processes poll.
        self._one_writer = threading.Lock() if self.reader is not self.writer else None

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with session_scope(self._read) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self._one_writer or contextlib.nullcontext(), session_scope(self._write) as session:
            yield session

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
