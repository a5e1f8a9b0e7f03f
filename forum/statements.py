"""Statements the hot paths build once, at import, and run on every request.

SQLAlchemy finds a statement's compiled SQL in a cache keyed by the statement's structure: a nested tuple of
every table, column, join, type and option in it. A statement built once computes that tuple once and keeps
it, but Python hashes a tuple afresh on every dictionary lookup, walking all of it: 639 values for the thread
page's thread query, 970 for its posts, 2,632 for its page reads. Timed around each lookup of a signed-in
thread page, the hashing took 3-4% of the request's time. Counted by callgrind, keeping the hashes takes
1.6% off the page's instructions (bench/results/instructions-forum-2026-11-26-2356.md); a walk over
thousands of objects spread in memory likely costs more time than its instruction count suggests.

prebuilt() gives such a statement an equal key that remembers its hash. The key compares equal to the one
SQLAlchemy computed (a tuple of the same values), so the cache finds the same compiled SQL; only the hashing
is done once. Anything derived from a prebuilt statement (.where(), .options(), a subquery) is a new
statement with a key of its own, computed by SQLAlchemy as usual.
"""

from __future__ import annotations

from typing import Any, TypeVar

Statement = TypeVar("Statement")


class HashedOnce(tuple):  # type: ignore[type-arg]
    """A tuple that hashes its values once, when it is made."""

    _hash: int

    def __new__(cls, values: tuple[Any, ...]) -> HashedOnce:
        made = super().__new__(cls, values)
        made._hash = tuple.__hash__(made)
        return made

    def __hash__(self) -> int:
        return self._hash


def prebuilt(statement: Statement) -> Statement:
    """The statement, with its compilation-cache key hashed once (see the module's docstring)."""
    computed: Any = statement._generate_cache_key()  # type: ignore[attr-defined]
    if computed is None:  # a statement SQLAlchemy does not cache: nothing to keep
        return statement
    kept = computed._replace(key=HashedOnce(computed.key))
    # SQLAlchemy memoizes _generate_cache_key in the instance's __dict__ under the method's name and forgets it
    # on every generative copy (HasMemoized._reset_memoizations), so replacing the memo is all this takes, and
    # a derived statement never sees it. tests/test_statements.py checks both.
    statement.__dict__["_generate_cache_key"] = lambda: kept
    return statement
