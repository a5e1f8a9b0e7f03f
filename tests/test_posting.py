"""The write path: threads and replies through one service, screened, stored once, never lost."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from forum.extensions import db
from forum.models import Board, Post, ReviewItem, ScreeningRecord, Thread, User, utcnow
from forum.services import posting, social
from forum.services.errors import Forbidden, NotAuthenticated, ValidationFailed

CRISIS_TEXT = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."
CALM_TEXT = "My mum died in spring and I keep finding her handwriting in old recipe books."


def _board(slug: str = "grief-and-loss") -> Board:
    return posting.get_board(slug)


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_thread_is_stored_with_its_rendered_first_post(app: Flask, member: User) -> None:
    outcome = posting.create_thread(member, _board(), title="Missing my mum", body="**Still** here.")
    assert outcome.created
    assert outcome.thread.post_count == 1
    assert outcome.post.number == 1
    assert outcome.post.body_html == "<p><strong>Still</strong> here.</p>\n"
    board = _board()
    assert board.thread_count == 1 and board.post_count == 1


def test_replies_are_numbered_in_order_and_bump_the_thread(app: Flask, member: User, make_user) -> None:
    other = make_user("river")
    thread = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT).thread
    first_activity = thread.last_activity_at
    reply = posting.create_reply(other, thread, body="Sending you a hug.").post
    assert reply.number == 2
    assert thread.post_count == 2
    assert thread.last_activity_at >= first_activity


def test_the_same_idempotency_key_returns_the_same_post_not_a_second(app: Flask, member: User) -> None:
    thread = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT).thread
    first = posting.create_reply(member, thread, body="one reply", idempotency_key="k-1")
    again = posting.create_reply(member, thread, body="one reply", idempotency_key="k-1")
    assert first.created and not again.created
    assert again.post.id == first.post.id
    assert _count(Post) == 2


def test_idempotency_keys_are_per_author(app: Flask, member: User, make_user) -> None:
    other = make_user("river")
    thread = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT).thread
    mine = posting.create_reply(member, thread, body="mine", idempotency_key="same")
    theirs = posting.create_reply(other, thread, body="theirs", idempotency_key="same")
    assert mine.post.id != theirs.post.id


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [
        ("Hi", CALM_TEXT, "title"),
        ("x" * 151, CALM_TEXT, "title"),
        ("A fine title", "", "body"),
        ("A fine title", "   \n  ", "body"),
        ("A fine title", "x" * 20_001, "body"),
        ("A fine title", "nul \x00 byte", "body"),
        ("Bell \x07 title", CALM_TEXT, "title"),
        ("A fine title", "\ud800 lone surrogate", "body"),
    ],
)
def test_bad_input_gets_a_field_error_and_writes_nothing(
    app: Flask, member: User, title: str, body: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        posting.create_thread(member, _board(), title=title, body=body)
    assert field in caught.value.fields
    assert _count(Thread) == 0 and _count(Post) == 0 and _count(ScreeningRecord) == 0


def test_anonymous_visitors_cannot_post(app: Flask) -> None:
    with pytest.raises(NotAuthenticated):
        posting.create_thread(None, _board(), title="Missing my mum", body=CALM_TEXT)


def test_editing_keeps_the_earlier_version(app: Flask, member: User) -> None:
    post = posting.create_thread(member, _board(), title="Missing my mum", body="first words").post
    posting.edit_post(member, post, body="second words")
    assert post.body_md == "second words"
    assert post.edited_at is not None
    assert [r.body_md for r in post.revisions] == ["first words"]


def test_only_the_author_can_edit(app: Flask, member: User, make_user) -> None:
    post = posting.create_thread(member, _board(), title="Missing my mum", body="first words").post
    with pytest.raises(Forbidden):
        posting.edit_post(make_user("river"), post, body="not yours")
    assert post.body_md == "first words"


def test_a_refused_edit_of_ones_own_post_names_the_real_reason(app: Flask, member: User, moderator: User) -> None:
    """Deleted, locked or paused: the author is told which, never that the post is not theirs."""
    thread = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT).thread
    gone = posting.create_reply(member, thread, body="a reply I regret").post
    kept = posting.create_reply(member, thread, body="a reply I keep").post
    posting.delete_post(member, gone)
    with pytest.raises(Forbidden, match="was deleted"):
        posting.edit_post(member, gone, body="second thoughts")
    posting.set_locked(moderator, thread, True)
    with pytest.raises(Forbidden, match="thread is locked"):
        posting.edit_post(member, kept, body="second thoughts")
    posting.set_locked(moderator, thread, False)
    member.silenced_until = utcnow() + timedelta(hours=2)
    db.session.commit()
    with pytest.raises(Forbidden, match="paused your posting until"):
        posting.edit_post(member, kept, body="second thoughts")
    assert kept.body_md == "a reply I keep"


def test_deleting_is_soft_and_hides_the_words(app: Flask, member: User) -> None:
    thread = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT).thread
    reply = posting.create_reply(member, thread, body="a reply I regret").post
    posting.delete_post(member, reply)
    assert db.session.get(Post, reply.id) is not None
    assert reply.deleted_at is not None


def test_a_locked_thread_takes_no_replies_from_members(app: Flask, member: User, moderator: User) -> None:
    thread = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT).thread
    posting.set_locked(moderator, thread, True)
    with pytest.raises(Forbidden):
        posting.create_reply(member, thread, body="can I still reply?")
    assert posting.create_reply(moderator, thread, body="A note from the moderators.").created


def test_members_cannot_pin_or_lock(app: Flask, member: User) -> None:
    thread = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT).thread
    with pytest.raises(Forbidden):
        posting.set_pinned(member, thread, True)
    assert not thread.pinned


def test_every_post_is_screened_and_the_screening_stored_with_its_model(app: Flask, member: User) -> None:
    outcome = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT)
    record = db.session.scalar(select(ScreeningRecord).where(ScreeningRecord.target_id == outcome.post.id))
    assert record is not None
    assert record.level == outcome.screen.level
    assert record.model_version


def test_a_crisis_post_is_published_collapsed_and_queued_urgent(app: Flask, member: User) -> None:
    outcome = posting.create_thread(member, _board(), title="I can't go on", body=CRISIS_TEXT)
    assert outcome.screen.level == "crisis"
    assert outcome.post.visibility == "visible"
    assert outcome.post.content_note == posting.AUTO_CONTENT_NOTE
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_id == outcome.post.id))
    assert item is not None and item.priority == "urgent" and item.level == "crisis"


def test_the_hold_policy_shows_a_crisis_post_only_to_its_author_and_moderators(app: Flask, member: User) -> None:
    app.config["CRISIS_POLICY"] = "hold"
    outcome = posting.create_thread(member, _board(), title="I can't go on", body=CRISIS_TEXT)
    assert outcome.post.visibility == "held"
    assert outcome.thread.visibility == "held"


def test_a_crisis_reply_raises_its_thread_risk_for_good_and_is_queued(app: Flask, member: User, make_user) -> None:
    opening = posting.create_thread(member, _board(), title="Missing my mum", body=CALM_TEXT)
    peer = make_user("river")
    crisis = posting.create_reply(peer, opening.thread, body=CRISIS_TEXT)
    calm = posting.create_reply(peer, opening.thread, body="Later: I called the line and talked for an hour.")
    assert crisis.post.content_note == posting.AUTO_CONTENT_NOTE and calm.post.content_note is None
    assert calm.thread.risk_level == "crisis"  # a calm reply after it does not lower the thread's risk
    assert (calm.thread.post_count, calm.post.number) == (3, 3)
    assert _board().post_count == 3
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_id == crisis.post.id))
    assert item is not None and item.priority == "urgent" and item.subject_user_id == peer.id
    screened = db.session.execute(select(ScreeningRecord.target_id, ScreeningRecord.level)).all()
    expected = [(opening.post.id, opening.screen.level), (crisis.post.id, "crisis"), (calm.post.id, calm.screen.level)]
    assert sorted(map(tuple, screened)) == expected


def test_a_calm_post_needs_no_review(app: Flask, member: User) -> None:
    posting.create_thread(member, _board(), title="Small win today", body="I went for a walk with a friend.")
    assert _count(ReviewItem) == 0


def test_a_block_either_way_keeps_each_out_of_the_others_threads(app: Flask, member: User, make_user) -> None:
    blocker_thread = posting.create_thread(member, _board(), title="My week so far", body="Some days are long.").thread
    blocked = make_user("river")
    blocked_thread = posting.create_thread(blocked, _board(), title="Their week", body="Quiet one.").thread
    social.set_block(member, blocked, "block")
    with pytest.raises(Forbidden):
        posting.create_reply(blocked, blocker_thread, body="Hello there.")
    with pytest.raises(Forbidden):
        posting.create_reply(member, blocked_thread, body="Hello there.")
    assert _count(Post) == 2


def test_an_anonymous_thread_stays_open_to_a_blocked_person_and_a_mute_blocks_nothing(
    app: Flask, member: User, make_user
) -> None:
    anonymous = posting.create_thread(member, _board(), title="Hard to say", body="Words.", anonymous=True).thread
    named = posting.create_thread(member, _board(), title="My week so far", body="Some days are long.").thread
    blocked, muted = make_user("river"), make_user("ash")
    social.set_block(member, blocked, "block")
    social.set_block(member, muted, "mute")
    # Refusing here would tell the blocked person who wrote the anonymous thread.
    assert posting.create_reply(blocked, anonymous, body="Thinking of you.").created
    assert posting.create_reply(muted, named, body="Thinking of you.").created


def test_a_sqlite_writer_waits_its_turn_for_the_write_lock_then_saves(app: Flask, member: User) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("the write lock being waited for is SQLite's")
    thread = posting.create_thread(member, _board(), title="Waiting our turn", body="First.").thread
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's write, in progress
    released = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    released.start()
    started = time.monotonic()
    try:
        outcome = posting.create_reply(member, thread, body="Saved once the lock is free.")
    finally:
        released.join()
        holder.close()
    assert outcome.created and 0.25 < time.monotonic() - started < 5
    assert _count(Post) == 2


def test_replies_written_at_the_same_moment_share_commits_and_all_are_saved(
    app: Flask, member: User, make_user
) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("the write lock held here is SQLite's")
    thread_id = posting.create_thread(member, _board(), title="Many at once", body="First.").thread.id
    repliers = [make_user(f"peer{n}").id for n in range(6)]
    commits: list[int] = []
    numbers: list[int] = []

    def reply_as(user_id: int) -> None:
        with app.app_context():
            user, thread = db.session.get(User, user_id), db.session.get(Thread, thread_id)
            numbers.append(posting.create_reply(user, thread, body=f"Here with you, from {user_id}.").post.number)

    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the replies pile up behind another process's write

    def count_commit(_conn: object) -> None:
        commits.append(1)

    event.listen(db.engine, "commit", count_commit)
    workers = [threading.Thread(target=reply_as, args=(user_id,)) for user_id in repliers]
    try:
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        holder.execute("COMMIT")
        for worker in workers:
            worker.join(timeout=30)
    finally:
        event.remove(db.engine, "commit", count_commit)
        holder.close()
    assert sorted(numbers) == list(range(2, 8))  # every reply saved, each with its own number
    assert len(commits) < len(repliers)  # and fewer commits (fsyncs) than replies
    db.session.rollback()  # this test's own snapshot predates the replies
    assert db.session.get(Thread, thread_id).post_count == 7


# Run in its own process: gevent must patch the standard library before anything else is imported.
GEVENT_REPLIES = """
from gevent import monkey

