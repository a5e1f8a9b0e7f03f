"""Saving a place in a check-in before it opens: the place is kept within capacity, the person is told
when it starts, and a place can be handed back only before it opens."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.models import CheckIn, User
from forum.services import chat, checkins, notifications
from forum.services.chat_errors import RoomClosed, RoomFull
from forum.services.errors import Conflict
from tests.chat.support import schedule_check_in
from tests.conftest import login


def _text(html: str) -> str:
    """What a page says, without its tags."""
    return re.sub(r"<[^>]+>", "", html)


def _schedule(host: User, capacity: int = 2) -> CheckIn:
    return schedule_check_in(host, capacity=capacity, minutes_ahead=30)


def test_a_saved_place_is_told_when_the_check_in_opens(app: Flask, moderator: User, member: User) -> None:
    checkin = _schedule(moderator)
    checkins.save_place(member, checkin)
    checkins.save_place(member, checkin)  # twice from two tabs: one place
    assert checkins.places(member, [checkin])[checkin.id] == checkins.Places(taken=1, mine=True)

    checkins.advance(moderator, checkin, "open")

    [told] = [n for n in notifications.recent(member) if n.kind == "check_in"]
    assert "Evening check-in is starting now" in told.body_html and told.url == f"/chat/{checkin.room.key}"
    assert not [n for n in notifications.recent(moderator) if n.kind == "check_in"]


def test_places_run_out_at_capacity_and_a_place_given_back_is_free_again(
    app: Flask, moderator: User, make_user: Any
) -> None:
    checkin = _schedule(moderator, capacity=2)
    first, second, third = make_user("ash"), make_user("birch"), make_user("cedar")
    checkins.save_place(first, checkin)
    checkins.save_place(second, checkin)
    with pytest.raises(RoomFull):
        checkins.save_place(third, checkin)
    checkins.save_place(second, checkin)  # from a stale tab, when full: their place stays theirs

    checkins.give_up_place(first, checkin)
    checkins.save_place(third, checkin)
    assert checkins.places(first, [checkin])[checkin.id] == checkins.Places(taken=2, mine=False)
    assert checkins.places(third, [checkin])[checkin.id].mine


def test_a_place_can_be_given_back_only_before_the_start_and_not_saved_after_the_end(
    app: Flask, moderator: User, member: User
) -> None:
    checkin = _schedule(moderator)
    checkins.save_place(member, checkin)
    checkins.advance(moderator, checkin, "open")
    with pytest.raises(Conflict):
        checkins.give_up_place(member, checkin)
    assert chat.is_participant(checkin, member.id)

    checkins.advance(moderator, checkin, "closed")
    with pytest.raises(RoomClosed):
        checkins.save_place(member, checkins.get_checkin(checkin.id))


def test_the_check_in_list_offers_a_place_and_shows_it_is_kept(
    client: FlaskClient, moderator: User, member: User
) -> None:
    checkin = _schedule(moderator, capacity=3)
    login(client, member.username)
    listing = client.get("/chat/").get_data(as_text=True)
    assert "0 of 3 places taken" in _text(listing) and 'data-testid="save-place"' in listing

    saved = client.post(f"/chat/check-ins/{checkin.id}/place", data={"from": "list"})

    assert saved.status_code == 302 and saved.headers["Location"] == f"/chat/#checkin-{checkin.id}"
    listing = client.get("/chat/").get_data(as_text=True)
    assert "1 of 3 places taken" in _text(listing) and "you have a place" in listing
    assert 'data-testid="give-up-place"' in listing
    room = client.get(f"/chat/{checkin.room.key}").get_data(as_text=True)
    assert "you have a place" in room

    given_up = client.post(f"/chat/check-ins/{checkin.id}/place/give-up")
    assert given_up.headers["Location"] == f"/chat/{checkin.room.key}"
    assert "0 of 3 places taken" in _text(client.get("/chat/").get_data(as_text=True))


def test_the_host_gets_no_place_button(client: FlaskClient, moderator: User) -> None:
    _schedule(moderator)
    login(client, moderator.username)
    listing = client.get("/chat/").get_data(as_text=True)
    assert "0 of 2 places taken" in _text(listing) and 'data-testid="save-place"' not in listing
