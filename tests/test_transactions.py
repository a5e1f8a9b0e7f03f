"""The write path's transaction: what a write sees of rows the request read before it."""

from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forum.extensions import db
from forum.models import User
from forum.services.transaction import GroupCommit, write_transaction


def _bump_elsewhere(user_id: int, by: int) -> None:
    """Another connection (another request, another process) changes the row and commits."""
    with db.engine.connect() as other:
        other.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + by))
        other.commit()


def test_a_write_after_reads_counts_from_the_row_as_it_is_under_the_write_lock(app: Flask, member: User) -> None:
    loaded = db.session.get(User, member.id)
    assert loaded is not None
    before = loaded.session_version  # read in this request's read transaction
    _bump_elsewhere(member.id, 5)
    with write_transaction():
        loaded.session_version += 1
    db.session.expire_all()
    assert db.session.get(User, member.id).session_version == before + 6, "the other change is not lost"


def _stored_version(user_id: int) -> int:
    return int(db.session.scalar(select(User.session_version).where(User.id == user_id)))


def test_reads_after_a_write_see_what_was_committed_since(app: Flask, member: User) -> None:
    member_id = member.id  # read once: touching the expired object after a commit would open a new snapshot
    user = db.session.get(User, member_id)
    assert user is not None
    for n in range(1, 4):
        with write_transaction():
            user.session_version += 1
        _bump_elsewhere(member_id, 10)
        assert _stored_version(member_id) == 1 + n * 11, "a fresh snapshot after each write"


def test_a_caller_waiting_for_another_callers_batch_holds_no_pooled_connection(app: Flask, member: User) -> None:
    """Waiting callers that held their connections could take the whole pool while the leader queued for
    one: everyone then waited out the pool's timeout (30 s). A waiting caller gives its connection back."""
    writes = GroupCommit()
    leader_writing, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}
    member_id = member.id
    db.session.remove()
    in_use_before = db.engine.pool.checkedout()

    def hold(session: Session) -> str:
        leader_writing.set()
        release.wait(10)
        return "leader"

    def leader() -> None:
        with app.app_context():
            outcomes["leader"] = writes.run(hold)

    def waiting_caller() -> None:
        with app.app_context():
            db.session.get(User, member_id)  # a request reads before it writes: it holds a connection
            outcomes["follower"] = writes.run(lambda session: "follower")

    threads = [threading.Thread(target=leader)]
    threads[0].start()
    assert leader_writing.wait(10)
    threads.append(threading.Thread(target=waiting_caller))
    threads[1].start()
    deadline = time.monotonic() + 10
    while not writes._queue and time.monotonic() < deadline:  # the caller waits for the next batch
        time.sleep(0.01)
    try:
        assert writes._queue, "the second caller is waiting"
        assert db.engine.pool.checkedout() == in_use_before + 1, "only the leader holds a connection"
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert outcomes == {"leader": "leader", "follower": "follower"}
