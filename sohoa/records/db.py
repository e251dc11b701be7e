"""Engine, sessions and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sohoa.errors import SohoaError

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_connect(dbapi_connection, _record) -> None:
    # The driver emits BEGIN itself (below), so pysqlite must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: auditors read while the driver writes; busy_timeout: wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # Take the write lock when the transaction starts. A read transaction that later writes
    # cannot wait for the lock once another process committed (SQLITE_BUSY_SNAPSHOT fails at
    # once, busy_timeout or not); two drivers, or a driver and an interrupted session,
    # would then fail with "database is locked" instead of waiting their turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise SohoaError(f"database URL is not usable: {exc}") from exc


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _describe(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url  # never print a password


def upgrade(engine: Engine) -> str:
    """Create or upgrade the schema to the newest migration; returns the revision."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise SohoaError(
            f"cannot reach the database {_describe(str(engine.url))}: {exc.orig}"
        ) from exc
    return ScriptDirectory.from_config(config).get_current_head() or ""


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database that `sohoa init` has not brought up to date."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise SohoaError(
            f"cannot reach the database {_describe(str(engine.url))}: {exc.orig}"
        ) from exc
    if current != head:
        raise SohoaError(
            f"database {_describe(str(engine.url))} is not initialised or is out of date: "
            "run 'sohoa init'"
        )


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
