"""The one way a service writes: a transaction that commits once, then runs its after-commit work."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from forum.database import IMMEDIATE
from forum.extensions import db

log = logging.getLogger(__name__)

_AFTER_COMMIT = "forum_after_commit"
T = TypeVar("T")


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Open a write transaction; commit on success, roll back on any error.

    Emits, notifications and alerts registered with after_commit() run only once the commit
    succeeded, so nobody is ever told about a post that was not saved.
    """
    session = db.session()
    if session.info.get(_AFTER_COMMIT) is not None:
        # Nested call inside a running transaction: join it; the outer one commits.
        yield session
        return
    if session.in_transaction():
        # End the read snapshot the request may have opened, so the write sees the latest rows.
        session.rollback()
    session.info[_AFTER_COMMIT] = []
    with _writers_queue(session):
        try:
            session.connection(execution_options={IMMEDIATE: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            session.info.pop(_AFTER_COMMIT, None)
            raise
    callbacks = session.info.pop(_AFTER_COMMIT)
    _run_callbacks(callbacks)


# One per process. Under gevent (monkey-patched) it is a cooperative lock that wakes waiters in turn.
_SQLITE_WRITERS = threading.Lock()


@contextmanager
def _writers_queue(session: Session) -> Iterator[None]:
    """SQLite has one write lock per database: this process's writers take turns here, in order.

    Without it every waiting writer polls SQLite's lock on its own (forum.database._begin_immediate), and
    whoever polls at the right moment wins, so some replies waited half a second while later ones went
    through. Now at most one writer per process polls. PostgreSQL writers don't queue: they lock rows.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITERS:
        yield


def in_write_transaction() -> bool:
    """True inside write_transaction (or a group commit's batch): its commit is still to come."""
    return db.session().info.get(_AFTER_COMMIT) is not None


def after_commit(callback: Callable[[], object]) -> None:
    """Run callback after the current write transaction commits (immediately if none is open)."""
    session = db.session()
    pending = session.info.get(_AFTER_COMMIT)
    if pending is None:
        _run_callbacks([callback])
    else:
        pending.append(callback)


def _run_callbacks(callbacks: list[Callable[[], object]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The write is already durable; a failed emit must not turn it into an error for the writer.
            log.exception("after-commit callback failed")


# --- group commit ---------------------------------------------------------------------------------


class _Job(Generic[T]):
    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.finished = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Many callers' writes committed together: one transaction, one commit (one fsync) per batch.

    A caller hands over `work(session)`; whoever takes the writer's lock commits every job queued by
    then, each in its own savepoint so that one job's failure (a unique-index race) undoes only its
    rows and its after-commit callbacks. A caller returns only once the batch holding its job has
    committed and the after-commit callbacks have run, so nothing is acknowledged before it is
    durable. Under gevent the callers are greenlets waiting on the lock; with threads, threads.
    """

    def __init__(self) -> None:
        self._writer = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Job[Any]] = []

    def run(self, work: Callable[[Session], T]) -> T:
        session = db.session()
        if session.info.get(_AFTER_COMMIT) is not None:
            return work(session)  # inside a running write transaction: its commit is ours
        job: _Job[T] = _Job(work)
        with self._queue_lock:
            self._queue.append(job)
        with self._writer:
            if not job.finished:
                # Let callers that are about to queue (greenlets ready to run) join this batch.
                time.sleep(0)
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                _commit_batch(batch)
        return job.outcome()


def _commit_batch(batch: list[_Job[Any]]) -> None:
    try:
        with write_transaction() as session:
            for job in batch:
                _run_in_savepoint(session, job)
    except BaseException as error:
        for job in batch:
            job.error = job.error or error  # nothing in this batch was committed
    finally:
        for job in batch:
            job.finished = True


def _run_in_savepoint(session: Session, job: _Job[Any]) -> None:
    callbacks: list[Callable[[], object]] = session.info[_AFTER_COMMIT]
    registered = len(callbacks)
    try:
        with session.begin_nested():
            job.result = job.work(session)
    except Exception as error:
        job.error = error
        del callbacks[registered:]  # its rows are gone: nobody may hear about them