monkey.patch_all()
import json, sys, threading

import gevent
from sqlalchemy import event

from forum import create_app
from forum.extensions import db
from forum.models import User
from forum.seeding import seed_boards
from forum.services import accounts, posting

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "t", "ARGON2_PROFILE": "CHEAPEST",
                  "RATELIMIT_ENABLED": False, "TESTING": True})
loop_thread = threading.get_native_id()
commit_threads, commits = [], []
with app.app_context():
    db.create_all()
    seed_boards()
    event.listen(db.engine, "commit", lambda conn: commits.append(1))
    event.listen(db.engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(
        lambda sql: sql == "COMMIT" and commit_threads.append(threading.get_native_id())))
    db.engine.dispose()  # new connections, so each gets the trace callback
    authors = [accounts.register(f"peer{n}", "a long enough password").id for n in range(12)]
    thread_id = posting.create_thread(db.session.get(User, authors[0]), posting.get_board("grief-and-loss"),
                                      title="Many at once", body="First.").thread.id
    commits.clear()
    commit_threads.clear()

def reply(author_id):
    with app.app_context():
        author, thread = db.session.get(User, author_id), posting.get_thread(thread_id)
        return posting.create_reply(author, thread, body=f"With you, from {author_id}.").post.number

numbers = [g.get() for g in [gevent.spawn(reply, a) for a in authors]]
print(json.dumps({"numbers": sorted(numbers), "commits": len(commits), "off_loop": loop_thread not in commit_threads,
                  "commit_threads": len(commit_threads)}))
