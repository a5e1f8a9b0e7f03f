"""A check-in's start: read on the host's own clock when the page says its offset, stored in UTC, and shown
in UTC (and said so) to a page without script, which chat.js then shows in the reader's own time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.models import User, utcnow
from forum.services import checkins
from tests.conftest import login


def _form(day: str, **extra: str) -> dict[str, str]:
    return {"title": "Evening check-in", "area": "grief", "starts_at": f"{day}T18:30", "length_minutes": "60",
            "capacity": "6", **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("utc_offset", "stored_at"),
    [("330", (13, 0)), ("-300", (23, 30)), ("", (18, 30))],  # India, New York in winter, and no script: UTC
)
def test_the_start_is_read_on_the_hosts_clock_and_stored_in_utc(
    app: Flask, client: FlaskClient, moderator: User, utc_offset: str, stored_at: tuple[int, int]
) -> None:
    login(client, moderator.username)
    day = (utcnow() + timedelta(days=3)).date()

    response = client.post("/chat/check-ins/new", data=_form(day.isoformat(), utc_offset=utc_offset))

    assert response.status_code == 302
    [checkin] = checkins.upcoming()
    assert checkin.starts_at == datetime(day.year, day.month, day.day, *stored_at, tzinfo=UTC)


def test_an_offset_no_clock_keeps_is_refused_and_nothing_is_scheduled(
    app: Flask, client: FlaskClient, moderator: User
) -> None:
    login(client, moderator.username)
    day = (utcnow() + timedelta(days=3)).date().isoformat()

    response = client.post("/chat/check-ins/new", data=_form(day, utc_offset="2000"))

    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    assert checkins.upcoming() == []


def test_without_script_the_form_and_the_times_say_utc(app: Flask, client: FlaskClient, moderator: User) -> None:
    login(client, moderator.username)
    assert "Enter the time in UTC." in client.get("/chat/check-ins/new").get_data(as_text=True)
    start = (utcnow() + timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    checkin = checkins.schedule(
        moderator, title="Evening check-in", area="grief", starts_at=start, length_minutes=60, capacity=3
    )

    for path in ("/chat/", f"/chat/{checkin.room.key}"):
        html = client.get(path).get_data(as_text=True)
        shown = f'<time datetime="{start.isoformat()}" data-local-time data-testid="starts-at">'
        assert shown + start.strftime("%d %b %Y, 12:00 UTC</time>") in html
        assert "js/chat.js" in html  # which says it in the reader's own time
