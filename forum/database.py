"""Engine tuning: SQLite durability and locking, applied once when the app binds the engine."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from forum.config import is_sqlite
from forum.extensions import db

# An execution option the write path sets to take SQLite's write lock at BEGIN instead of at the
# first write: two writers then queue on the busy timeout instead of failing with "database is locked".
IMMEDIATE = "forum_begin_immediate"


def sqlite_engine_options(app: Flask) -> dict[str, Any]:
    if not is_sqlite(app):
        return {"pool_pre_ping": True}
    # We issue BEGIN ourselves (below), so pysqlite must not open transactions on its own.
    return {"connect_args": {"isolation_level": None, "check_same_thread": False, "timeout": 30}}


def configure_engine(app: Flask) -> None:
    if not is_sqlite(app):
        return
    with app.app_context():
        _install_sqlite_hooks(db.engine)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",  # readers never wait for the writer
            "synchronous=FULL",  # an acknowledged post survives a power cut
            "busy_timeout=30000",
            "foreign_keys=ON",
            "secure_delete=ON",  # deleted text is overwritten, not left in free pages
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# Search keeps its own tables and triggers (FTS5, tsvector), created by forum.search, not declared as models.
_UNMODELLED_PREFIXES = ("search_", "posts_fts", "fts_")


def include_in_migrations(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name or "").startswith(_UNMODELLED_PREFIXES)
