"""Client-made idempotency keys: a double submit, or a retry after a lost answer, saves once.

Each table that takes a key has a unique index on (author, key). A service looks the key up first
and returns what the first submit made; when two submits race past that lookup, the index lets one
through and add_once hands the other the winner's row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from forum import limits
from forum.services.transaction import write_transaction
from forum.services.validation import clean_single_line

T = TypeVar("T")


def clean_key(key: object) -> str | None:
    """The key as given, or None (no replay) when absent."""
    if key in (None, ""):
        return None
    return clean_single_line("idempotency_key", key, max_len=limits.IDEMPOTENCY_KEY_MAX)


def add_once(row: object, replay: Callable[[], T | None]) -> T | None:
    """Insert `row` in its own transaction: None when it was written, else the racing winner's replay."""
    try:
        with write_transaction() as session:
            session.add(row)
    except IntegrityError:
        replayed = replay()
        if replayed is None:
            raise  # a different constraint failed: not a race on the key
        return replayed
    return None