"""


def test_under_gevent_commits_run_off_the_event_loop_and_replies_still_share_them(app: Flask, tmp_path) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        pytest.skip("the commit moved off the event loop is SQLite's fsync")
    script = tmp_path / "replies.py"
    script.write_text(GEVENT_REPLIES)
    url = f"sqlite:///{tmp_path / 'gevent.db'}"
    done = subprocess.run([sys.executable, str(script), url], capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["numbers"] == list(range(2, 14))  # every reply saved, each with its own number
    assert 0 < found["commits"] < 12  # replies arriving together shared commits
    assert found["commit_threads"] == found["commits"] and found["off_loop"]  # and each COMMIT ran on another thread


def test_a_reply_cannot_answer_a_post_across_a_block(app: Flask, member: User, make_user) -> None:
    host = make_user("ash")
    thread = posting.create_thread(host, _board(), title="Open to everyone", body="Say hello.").thread
    blocker_post = posting.create_reply(member, thread, body="Hello from sam.").post
    anonymous_post = posting.create_reply(member, thread, body="Hello from nobody.", anonymous=True).post
    blocked = make_user("river")
    social.set_block(member, blocked, "block")
    with pytest.raises(ValidationFailed) as refused:
        posting.create_reply(blocked, thread, body="Answering you.", reply_to_id=blocker_post.id)
    assert "reply_to_id" in refused.value.fields
    answered = posting.create_reply(blocked, thread, body="Answering you.", reply_to_id=anonymous_post.id)
    assert answered.post.reply_to_id == anonymous_post.id
