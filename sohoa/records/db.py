"""Engine, sessions and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sohoa.errors import SohoaError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. Every command checks the database against it, and importing Alembic
# to read it from the scripts would cost each `sohoa status` about 60 ms; a test keeps the
# two in step.
SCHEMA_HEAD = "0014"
SQLITE_BUSY_MS = 30_000  # how long one statement waits for another writer's lock
# SQLite's search index holds every two words side by side as one token, "nguyen_van"
# (migration 0013, sohoa.records.search.schema): "_" is no part of a word
# (sohoa.records.search.text.tokens), so no word a user types is ever a pair.
PAIR_JOIN = "_"


def pair_tokens(words: Sequence[str]) -> list[str]:
    """["nguyen", "van", "binh"] -> ["nguyen_van", "van_binh"]."""
    # str.join mapped over the pairs: 30 us a document of ~400 words against 41 us for
    # concatenating in a comprehension, twice for each document written.
    return list(map(PAIR_JOIN.join, itertools.pairwise(words)))


def word_pairs(text: str | None) -> str:
    """The SQL function sohoa_pairs: the pair tokens of space-separated words, in order, so
    that a phrase of pairs stands where the phrase of words does. Here, not in the search
    package, because every SQLite connection needs it and importing that package costs each
    `sohoa status` its start-up time."""
    return " ".join(pair_tokens(text.split(" "))) if text else ""


def _sqlite_functions(dbapi_connection, _record=None) -> None:
    """What every SQLite connection needs, in-memory ones too: the search triggers call
    sohoa_pairs on every write of search_docs (deterministic: the same words give the same
    tokens to delete as they gave to insert)."""
    dbapi_connection.create_function("sohoa_pairs", 1, word_pairs, deterministic=True)


def _sqlite_connect(dbapi_connection, _record) -> None:
    _sqlite_functions(dbapi_connection)
    # The driver emits BEGIN itself (below), so pysqlite must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: auditors read while the driver writes; busy_timeout: wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


class _SqliteFile:
    """The database file an engine opened, by device and inode: deleted or replaced while
    open (a restore over it, a cleanup script), SQLite would go on writing to the old inode,
    and every commit of the run would vanish with it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None

    def _current(self) -> tuple[int, int] | None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        return status.st_dev, status.st_ino

    def check(self) -> None:
        current = self._current()
        if self.identity is None:
            self.identity = current
        elif current != self.identity:
            what = "deleted" if current is None else "replaced by another file"
            raise SohoaError(
                f"database file {self.path} was {what} while in use; stopped before writing to "
                "it: put the right file back (or restore a backup), then run 'sohoa resume'"
            )

    def begin(self, connection) -> None:
        # Take the write lock when the transaction starts. A read transaction that later
        # writes cannot wait for the lock once another process committed
        # (SQLITE_BUSY_SNAPSHOT fails at once, busy_timeout or not); two drivers, or a driver
        # and an interrupted session, would then fail with "database is locked" instead of
        # waiting their turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        self.check()  # with the lock held: nobody swaps the file between check and commit


def make_engine(url: str, **options: Any) -> Engine:
    """The engine of `url`; `options` go to SQLAlchemy's create_engine (pool sizes)."""
    try:
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, **options)
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _SqliteFile(path.absolute()).begin)
            return engine
        if url.startswith("sqlite:"):  # in memory (tests): no file to lock or to share
            engine = create_engine(url, **options)
            event.listen(engine, "connect", _sqlite_functions)
            return engine
        return create_engine(url, pool_pre_ping=True, **options)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SohoaError(f"database URL {_describe(url)} is not usable: {exc}") from exc


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _describe(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url  # never print a password


def _unreachable(engine: Engine, exc: OperationalError) -> SohoaError:
    reason = " ".join(str(exc.orig).split())  # drivers' messages span lines
    return SohoaError(f"cannot reach the database {_describe(str(engine.url))}: {reason}")


DAMAGED_SQLITE = ("file is not a database", "database disk image is malformed")


def damaged_database(exc: BaseException, where: str = "the SQLite database") -> SohoaError | None:
    """The one line for a damaged SQLite file, or None when `exc` is something else."""
    if not isinstance(exc, DatabaseError):
        return None
    reason = str(exc.orig)
    if not any(words in reason for words in DAMAGED_SQLITE):
        return None
    return SohoaError(
        f"{where} is damaged ({reason}): restore it from the last backup (or copy it aside and "
        "run 'sohoa init' for a new one), then 'sohoa resume'"
    )


def _database_problem(engine: Engine, exc: DatabaseError) -> SohoaError:
    if isinstance(exc, OperationalError) and damaged_database(exc) is None:
        return _unreachable(engine, exc)
    damaged = damaged_database(exc, f"database {_describe(str(engine.url))}")
    if damaged is None:
        raise exc
    return damaged


def upgrade(engine: Engine) -> str:
    """Create or upgrade the schema to the newest migration; returns the revision."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DatabaseError as exc:
        raise _database_problem(engine, exc) from exc
    return ScriptDirectory.from_config(config).get_current_head() or ""


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database that `sohoa init` has not brought up to date."""
    try:
        with engine.connect() as connection:
            current = _schema_revision(connection)
    except DatabaseError as exc:
        raise _database_problem(engine, exc) from exc
    if current != SCHEMA_HEAD:
        raise SohoaError(
            f"database {_describe(str(engine.url))} is not initialised or is out of date: "
            "run 'sohoa init'"
        )


def _schema_revision(connection: Connection) -> str | None:
    # What Alembic's MigrationContext.get_current_revision() reads, without importing Alembic.
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@contextmanager
def open_database(url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database that `sohoa init` brought up to date; the engine (and every
    pooled connection) is closed on exit, so no session outlives the command."""
    engine = make_engine(url)
    try:
        check_schema(engine)
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


@contextmanager
def database_session(url: str) -> Iterator[Session]:
    """One transaction on the database at `url`, for a command that needs only one."""
    with open_database(url) as factory, session_scope(factory) as session:
        yield session


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


def grant_auditor(engine: Engine, role: str, password: str) -> None:
    """Create (or update) a PostgreSQL login role that can read everything and write nothing
    but its own lines of the search access log."""
    if engine.dialect.name != "postgresql":
        raise SohoaError(
            "auditor roles need PostgreSQL: SQLite has no users (copy the file instead)"
        )
    if not role.replace("_", "").isalnum() or not role[0].isalpha():
        raise SohoaError(f"role name {role!r}: use letters, digits and underscores")
    quoted = f'"{role}"'
    with engine.begin() as connection:
        exists = connection.exec_driver_sql(
            "SELECT 1 FROM pg_roles WHERE rolname = %(role)s", {"role": role}
        ).scalar()
        verb = "ALTER" if exists else "CREATE"
        secret = connection.exec_driver_sql(
            "SELECT quote_literal(%(pw)s)", {"pw": password}
        ).scalar_one()
        connection.exec_driver_sql(f"{verb} ROLE {quoted} LOGIN PASSWORD {secret}")
        database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
        for statement in (
            f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}',
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}",
            # Tables a later migration adds are readable too.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {quoted}",
            # The one write: `sohoa search` logs every search, an auditor's too.
            f"GRANT INSERT ON search_access_log TO {quoted}",
            f"GRANT USAGE ON SEQUENCE search_access_log_id_seq TO {quoted}",
        ):
            connection.exec_driver_sql(statement)
