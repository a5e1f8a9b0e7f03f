"""The migration that stops SQLite giving ids out twice, run on a forum with people and their writing in it.

On SQLite it rebuilds six tables with AUTOINCREMENT: every row, column, index, constraint, foreign key, view
and trigger must come through, foreign keys must still be enforced (a rebuild with them on would have
emptied or deleted every row referring to the old tables), and afterwards a deleted newest account's id is
not given to the next person. On PostgreSQL it does nothing, and the same promises hold.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from forum import ROOT, create_app, search
from forum.extensions import db
from forum.models import ApiToken, Bookmark, ChatMessage, Notification, Post, ReviewItem, Thread, User
from forum.seeding import seed_boards
from forum.services import accounts, chat, posting, privacy, review, social
from tests.conftest import make_config

MIGRATIONS = str(ROOT / "migrations")
BEFORE = "b7e3c1a9d2f4"  # the revision before ids were made never to go back
PASSWORD = "correct horse battery"
REBUILT = ("users", "threads", "posts", "chat_messages", "review_items", "notifications")


def _app(url: str) -> Flask:
    return create_app(make_config(url))


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


# --- a forum with people in it --------------------------------------------------------------------------


def _a_forum_before_the_upgrade() -> dict[str, int]:
    """The schema as it was before the ids migration, with boards and people in it: their ids by name."""
    upgrade(directory=MIGRATIONS, revision=BEFORE)
    seed_boards()
    return _a_forum_with_people_in_it()


def _a_forum_with_people_in_it() -> dict[str, int]:
    """Accounts with writing, tokens, chat, bookmarks, notifications and review items, made through the
    services as the forum makes them; the newest account is deleted, after someone asked for a check-in."""
    ash, bea, cai, dee = (accounts.register(name, PASSWORD) for name in ("ash", "bea", "cai", "dee"))
    for person in (ash, bea, dee):
        accounts.issue_token(person)
    board = posting.get_board("grief-and-loss")
    opening = posting.create_thread(ash, board, title="Missing my mum", body="I keep finding her recipes.")
    thread = opening.thread
    first = posting.create_reply(bea, thread, body="The recipes are a way she is still with you.").post
    posting.create_reply(dee, thread, body="I cook my dad's soup every winter.", reply_to_id=first.id)
    posting.create_reply(cai, thread, body="Thinking of you this week.")
    social.set_bookmark(dee, opening.post, True)
    social.set_bookmark(bea, opening.post, True)
    social.set_thread_watch(dee, thread, "follow")
    for person, words in ((ash, "Hello everyone"), (bea, "Hi ash"), (dee, "Evening all")):
        chat.send_to_room(person, "board-introductions", body=words, client_id=f"hello-{person.id}")
    introductions = chat.get_room("board-introductions")
    chat.mark_read(dee, introductions, db.session.scalar(select(func.max(ChatMessage.id))))
    review.request_check_in(bea, note="A hard week, could someone check in?")
    # The newest account asks for a check-in and then leaves: the item about them keeps their id.
    fay = accounts.register("fay", PASSWORD)
    review.request_check_in(fay, note="Could someone check in with me?")
    fay_id = fay.id
    privacy.delete_account(fay, password=PASSWORD, posts="delete")
    return {"ash": ash.id, "bea": bea.id, "cai": cai.id, "dee": dee.id, "fay": fay_id, "thread": thread.id}


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the models declare, in id order."""
    db.session.remove()
    with db.engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables
        }


def _sqlite_shape(conn: Connection) -> dict[str, Any]:
    """What SQLite knows of each table apart from its CREATE TABLE text: columns, foreign keys (with their
    actions), indexes (with their columns, uniqueness, origin and WHERE), and every view and trigger."""
    shape: dict[str, Any] = {}
    tables = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).scalars()
    for name in list(tables):
        columns = conn.exec_driver_sql(f'PRAGMA table_xinfo("{name}")').all()
        keys = sorted(tuple(row[2:]) for row in conn.exec_driver_sql(f'PRAGMA foreign_key_list("{name}")'))
        indexes = {}
        for _seq, index, unique, origin, partial in conn.exec_driver_sql(f'PRAGMA index_list("{name}")').all():
            on = tuple(row[2] for row in conn.exec_driver_sql(f'PRAGMA index_info("{index}")'))
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).scalar()
            # SQLite names the indexes of UNIQUE constraints by their position in the table's text.
            indexes[f"unique constraint on {on}" if index.startswith("sqlite_autoindex") else index] = (
                unique,
                origin,
                partial,
                on,
                sql,
            )
        shape[name] = (columns, keys, indexes)
    shape["views and triggers"] = sorted(
        conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('view', 'trigger')")
    )
    return shape


def _shape() -> dict[str, Any]:
    with db.engine.connect() as conn:
        return _sqlite_shape(conn)


def _autoincrement_tables() -> set[str]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'"
        )
        return set(rows.scalars())


def _foreign_keys_hold() -> None:
    """Foreign keys are on for the forum's connections and every row refers to a row that exists."""
    db.session.remove()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def _found(viewer: User, words: str) -> set[int]:
    return {hit.post.id for hit in search.search(viewer, words).hits}


# --- the migration ---------------------------------------------------------------------------------------


