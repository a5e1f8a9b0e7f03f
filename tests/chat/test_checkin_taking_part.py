"""Who holds a place in a running check-in: someone who takes part (saves a place, sends, shares a mood),
never someone who only looks in. A visitor is not counted against its capacity and is not shown its
conversation; the mood rounds and the summary count the same people the places do."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import CheckIn, CheckInParticipant, User
from forum.services import chat, checkins
from forum.services.chat_errors import Muted, RoomFull, RoomNotOpen
from tests.chat.support import schedule_check_in
from tests.conftest import login


def _open_check_in(host: User, capacity: int) -> CheckIn:
    checkin = schedule_check_in(host, capacity=capacity)
    checkins.advance(host, checkin, "open")
    return checkin


def _places_taken(checkin: CheckIn) -> int:
    counted = select(func.count()).select_from(CheckInParticipant).where(CheckInParticipant.checkin_id == checkin.id)
    return db.session.scalar(counted) or 0


def test_looking_in_on_a_running_check_in_takes_no_place(app: Flask, moderator: User, make_user: Any) -> None:
    checkin = _open_check_in(moderator, capacity=2)
    visitors = [make_user(name) for name in ("ash", "birch", "cedar")]

    for visitor in visitors:
        chat.enter_room(visitor, checkin.room)

    assert _places_taken(checkin) == 0
    assert not any(chat.is_participant(checkin, visitor.id) for visitor in visitors)


def test_someone_who_wants_to_take_part_gets_in_however_many_looked_in_first(
    app: Flask, moderator: User, make_user: Any
) -> None:
    checkin = _open_check_in(moderator, capacity=2)
    for name in ("ash", "birch", "cedar"):
        chat.enter_room(make_user(name), checkin.room)
    taking_part = make_user("dune")

    checkins.save_place(taking_part, checkin)

    assert chat.is_participant(checkin, taking_part.id)
    assert checkins.places(taking_part, [checkin])[checkin.id] == checkins.Places(taken=1, mine=True)


def test_a_visitor_is_shown_none_of_the_conversation(app: Flask, moderator: User, make_user: Any) -> None:
    checkin = _open_check_in(moderator, capacity=3)
    talking, looking = make_user("ash"), make_user("birch")
    checkins.save_place(talking, checkin)
    chat.send_message(talking, checkin.room, body="Message number 1 from me", client_id="t1")

    inside, outside = chat.enter_room(talking, checkin.room), chat.enter_room(looking, checkin.room)

    assert not inside.looking_in and [m["client_id"] for m in inside.history] == ["t1"]
    assert outside.looking_in and outside.history == [] and outside.retracted == []
    assert not chat.enter_room(moderator, checkin.room).looking_in  # the host runs it without a place


def test_sending_a_message_takes_a_place(app: Flask, moderator: User, member: User) -> None:
    checkin = _open_check_in(moderator, capacity=2)
    chat.enter_room(member, checkin.room)

    chat.send_message(member, checkin.room, body="Message number 1 from me", client_id="s1")

    assert chat.is_participant(checkin, member.id) and not chat.enter_room(member, checkin.room).looking_in


def test_sharing_a_mood_takes_a_place_and_the_summary_counts_the_same_people(
    app: Flask, moderator: User, make_user: Any
) -> None:
    checkin = _open_check_in(moderator, capacity=3)
    sharing, looking = make_user("ash"), make_user("birch")
    chat.enter_room(looking, checkin.room)
    checkins.advance(moderator, checkin, "mood_round")

    checkins.share_mood(sharing, checkin, mood=4, word="tired", client_id="m1")
    with pytest.raises(RoomNotOpen):  # the host runs the round without a place, and shares in none
        checkins.share_mood(moderator, checkin, mood=5, word="here", client_id="host")
    checkins.advance(moderator, checkin, "open_talk")
    checkins.advance(moderator, checkin, "closing_round")
    checkins.share_mood(sharing, checkin, mood=6, word="lighter", client_id="m2")
    checkins.advance(moderator, checkin, "closed")

    summary = checkins.summary(checkin)
    assert (summary.participants, summary.shared_start, summary.shared_end, summary.shared_both) == (1, 1, 1, 1)
    assert (summary.both_start, summary.both_end) == (4.0, 6.0)
    assert not chat.is_participant(checkin, looking.id)


def test_a_full_check_in_refuses_a_new_message_and_a_refused_message_takes_no_place(
    app: Flask, moderator: User, make_user: Any
) -> None:
    checkin = _open_check_in(moderator, capacity=2)
    for name in ("ash", "birch"):
        checkins.save_place(make_user(name), checkin)
    late, muted = make_user("cedar"), make_user("dune")

    with pytest.raises(RoomFull):
        chat.send_message(late, checkin.room, body="Message number 1 from me", client_id="late")
    with pytest.raises(RoomFull):
        chat.enter_room(late, checkin.room)
    assert _places_taken(checkin) == 2

    roomy = _open_check_in(moderator, capacity=5)
    chat.mute(moderator, roomy.room, muted, minutes=5)
    with pytest.raises(Muted):
        chat.send_message(muted, roomy.room, body="Message number 1 from me", client_id="muted")
    assert not chat.is_participant(roomy, muted.id)


def test_a_running_check_in_offers_someone_without_a_place_to_take_part_until_it_is_full(
    app: Flask, moderator: User, make_user: Any
) -> None:
    checkin = _open_check_in(moderator, capacity=2)
    checkins.save_place(make_user("cedar"), checkin)
    room = f"/chat/{checkin.room.key}"
    first, second = app.test_client(), app.test_client()
    for client, name in ((first, "ash"), (second, "birch")):
        make_user(name)
        login(client, name)
    page = first.get(room).get_data(as_text=True)
    assert ">Take part</button>" in page and "data-mood-form" not in page  # the round is for those taking part

    taken = first.post(f"/chat/check-ins/{checkin.id}/place", data={"from": "list"})

    assert taken.headers["Location"] == room  # taking part in a running check-in is going in
    page = first.get(room).get_data(as_text=True)
    assert "you have a place" in page and "data-mood-form" in page and ">Take part</button>" not in page
    full = second.get("/chat/").get_data(as_text=True)
    assert re.search(r'data-testid="places-full"\s*>All places are taken\.', full)
    assert re.search(r"<div data-place-offer\s+hidden\s*>", full)


# --- a host who leaves Hearth ------------------------------------------------------------------------


def _trusted_host(make_user: Any) -> User:
    from forum.services import accounts

    return accounts.set_trusted(make_user("host_hana"), True)


def _host_leaves(host: User, posts: str) -> None:
    from forum.services import privacy

    privacy.delete_account(host, password="correct horse battery", posts=posts)


def _check_in_news(member: User) -> list[str]:
    from forum.models import Notification

    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == member.id, Notification.kind == "check_in")
    )
    return [row.body_html for row in rows]


@pytest.mark.parametrize("posts", ["keep", "delete"])
def test_a_check_in_whose_host_leaves_before_it_opens_is_called_off_and_everyone_with_a_place_told(
    app: Flask, make_user: Any, posts: str
) -> None:
    host = _trusted_host(make_user)
    ash, birch = make_user("ash"), make_user("birch")
    checkin = schedule_check_in(host, capacity=4)
    checkin_id = checkin.id
    for member in (ash, birch):
        checkins.save_place(member, checkin)

    _host_leaves(host, posts)

    called_off = db.session.get(CheckIn, checkin_id)
    assert called_off is not None and called_off.state == "closed" and called_off.closed_at is not None
    assert called_off.room.closed_at is not None
    for member in (ash, birch):
        [news] = _check_in_news(member)
        assert "won't take place: its host has left Hearth" in news
        # The title is the host's own words: it is said only if they left their words behind.
        assert ("Evening check-in" in news) is (posts == "keep")
    assert (called_off.title == checkins.CALLED_OFF_TITLE) is (posts == "delete")
    with pytest.raises(Exception, match="ended"):
        checkins.save_place(make_user("cedar"), called_off)


def test_a_running_check_in_carries_on_when_its_host_leaves(app: Flask, make_user: Any, moderator: User) -> None:
    host = _trusted_host(make_user)
    ash = make_user("ash")
    checkin = schedule_check_in(host, capacity=4)
    checkins.save_place(ash, checkin)
    checkins.advance(host, checkin, "open")
    checkin_id = checkin.id

    _host_leaves(host, "keep")

    running = db.session.get(CheckIn, checkin_id)
    assert running is not None and running.state == "open" and running.host_id is None
    assert _check_in_news(ash) == ["<p>Evening check-in is starting now.</p>"]
    chat.send_message(ash, running.room, client_id="ash-after", body="Still here, still talking.")
    checkins.advance(moderator, running, "mood_round")  # a moderator can still move it on
    assert db.session.get(CheckIn, checkin_id).state == "mood_round"


def test_unread_counts_cover_only_check_ins_the_person_is_in_or_runs(
    app: Flask, moderator: User, make_user: Any
) -> None:
    checkin = _open_check_in(moderator, capacity=3)
    ash, outsider = make_user("ash"), make_user("outsider")
    checkins.save_place(ash, checkin)
    chat.send_message(ash, checkin.room, client_id="ash-1", body="Hello everyone, glad to be here.")
    chat.send_message(ash, checkin.room, client_id="ash-2", body="It has been a long week.")
    board_room = chat.board_rooms()[0]
    chat.send_message(ash, board_room, client_id="ash-3", body="Good evening, board.")

    rooms = [board_room, checkin.room]
    assert chat.unread_counts(moderator, rooms) == {board_room.id: 1, checkin.room.id: 2}
    # Not in the group: its talk is not theirs to count, and nothing says how busy it is.
    assert chat.unread_counts(outsider, rooms) == {board_room.id: 1}
    checkins.save_place(outsider, checkin)
    assert chat.unread_counts(outsider, rooms) == {board_room.id: 1, checkin.room.id: 2}


def test_a_closed_check_ins_summary_is_for_the_people_who_were_there(
    app: Flask, moderator: User, make_user: Any, client: Any
) -> None:
    """With one mood shared, the average is that person's own mood: someone who was not there never sees it."""
    checkin = _open_check_in(moderator, capacity=3)
    ash, outsider = make_user("ash"), make_user("outsider")
    checkins.advance(moderator, checkin, "mood_round")
    checkins.share_mood(ash, checkin, mood=3, word="heavy", client_id="m1")
    for state in ("open_talk", "closing_round", "closed"):
        checkins.advance(moderator, checkin, state)

    assert checkins.summary_for(ash, checkin) is not None
    assert checkins.summary_for(moderator, checkin) is not None
    assert checkins.summary_for(outsider, checkin) is None
    login(client, "outsider")
    page = client.get(f"/chat/{checkin.room.key}").get_data(as_text=True)
    assert "Average mood" not in page and "took part" not in page
    there = app.test_client()
    login(there, "ash")
    page = there.get(f"/chat/{checkin.room.key}").get_data(as_text=True)
    # Said as the live summary says it (chat.js): "3", not "3.0".
    assert "Average mood at the start: 3 (1 shared)" in page
