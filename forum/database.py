"""Engine tuning: SQLite durability and locking, applied once when the app binds the engine."""

from __future__ import annotations

import sys
import time
from typing import Any

from flask import Flask
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from forum.config import is_sqlite
from forum.extensions import db

# An execution option the write path sets to take SQLite's write lock at BEGIN instead of at the
# first write: two writers then queue on the busy timeout instead of failing with "database is locked".
IMMEDIATE = "forum_begin_immediate"
BUSY_TIMEOUT_MS = 30_000


def engine_options(app: Flask) -> dict[str, Any]:
    if not is_sqlite(app):
        return _postgresql_options(app)
    # We issue BEGIN ourselves (below), so pysqlite must not open transactions on its own.
    connect_args = {"isolation_level": None, "check_same_thread": False, "timeout": 30}
    # Under gevent, every chat event waiting for a shared commit (services.transaction.GroupCommit) holds a
    # connection. With the default pool (5 kept) the rest were opened and closed per event, each paying
    # the pragmas below; a pool this size keeps them open. Idle SQLite connections cost little memory.
    return {"connect_args": connect_args, "pool_size": 32, "max_overflow": 32}


def _postgresql_options(app: Flask) -> dict[str, Any]:
    """pool_pre_ping: a connection the server dropped (a restart, a failover) is replaced before a request
    gets it. Sessions in UTC: in the server's default zone (often the named zone Etc/UTC) psycopg gives
    each timestamp a ZoneInfo, and UTCDateTime then converted every one with astimezone; in UTC it gives
    datetime.UTC, which needs nothing. Options in the database URL are kept (connect_args would replace
    them), and a time zone set there wins."""
    given = make_url(str(app.config["SQLALCHEMY_DATABASE_URI"])).query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    if "timezone" in given.lower():
        return {"pool_pre_ping": True}
    return {"pool_pre_ping": True, "connect_args": {"options": f"{given} -c timezone=UTC".strip()}}


def configure_engine(app: Flask) -> None:
    if not is_sqlite(app):
        return
    with app.app_context():
        _install_sqlite_hooks(db.engine)
        if _gevent_patched():
            _commit_off_the_loop(db.engine)


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def _commit_off_the_loop(engine: Engine) -> None:
    """Under gevent, COMMIT runs in a native thread while the worker's other requests go on.

    A commit is SQLite's fsync (about 4 ms on the bench machine's disk), made in C: on the event loop it stopped every
    request of the worker, so a core sat idle while replies waited to be rendered, screened and queued
    for the next group commit. The driver releases the GIL while SQLite works, and the connection is
    used by no one else meanwhile (its greenlet waits for the result); check_same_thread is off.
    """
    from gevent import get_hub

    def do_commit(dbapi_connection: Any) -> None:
        get_hub().threadpool.apply(dbapi_connection.commit)

    engine.dialect.do_commit = do_commit  # type: ignore[method-assign]


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",  # readers never wait for the writer
            "synchronous=FULL",  # an acknowledged post survives a power cut
            f"busy_timeout={BUSY_TIMEOUT_MS}",  # readers and COMMIT; writers wait in _begin_immediate
            "foreign_keys=ON",
            "secure_delete=ON",  # deleted text is overwritten, not left in free pages
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        driver = conn.connection.dbapi_connection
        conn.info[_CHANGES_AT_BEGIN] = driver.total_changes
        if conn.get_execution_options().get(IMMEDIATE, False):
            _begin_immediate(conn)
        else:
            # Straight to the driver: every request and chat event opens a read transaction, and
            # SQLAlchemy's statement machinery (events, a result object) cost more than the BEGIN itself.
            driver.execute("BEGIN")


# The driver's count of rows changed, noted at each BEGIN: the same count later means nothing was written.
_CHANGES_AT_BEGIN = "forum_changes_at_begin"


def restart_for_reading(conn: Any) -> None:
    """End this connection's read transaction and open a new one in place: a fresh snapshot."""
    driver = conn.connection.dbapi_connection
    driver.execute("ROLLBACK")
    driver.execute("BEGIN")


def end_read_in_place(conn: Any) -> bool:
    """End this connection's transaction if it only read, keeping the connection; begin_write_in_place
    follows. False (and nothing done) if it wrote: undoing that is the session's rollback's job."""
    driver = conn.connection.dbapi_connection
    if driver.total_changes != conn.info.get(_CHANGES_AT_BEGIN):
        return False
    driver.execute("ROLLBACK")
    return True


def begin_write_in_place(conn: Any) -> None:
    """Take SQLite's write lock on a connection whose read transaction was ended in place.

    Cheaper than a session rollback and a new checkout (returning the connection to the pool, taking
    it back, the transaction bookkeeping on both sides), which every reply and chat message paid.
    """
    _begin_immediate(conn)


# How long a writer waits for SQLite's write lock before "database is locked" (as busy_timeout did).
WRITE_LOCK_WAIT_SECONDS = 30.0
_FIRST_RETRY_SECONDS = 0.0005
_LONGEST_RETRY_SECONDS = 0.005


def _begin_immediate(conn: Any) -> None:
    """Take the write lock, waiting with time.sleep between tries instead of inside SQLite.

    SQLite's own busy handler sleeps in C with a backoff of up to 100 ms a step. Under gevent that
    blocks the whole worker (every connection it serves) and oversleeps once the lock is free: replies
    measured a p99 over a second. time.sleep is cooperative under gevent (and a plain sleep with
    threads), and the short steps take the lock soon after it is released.
    """
    # The pragmas go straight to the driver: they run for every write transaction, and SQLAlchemy's
    # statement machinery (events, result objects) adds nothing to them.
    driver = conn.connection.dbapi_connection
    driver.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + WRITE_LOCK_WAIT_SECONDS
        delay = _FIRST_RETRY_SECONDS
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if not _is_busy(error) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, _LONGEST_RETRY_SECONDS)
    finally:
        driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _is_busy(error: OperationalError) -> bool:
    return "database is locked" in str(error.orig) or "database is busy" in str(error.orig)


# Search keeps its own tables and triggers (FTS5, tsvector), created by forum.search, not declared as models.
_UNMODELLED_PREFIXES = ("search_", "posts_fts", "fts_")


def include_in_migrations(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name or "").startswith(_UNMODELLED_PREFIXES)
