"""`flask backup` and `flask restore`: a backup, a wiped database, a restore, and the same forum again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from forum.extensions import db
from forum.models import Board, Post, Thread, User
from forum.services import posting

pytestmark = pytest.mark.slow

CRISIS_TEXT = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."


def _arrange_content(make_user) -> None:
    sam, river = make_user("sam"), make_user("river")
    board = posting.get_board("grief-and-loss")
    body = "Her handwriting in **old** recipes."
    thread = posting.create_thread(sam, board, title="Missing my mum", body=body).thread
    posting.create_reply(river, thread, body="Sending you a hug.\n\nIt gets softer.")
    posting.create_reply(sam, thread, body=CRISIS_TEXT)


def _snapshot() -> dict[str, object]:
    """What a person would notice missing: accounts, boards, threads, every post's words, the counters."""
    db.session.remove()  # a fresh read: an open transaction would still see its old snapshot
    snapshot = {
        "users": db.session.execute(select(User.id, User.username, User.password_hash).order_by(User.id)).all(),
        "boards": db.session.execute(select(Board.slug, Board.thread_count, Board.post_count).order_by(Board.id)).all(),
        "threads": db.session.execute(select(Thread.id, Thread.title, Thread.post_count).order_by(Thread.id)).all(),
        "posts": db.session.execute(select(Post.id, Post.author_id, Post.body_html).order_by(Post.id)).all(),
    }
    db.session.remove()  # and no read locks left for the restore to wait on
    return snapshot


def _wipe() -> None:
    db.session.remove()
    db.drop_all()
    db.engine.dispose()


def _cli(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_backup_wipe_restore_finds_the_same_forum(app: Flask, make_user, tmp_path: Path) -> None:
    _arrange_content(make_user)
    before = _snapshot()
    assert len(before["posts"]) == 3

    saved = tmp_path / "hearth.backup"
    result = _cli(app, "backup", str(saved))
    assert result.exit_code == 0, result.output
    assert saved.stat().st_mode & 0o077 == 0, "a backup holds people's words: owner-only"

    _wipe()
    result = _cli(app, "restore", str(saved))
    assert result.exit_code == 0, result.output
    assert "Restored and checked" in result.output
    assert _snapshot() == before
    # The restored forum takes new writes where it left off (sequences restored too).
    thread = db.session.get(Thread, before["threads"][0].id)
    reply = posting.create_reply(db.session.get(User, before["users"][0].id), thread, body="Back again.").post
    assert reply.id > max(p.id for p in before["posts"])


def test_restore_refuses_to_overwrite_data_without_yes(app: Flask, make_user, tmp_path: Path) -> None:
    _arrange_content(make_user)
    saved = tmp_path / "hearth.backup"
    assert _cli(app, "backup", str(saved)).exit_code == 0
    board = posting.get_board("grief-and-loss")
    posting.create_thread(db.session.get(User, 1), board, title="Written after the backup", body="still here")
    after_backup = _snapshot()

    refused = _cli(app, "restore", str(saved))
    assert refused.exit_code != 0
    assert "--yes" in refused.output
    assert _snapshot() == after_backup

    replaced = _cli(app, "restore", str(saved), "--yes")
    assert replaced.exit_code == 0, replaced.output
    titles = [t.title for t in _snapshot()["threads"]]
    assert titles == ["Missing my mum"]


def test_backup_refuses_to_replace_an_existing_file_without_yes(app: Flask, make_user, tmp_path: Path) -> None:
    _arrange_content(make_user)
    saved = tmp_path / "hearth.backup"
    saved.write_bytes(b"an older backup")
    assert _cli(app, "backup", str(saved)).exit_code != 0
    assert saved.read_bytes() == b"an older backup"
    assert _cli(app, "backup", str(saved), "--yes").exit_code == 0
    assert saved.read_bytes() != b"an older backup"


def test_a_damaged_backup_is_refused_before_anything_is_overwritten(app: Flask, make_user, tmp_path: Path) -> None:
    _arrange_content(make_user)
    saved = tmp_path / "hearth.backup"
    assert _cli(app, "backup", str(saved)).exit_code == 0
    before = _snapshot()
    damaged = tmp_path / "damaged.backup"
    data = saved.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])

    result = _cli(app, "restore", str(damaged), "--yes")
    assert result.exit_code != 0
    assert _snapshot() == before


def test_a_file_that_is_not_a_hearth_backup_is_refused(app: Flask, make_user, tmp_path: Path) -> None:
    _arrange_content(make_user)
    before = _snapshot()
    stranger = tmp_path / "other.db"
    with sqlite3.connect(stranger) as conn:
        conn.execute("create table notes (body text)")
    result = _cli(app, "restore", str(stranger), "--yes")
    assert result.exit_code != 0
    assert _snapshot() == before


def test_a_sqlite_backup_is_consistent_while_the_server_keeps_writing(tmp_path: Path) -> None:
    """The online backup API snapshots a database another connection is writing to, mid-transaction."""
    from forum import backup

    live = tmp_path / "live.db"
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.executescript("create table users (id integer primary key); create table boards (id integer primary key)")
    writer.execute("insert into users default values")
    writer.execute("BEGIN")
    writer.execute("insert into users default values")  # uncommitted: must not be in the backup

    report = backup.backup(f"sqlite:///{live}", tmp_path / "copy.db")
    writer.execute("COMMIT")
    writer.close()
    assert report.rows == {"users": 1, "boards": 0}
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
