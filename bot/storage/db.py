"""Database engine and sessions for SQLite (default) and PostgreSQL (scale path)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
SCRUB_WAIT_MS = 2_000  # how long emptying the WAL waits for readers
PRIVATE = 0o600  # the database holds health and offence data: its owner alone may read it

log = logging.getLogger("checkins.db")


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message says why in one line."""


def describe_failure(url: str, exc: BaseException) -> str:
    """One line for a database that cannot be reached: where (password hidden) and why."""
    try:
        where = make_url(url).render_as_string(hide_password=True)
    except Exception:
        where = "the configured database"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"cannot use the database {where}: {reason[0] if reason else type(exc).__name__}"


def _sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for in-memory and URI-style databases."""
    parsed = make_url(url)
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(database)


def make_private(path: Path) -> None:
    """Create the database file readable by its owner only, or take others' access away.

    SQLite gives the -wal and -shm files it creates the main file's permissions, so this covers
    them as they appear; any already there are tightened too.
    """
    if not path.exists():
        if not path.parent.is_dir():
            raise DatabaseUnavailable(f"the database's folder {path.parent} does not exist")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE))  # empty file, empty database
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot create the database {path}: {exc.strerror}") from None
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(each.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                os.chmod(each, PRIVATE)
            except OSError:  # someone else's file: say so, and let SQLite try to open it
                log.warning("database file %s is readable by others (%o) and cannot be changed",
                            each.name, mode)
                continue
            log.warning("database file %s was readable by others (%o); now %o", each.name, mode, PRIVATE)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def is_lock_error(exc: BaseException) -> bool:
    """Whether `exc` means another writer held the database (SQLite's "database is locked")
    or PostgreSQL gave up on a lock (deadlock, lock timeout): the unit of work may run again."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in ("40P01", "55P03", "40001"):
        return True
    return isinstance(exc, OperationalError) and (
        "database is locked" in str(orig) or "database table is locked" in str(orig))


def make_engine(url: str, *, busy_timeout: float = 5.0, **kwargs: Any) -> Engine:
    """Create an engine. SQLite gets WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE.

    BEGIN IMMEDIATE takes the write lock at the start of every transaction, so two workers can
    never both read the same due row as unclaimed (sqlite3 otherwise begins only before DML).
    A writer waits `busy_timeout` seconds for the lock, then gets "database is locked" and its
    caller runs the unit of work again (bot.service.runtime.Services.retrying).
    """
    url = normalise_url(url)
    # A failed statement's message would otherwise carry its values (names, numbers, words)
    # into tracebacks and logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            make_private(path)
        engine = create_engine(url, connect_args={"timeout": busy_timeout}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={max(1, int(busy_timeout * 1000))}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA secure_delete=ON")  # freed space is zeroed, not left readable
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def scrub_wal(engine: Engine) -> bool:
    """After words were blanked: copy the WAL into the database and empty it, so the words'
    earlier versions survive in neither file. True if done (SQLite; PostgreSQL has no WAL file
    of ours). A reader holding an old snapshot makes it wait, then report False (the next
    blanking tries again).
    """
    if engine.dialect.name != "sqlite" or _sqlite_path(str(engine.url)) is None:
        return True
    raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
    try:
        cursor = raw.cursor()
        # Wait briefly, not as long as writers do: the turn worker runs this, and a crisis text may
        # be next in the queue. The daily retention pass tries again.
        writers_wait = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute(f"PRAGMA busy_timeout={SCRUB_WAIT_MS}")
        try:
            busy, _frames, _moved = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(writers_wait)}")
            cursor.close()
    finally:
        raw.close()
    if busy:
        log.warning("the database's write-ahead log could not be emptied yet (a reader was busy)")
    return not busy


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
