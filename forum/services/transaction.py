"""The one way a service writes: a transaction that commits once, then runs its after-commit work."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from forum.database import IMMEDIATE
from forum.extensions import db

log = logging.getLogger(__name__)

_AFTER_COMMIT = "forum_after_commit"


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
