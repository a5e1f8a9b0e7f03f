"""prebuilt statements (forum/statements.py): the same compiled SQL and rows, with the cache key hashed once."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import bindparam, select

from forum import queries
from forum.extensions import db
from forum.models import Board
from forum.statements import HashedOnce, prebuilt


def _board_by_slug() -> Any:
    return select(Board).where(Board.slug == bindparam("slug"))


def test_a_prebuilt_statement_keeps_a_key_equal_to_the_one_sqlalchemy_computes() -> None:
    statement = prebuilt(_board_by_slug())

    kept = statement._generate_cache_key()
    assert type(kept.key) is HashedOnce, "the memo is in effect: SQLAlchemy asks the statement for this key"
    assert kept.key == _board_by_slug()._generate_cache_key().key
    assert hash(kept.key) == hash(tuple(kept.key))
    assert statement._generate_cache_key() is kept


def test_a_statement_derived_from_a_prebuilt_one_gets_its_own_key() -> None:
    statement = prebuilt(_board_by_slug())

    derived = statement.where(Board.position > 0)

    assert type(derived._generate_cache_key().key) is tuple
    assert derived._generate_cache_key().key != statement._generate_cache_key().key
    assert "boards.position >" in str(derived)


def test_a_prebuilt_statement_finds_the_compiled_sql_of_the_plain_one_and_the_same_rows(app: Flask) -> None:
    connection = db.session.connection()
    cache = connection.engine._compiled_cache
    assert cache is not None
    plain = connection.execute(_board_by_slug(), {"slug": "grief-and-loss"}).all()
    entries = len(cache)

    kept = connection.execute(prebuilt(_board_by_slug()), {"slug": "grief-and-loss"}).all()

    assert kept == plain and len(kept) == 1
    assert len(cache) == entries, "no second compilation: the keys are equal"


def test_the_thread_pages_statements_are_prebuilt() -> None:
    for statement in (queries._THREAD_WITH_BOARD, queries._PAGE_POST_ROWS, queries.UNREAD):
        assert type(statement._generate_cache_key().key) is HashedOnce
