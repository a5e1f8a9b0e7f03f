"""The one way a service writes: a transaction that commits once, then runs its after-commit work."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from forum.database import IMMEDIATE, begin_write_in_place, end_read_in_place
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
    # End the read snapshot the request may have opened, so the write sees the latest rows.
    kept = _end_read_keeping_connection(session)
    if kept is None and session.in_transaction():
        session.rollback()
    session.info[_AFTER_COMMIT] = []
    with _writers_queue(session):
        try:
            if kept is not None:
                begin_write_in_place(kept)
            else:
                session.connection(execution_options={IMMEDIATE: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            session.info.pop(_AFTER_COMMIT, None)
            raise
    callbacks = session.info.pop(_AFTER_COMMIT)
    _run_callbacks(callbacks)


def _end_read_keeping_connection(session: Session) -> Connection | None:
    """On SQLite, end a clean read transaction on its own connection and return that connection.

    What a rollback does for the write that follows, without giving the connection back to the pool:
    every loaded row is expired, so the write reads values as they are under the write lock. A session
    holding unsaved changes, or rows flushed outside a write transaction, is left to the rollback, which
    discards them as before.
    """
    if not session.in_transaction() or session.in_nested_transaction():
        return None
    if session.new or session.dirty or session.deleted:
        return None
    if session.get_bind().dialect.name != "sqlite":
        return None
    connection = session.connection()
    if not end_read_in_place(connection):
        return None  # rows were flushed outside a write transaction
    session.expire_all()
    return connection


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
        # Made the leader of the next batch (under GroupCommit's lock).
        self.promoted = False
        # Set when the job's batch has committed (or failed), or when its caller is to lead the next batch.
        self.wake = threading.Event()

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Many callers' writes committed together: one transaction, one commit (one fsync) per batch.

    A caller hands over `work(session)`. If no batch is being written, it leads: it commits every job
    queued by then in one transaction. If a job fails (a unique-index race), the batch is written again
    with a savepoint per job, so that the failure undoes only that job's rows and after-commit callbacks.
    Otherwise the caller waits; when a batch ends, all its callers wake at once and the oldest job still
    queued leads the next batch. A caller returns only once the batch holding its job has committed and
    the after-commit callbacks have run, so nothing is acknowledged before it is durable. Under gevent
    the callers are greenlets; with threads, threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Job[Any]] = []
        self._leading = False

    def run(self, work: Callable[[Session], T]) -> T:
        session = db.session()
        if session.info.get(_AFTER_COMMIT) is not None:
            return work(session)  # inside a running write transaction: its commit is ours
        job: _Job[T] = _Job(work)
        with self._lock:
            self._queue.append(job)
            lead = not self._leading
            self._leading = True
        if not lead:
            _give_back_connection(session)
            try:
                job.wake.wait()
            except BaseException:
                self._abandon(job)
                raise
        if not job.finished:
            self._lead(job)
        return job.outcome()

    def _lead(self, own: _Job[Any]) -> None:
        batch: list[_Job[Any]] = []
        try:
            # Let callers that are about to queue (greenlets ready to run) join this batch.
            time.sleep(0)
            with self._lock:
                batch, self._queue = self._queue, []
            _commit_batch(batch)
        finally:
            self._hand_over(own, batch)

    def _hand_over(self, own: _Job[Any], batch: list[_Job[Any]]) -> None:
        """Wake the batch's callers together (one wake-up each, not one after another through a lock),
        and make the oldest waiting caller the next leader."""
        with self._lock:
            if own in self._queue:
                self._queue.remove(own)  # the leader was interrupted before taking its batch
            successor = self._promote_next()
        for job in batch:
            job.wake.set()
        if successor is not None:
            successor.wake.set()

    def _abandon(self, job: _Job[Any]) -> None:
        """Its caller stopped waiting (a killed greenlet): the job leaves the queue, and a leadership handed
        to it passes on, so the callers behind it don't wait forever."""
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
            successor = self._promote_next() if job.promoted else None
        if successor is not None:
            successor.wake.set()

    def _promote_next(self) -> _Job[Any] | None:
        """Under the lock: the oldest queued job leads next, or nobody leads until a caller comes."""
        successor = self._queue[0] if self._queue else None
        if successor is not None:
            successor.promoted = True
        self._leading = successor is not None
        return successor


def _give_back_connection(session: Session) -> None:
    """End a waiting caller's clean read transaction, which returns its connection to the pool.

    Callers read before they write, so each held a pooled connection while it waited for the batch. They
    could take every connection the pool had while the leader queued for one (it gives its own back
    between its reads and its write on PostgreSQL, and needs a new one to retry a failed batch): nobody
    moved until the pool's timeout, 30 s. A chat client cut mid-burst once took longer than that to
    reconnect. Jobs carry plain values, so the batch needs nothing the caller loaded, and a caller reads
    afresh after its write anyway. A session holding unsaved changes keeps them (and its connection).
    """
    if not session.in_transaction() or session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        return
    session.rollback()


def _commit_batch(batch: list[_Job[Any]]) -> None:
    try:
        try:
            _write_batch(batch, isolated=False)
        except Exception:
            if len(batch) == 1:
                raise
            # One job failed (a unique-index race, a row deleted meanwhile) and the whole transaction rolled
            # back with it. Write the batch again, each job in its own savepoint: only the failing one is refused.
            _write_batch(batch, isolated=True)
    except BaseException as error:
        for job in batch:
            job.error = job.error or error  # nothing in this batch was committed
    finally:
        for job in batch:
            job.finished = True


def _write_batch(batch: list[_Job[Any]], *, isolated: bool) -> None:
    """One transaction for the whole batch. Savepoints only when isolating failures: two uncached
    statements and the session's nested-transaction bookkeeping per job cost more than most jobs."""
    with write_transaction() as session:
        for job in batch:
            if isolated:
                _run_in_savepoint(session, job)
            else:
                job.result = job.work(session)


def _run_in_savepoint(session: Session, job: _Job[Any]) -> None:
    callbacks: list[Callable[[], object]] = session.info[_AFTER_COMMIT]
    registered = len(callbacks)
    try:
        with session.begin_nested():
            job.result = job.work(session)
    except Exception as error:
        job.error = error
        del callbacks[registered:]  # its rows are gone: nobody may hear about them
