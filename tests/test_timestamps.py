"""Timestamps come back from every backend as aware UTC datetimes, equal to what was stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from forum.extensions import db
from forum.models import User


def _stored_suspension(user_id: int) -> datetime | None:
    db.session.expire_all()
    return db.session.scalar(select(User.suspended_until).where(User.id == user_id))


@pytest.mark.parametrize(
    "written",
    [
        datetime(2026, 11, 26, 12, 30, 5, 123456, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds
        datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),  # another zone: stored as UTC
    ],
)
def test_a_timestamp_reads_back_as_the_same_instant_in_utc(app: Flask, member: User, written: datetime) -> None:
    db.session.execute(update(User).where(User.id == member.id).values(suspended_until=written))
    db.session.commit()
    read = _stored_suspension(member.id)
    assert read == written
    assert read is not None and read.utcoffset() == timedelta(0) and read.tzinfo is UTC


def test_a_missing_timestamp_reads_back_as_none(app: Flask, member: User) -> None:
    assert _stored_suspension(member.id) is None


def test_timestamp_text_written_by_hand_on_sqlite_is_read_as_utc(app: Flask, member: User) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite keeps timestamps as text")
    for stored, meant in (
        ("2026-11-26 12:30:05", datetime(2026, 11, 26, 12, 30, 5, tzinfo=UTC)),  # SQLite's own CURRENT_TIMESTAMP
        ("2026-11-26 14:30:05+02:00", datetime(2026, 11, 26, 12, 30, 5, tzinfo=UTC)),  # with an offset
    ):
        statement = text("UPDATE users SET suspended_until = :at WHERE id = :id")
        db.session.execute(statement, {"at": stored, "id": member.id})
        db.session.commit()
        read = _stored_suspension(member.id)
        assert read == meant and read is not None and read.tzinfo is UTC, stored


def test_postgresql_sessions_run_in_utc_so_timestamps_need_no_conversion(app: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the session time zone is PostgreSQL's")
    assert db.session.scalar(text("SHOW timezone")) == "UTC"
    # The driver's own value, before UTCDateTime: already datetime.UTC, so _as_utc returns it as it is.
    driver_value = db.session.execute(text("SELECT now()")).scalar_one()
    assert driver_value.tzinfo is UTC