def test_upgrading_keeps_every_row_and_then_never_gives_a_deleted_accounts_id_out_again(
    live_database_url: str,
) -> None:
    app = _app(live_database_url)
    with app.app_context():
        ids = _a_forum_before_the_upgrade()
        before = _rows()
        for table in (*REBUILT, "api_tokens", "bookmarks", "thread_watches", "screenings", "chat_read_marks"):
            assert before[table], f"{table} is empty: the test would prove nothing about it"
        shape = _shape() if _is_sqlite() else None

        upgrade(directory=MIGRATIONS)

        assert _rows() == before
        if _is_sqlite():
            assert _autoincrement_tables() == set(REBUILT)
            assert _shape() == shape
            _foreign_keys_hold()
        # Search still follows the posts: the old ones are found, and so are new words.
        ash = db.session.get(User, ids["ash"])
        assert ash is not None
        assert len(_found(ash, "recipes")) == 2
        later = posting.create_reply(ash, db.session.get(Thread, ids["thread"]), body="Made her lemon cake today.")
        assert _found(ash, "lemon cake") == {later.post.id}


def test_after_the_upgrade_foreign_keys_still_cascade_and_refuse(live_database_url: str) -> None:
    app = _app(live_database_url)
    with app.app_context():
        ids = _a_forum_before_the_upgrade()
        upgrade(directory=MIGRATIONS)

        dee = ids["dee"]
        db.session.remove()
        # The account row alone, without the services' erasers: what is left is the foreign keys' doing.
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": dee})
        assert db.session.scalar(select(func.count()).where(ApiToken.user_id == dee)) == 0  # CASCADE
        assert db.session.scalar(select(func.count()).where(Bookmark.user_id == dee)) == 0  # CASCADE
        assert db.session.scalar(select(func.count()).where(Notification.user_id == dee)) == 0  # CASCADE
        assert db.session.scalar(select(func.count()).where(Post.body_md.like("%dad's soup%"))) == 1
        assert db.session.scalar(select(Post.author_id).where(Post.body_md.like("%dad's soup%"))) is None  # SET NULL
        assert db.session.scalar(select(func.count()).where(ChatMessage.client_id == f"hello-{dee}")) == 1
        assert db.session.scalar(select(ChatMessage.author_id).where(ChatMessage.client_id == f"hello-{dee}")) is None
        db.session.remove()
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(insert(ApiToken).values(user_id=999_999, token_hash="0" * 64, session_version=1))
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(
                update(Post).where(Post.id == select(func.max(Post.id)).scalar_subquery()).values(thread_id=999_999)
            )


def test_after_the_upgrade_no_deleted_accounts_id_is_given_to_someone_new(live_database_url: str) -> None:
    app = _app(live_database_url)
    with app.app_context():
        ids = _a_forum_before_the_upgrade()
        upgrade(directory=MIGRATIONS)

        # Fay, the newest, left before the upgrade: the item about her still names her id, so nobody gets it.
        named = db.session.scalars(select(ReviewItem.target_id).where(ReviewItem.target_type == "user")).all()
        assert ids["fay"] in named
        gus = accounts.register("gus", PASSWORD)
        assert gus.id > ids["fay"]

        # Gus, now the newest, leaves after the upgrade: the next person gets a new id too.
        gus_id = gus.id
        privacy.delete_account(gus, password=PASSWORD, posts="delete")
        hal = accounts.register("hal", PASSWORD)
        assert hal.id > gus_id

        # And the same for a post removed outright and for a chat message.
        newest_post = db.session.scalar(select(func.max(Post.id)))
        newest_message = db.session.scalar(select(func.max(ChatMessage.id)))
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM posts WHERE id = :id"), {"id": newest_post})
            conn.execute(text("DELETE FROM chat_messages WHERE id = :id"), {"id": newest_message})
        thread = db.session.get(Thread, ids["thread"])
        assert posting.create_reply(hal, thread, body="New here, and sorry for your loss.").post.id > newest_post
        sent = chat.send_to_room(hal, "board-introductions", body="Hello, I am new", client_id="hal-1")
        assert sent.payload["id"] > newest_message


def test_downgrading_keeps_every_row_too(live_database_url: str) -> None:
    app = _app(live_database_url)
    with app.app_context():
        _a_forum_before_the_upgrade()
        shape = _shape() if _is_sqlite() else None
        upgrade(directory=MIGRATIONS)
        rows = _rows()

        downgrade(directory=MIGRATIONS, revision=BEFORE)

        assert _rows() == rows
        if _is_sqlite():
            assert _autoincrement_tables() == set()
            assert _shape() == shape
            _foreign_keys_hold()
        upgrade(directory=MIGRATIONS)
        assert _rows() == rows


def test_an_upgrade_that_would_leave_a_broken_reference_changes_nothing(live_database_url: str) -> None:
    """The foreign key check runs before the commit: a row pointing at nothing stops the upgrade, and the
    database is left exactly as it was, foreign keys on."""
    if not live_database_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL upgrade rebuilds nothing")
    app = _app(live_database_url)
    with app.app_context():
        _a_forum_before_the_upgrade()
        db.session.remove()
        # A reference to nobody, as a connection with foreign keys off could once have left.
        with sqlite3.connect(str(db.engine.url.database)) as raw:
            raw.execute("INSERT INTO api_tokens (user_id, token_hash, session_version, created_at) "
                        "VALUES (999999, 'dangling', 1, '2026-01-01 00:00:00.000000')")  # fmt: skip
        rows, shape = _rows(), _shape()

        with pytest.raises(SystemExit) as stopped:  # Flask-Migrate logs the error and exits, as `flask db upgrade`
            upgrade(directory=MIGRATIONS)
        assert "rows refer to rows that do not exist after the rebuild" in str(stopped.value.__context__)

        assert _rows() == rows
        assert _shape() == shape
        assert _autoincrement_tables() == set()
        db.session.remove()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == BEFORE
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
