"""The chat write path and check-in rules, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forum.extensions import db
from forum.models import (
    ApiToken,
    Block,
    ChatMessage,
    ChatMute,
    ChatRoom,
    CheckIn,
    CheckInMood,
    ReviewItem,
    ScreeningRecord,
    User,
    utcnow,
)
from forum.services import chat, checkins
from forum.services.chat_errors import RoomNotOpen, SlowMode
from forum.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from forum.services.transaction import GroupCommit, after_commit, write_transaction
from tests.chat.support import schedule_check_in

CRISIS_TEXT = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."


def _room(key: str = "board-introductions") -> ChatRoom:
    return chat.get_room(key)


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_every_board_has_an_open_room(app: Flask) -> None:
    from forum.models import Board

    assert {room.board_id for room in chat.board_rooms()} == set(db.session.scalars(select(Board.id)))
    assert chat.ensure_board_rooms() == 0


def test_a_message_is_sanitised_rendered_and_screened_when_it_is_saved(app: Flask, member) -> None:
    outcome = chat.send_message(member, _room(), body="**hello** <script>alert(1)</script>", client_id="k1")

    assert outcome.created
    assert outcome.message.body_html.startswith("<p><strong>hello</strong>")
    assert "<script>" not in outcome.message.body_html
    record = db.session.scalar(select(ScreeningRecord).where(ScreeningRecord.target_type == "chat_message"))
    assert record is not None and record.target_id == outcome.message.id


def test_messages_sent_at_the_same_moment_are_each_stored_once_and_acknowledged_with_their_own_row(
    app: Flask, make_user
) -> None:
    """Concurrent sends share commits; a duplicate client_id in the crowd replays instead of failing anyone."""
    ids = [make_user(f"crowd{n}").id for n in range(6)]
    start = threading.Barrier(len(ids) + 2)  # every sender, the second sender of "same-key", and this thread
    outcomes: dict[int, chat.SendOutcome] = {}
    bodies: dict[int, str] = {}
    errors: list[BaseException] = []

    def send(index: int, user_id: int) -> None:
        with app.app_context():
            author = db.session.get(User, user_id)
            room = _room()
            start.wait()
            try:
                outcomes[index] = chat.send_message(author, room, body=f"hello {index}", client_id="same-key")
                # The row as this sender's session sees it, though another sender's batch may have written it.
                bodies[index] = outcomes[index].message.body_html
            except BaseException as error:
                errors.append(error)

    senders = [threading.Thread(target=send, args=(i, uid)) for i, uid in enumerate(ids)]
    senders.append(threading.Thread(target=send, args=(len(ids), ids[0])))
    for thread in senders:
        thread.start()
    start.wait()
    for thread in senders:
        thread.join(30)

    assert errors == []
    db.session.rollback()  # a fresh snapshot: the rows were written by the senders' sessions
    stored = {row.id: row for row in db.session.scalars(select(ChatMessage))}
    assert len(stored) == len(ids)  # the resend of the same client_id stored nothing new
    for outcome in outcomes.values():
        row = stored[outcome.payload["id"]]
        assert outcome.payload["body_html"] == row.body_html
        assert outcome.payload["author_id"] == row.author_id
    assert all(bodies[index] == outcome.payload["body_html"] for index, outcome in outcomes.items())
    twins = [o for i, o in outcomes.items() if i in (0, len(ids))]
    assert twins[0].payload["id"] == twins[1].payload["id"]
    assert sorted(o.created for o in twins) == [False, True]
    assert _count(ScreeningRecord) == len(ids)


def test_invalid_messages_write_nothing(app: Flask, member) -> None:
    for body, client_id in [("", "k1"), ("x" * 4001, "k2"), ("bell\x07", "k3"), ("fine", ""), ("fine", None)]:
        with pytest.raises(ValidationFailed):
            chat.send_message(member, _room(), body=body, client_id=client_id)
    assert _count(ChatMessage) == 0


def test_a_crisis_message_is_queued_for_review_with_the_five_messages_before_it(app: Flask, member, make_user) -> None:
    other = make_user("river")
    for n in range(7):
        chat.send_message(other if n % 2 else member, _room(), body=f"Message number {n} from me", client_id=f"c{n}")

    outcome = chat.send_message(member, _room(), body=CRISIS_TEXT, client_id="crisis")

    assert outcome.screen.level == "crisis"
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_type == "chat_message"))
    assert item is not None and item.target_id == outcome.message.id and item.priority == "urgent"
    support = chat.support_for(outcome.screen)
    assert support is not None and support["resources"]


def test_history_after_an_id_returns_everything_after_it_and_never_blocked_authors(
    app: Flask, member, make_user
) -> None:
    other, third = make_user("river"), make_user("stone")
    ids = [
        chat.send_message(member, _room(), body=f"Message number {n} from me", client_id=f"m{n}").message.id
        for n in range(3)
    ]
    theirs = chat.send_message(other, _room(), body="Message number 9 from me", client_id="o1").message.id
    with write_transaction() as session:
        session.add(Block(blocker_id=third.id, blocked_id=other.id, kind="block"))

    seen_by_third, _ = chat.history_payloads(third, _room(), after_id=ids[0])
    seen_by_other, _ = chat.history_payloads(other, _room(), after_id=None)

    assert [m["id"] for m in seen_by_third] == ids[1:]
    assert [m["id"] for m in seen_by_other] == [*ids, theirs]


def test_the_last_fifty_are_shown_without_after(app: Flask, member) -> None:
    app.config["CHAT_HISTORY"] = 5
    ids = [
        chat.send_message(member, _room(), body=f"Message number {n} from me", client_id=f"h{n}").message.id
        for n in range(7)
    ]

    history, has_more = chat.history_payloads(member, _room(), after_id=None)

    assert [m["id"] for m in history] == ids[2:] and has_more


def test_history_is_each_message_as_it_is_sent_live_without_what_the_viewer_must_not_see(
    app: Flask, member, make_user
) -> None:
    """A join's history is read as rows, not objects: each entry must still be exactly what message_payload
    makes of the message (the live event's payload), for edited messages and erased authors too."""
    app.config["CHAT_HISTORY"] = 4
    other, blocked, gone = make_user("river"), make_user("stone"), make_user("leaf")
    sent = [
        chat.send_message(author, _room(), body=f"Message number {n} from me", client_id=f"p{n}").message.id
        for n, author in enumerate([member, other, blocked, gone, member, other, member])
    ]
    edited = chat.send_message(member, _room(), body="Message to edit", client_id="p-edit").message
    chat.edit_message(member, edited, body="Message edited")
    with write_transaction() as session:
        session.add(Block(blocker_id=other.id, blocked_id=blocked.id, kind="block"))
        session.execute(update(ChatMessage).where(ChatMessage.author_id == gone.id).values(author_id=None))
    visible = [i for i in [*sent, edited.id] if i != sent[2]]  # all but the blocked person's

    for after, expected, more in ((None, visible[-4:], True), (0, visible, False), (sent[4], visible[4:], False)):
        payloads, has_more = chat.history_payloads(other, _room(), after_id=after)

        assert [p["id"] for p in payloads] == expected and has_more is more
        db.session.expire_all()
        assert payloads == [chat.message_payload(db.session.get(ChatMessage, i)) for i in expected]
    everything = chat.history_payloads(other, _room(), after_id=0)[0]
    assert [p["author"] for p in everything if p["id"] == sent[3]] == ["a former member"]
    assert [p["edited_at"] is not None for p in everything if p["id"] == edited.id] == [True]


def test_unread_counts_are_messages_by_others_after_the_read_mark(app: Flask, member, make_user) -> None:
    other = make_user("river")
    first = chat.send_message(other, _room(), body="Message number 1 from me", client_id="u1").message
    chat.send_message(other, _room(), body="Message number 2 from me", client_id="u2")
    chat.send_message(member, _room(), body="Message number 3 from me", client_id="u3")
    room = _room()

    assert chat.unread_counts(member, [room]) == {room.id: 2}
    chat.mark_read(member, room, first.id)
    assert chat.unread_counts(member, [room]) == {room.id: 1}
    chat.mark_read(member, room, 0)  # never backwards
    assert chat.unread_counts(member, [room]) == {room.id: 1}


def test_authors_edit_and_delete_only_their_own_messages(app: Flask, member, make_user) -> None:
    other = make_user("river")
    message = chat.send_message(member, _room(), body="Message number 1 from me", client_id="e1").message

    with pytest.raises(Forbidden):
        chat.edit_message(other, message, body="not mine")
    with pytest.raises(Forbidden):
        chat.delete_message(other, message)
    edited = chat.edit_message(member, message, body="Message number *2* from me").message
    assert edited.body_html == "<p>Message number <em>2</em> from me</p>\n" and edited.edited_at is not None
    chat.delete_message(member, message)
    assert message.deleted_at is not None and message.body_md == ""


def test_slow_mode_allows_one_message_per_period(app: Flask, member, moderator) -> None:
    chat.set_slow_mode(moderator, _room(), 30)
    chat.send_message(member, _room(), body="Message number 1 from me", client_id="s1")

    with pytest.raises(SlowMode) as refused:
        chat.send_message(member, _room(), body="Message number 2 from me", client_id="s2")
    assert 1 <= refused.value.extra["retry_after"] <= 30
    chat.send_message(moderator, _room(), body="Message number 3 from me", client_id="s3")
    chat.send_message(moderator, _room(), body="Message number 4 from me", client_id="s4")


def test_slow_mode_never_holds_back_crisis_words(app: Flask, member, moderator) -> None:
    chat.set_slow_mode(moderator, _room(), 30)
    chat.send_message(member, _room(), body="Message number 1 from me", client_id="s1")
    outcome = chat.send_message(member, _room(), body=CRISIS_TEXT, client_id="s2")
    assert outcome.created and outcome.message.risk_level == "crisis"


def test_a_paused_writer_whose_words_need_help_gets_the_support_panel_with_the_refusal(
    app: Flask, member, moderator
) -> None:
    from forum.services.chat_errors import Muted

    chat.mute(moderator, _room(), member, minutes=10)
    with pytest.raises(Muted) as refused:
        chat.send_message(member, _room(), body=CRISIS_TEXT, client_id="m1")
    support = refused.value.extra["support"]
    assert support["level"] == "crisis" and support["resources"]
    with pytest.raises(Muted) as calm:
        chat.send_message(member, _room(), body="Message number 2 from me", client_id="m2")
    assert "support" not in calm.value.extra


def test_a_silenced_writer_whose_words_need_help_gets_the_support_panel_with_the_refusal(app: Flask, member) -> None:
    with write_transaction():
        member.silenced_until = utcnow() + timedelta(hours=1)
    with pytest.raises(Forbidden) as refused:
        chat.send_message(member, _room(), body=CRISIS_TEXT, client_id="s1")
    assert refused.value.extra["support"]["level"] == "crisis"


def test_only_moderators_and_trusted_members_host_check_ins(app: Flask, member, moderator) -> None:
    with pytest.raises(Forbidden):
        schedule_check_in(member)
    with write_transaction():
        member.trusted = True
    assert schedule_check_in(member).room.key.startswith("checkin-")
    assert schedule_check_in(moderator).host_id == moderator.id


def test_a_check_in_moves_only_forward_through_its_states(app: Flask, moderator, member) -> None:
    checkin = schedule_check_in(moderator)
    with pytest.raises(Forbidden):
        checkins.advance(member, checkin, "open")
    with pytest.raises(Conflict):
        checkins.advance(moderator, checkin, "open_talk")
    for state in ("open", "mood_round", "open_talk", "closing_round", "closed"):
        checkins.advance(moderator, checkin, state)
        assert checkin.state == state
    assert checkin.room.closed_at is not None
    with pytest.raises(Conflict):
        checkins.advance(moderator, checkin, "closed")


def test_the_summary_averages_moods_at_the_start_and_the_end(app: Flask, moderator, make_user) -> None:
    checkin = schedule_check_in(moderator)
    people = [make_user(name) for name in ("fern", "gorse", "heath")]
    checkins.advance(moderator, checkin, "open")
    for person in people:
        chat.enter_room(person, checkin.room)
    with pytest.raises(RoomNotOpen):
        checkins.share_mood(people[0], checkin, mood=3, word="early", client_id="x")
    checkins.advance(moderator, checkin, "mood_round")
    for person, mood in zip(people, (2, 4, 6)):
        checkins.share_mood(person, checkin, mood=mood, word="tired", client_id=f"s{mood}")
    with pytest.raises(ValidationFailed):
        checkins.share_mood(people[0], checkin, mood=11, word="high", client_id="bad")
    with pytest.raises(ValidationFailed):
        checkins.share_mood(people[0], checkin, mood=5, word="two words", client_id="bad2")
    checkins.advance(moderator, checkin, "open_talk")
    checkins.advance(moderator, checkin, "closing_round")
    for person, mood in zip(people[:2], (5, 7)):
        checkins.share_mood(person, checkin, mood=mood, word="better", client_id=f"e{mood}")
    checkins.advance(moderator, checkin, "closed")

    summary = checkins.summary(checkin)

    assert (summary.participants, summary.average_start, summary.average_end) == (3, 4.0, 6.0)
    assert (summary.shared_start, summary.shared_end) == (3, 2)
    # 4.0 -> 6.0 compares different groups; the two who shared both times went from 3.0 to 6.0.
    assert (summary.shared_both, summary.both_start, summary.both_end) == (2, 3.0, 6.0)
    assert [share["phase"] for share in checkins.mood_round(checkin)] == ["start"] * 3 + ["end"] * 2


def test_a_mood_word_is_screened_as_how_the_person_feels_and_a_very_low_mood_is_reviewed(
    app: Flask, moderator, make_user
) -> None:
    checkin = schedule_check_in(moderator)
    people = [make_user(name) for name in ("fern", "gorse", "heath")]
    checkins.advance(moderator, checkin, "open")
    for person in people:
        chat.enter_room(person, checkin.room)
    checkins.advance(moderator, checkin, "mood_round")

    shares = [(1, "suicidal"), (2, "tired"), (8, "tired")]
    levels = [
        checkins.share_mood(person, checkin, mood=mood, word=word, client_id=f"m{mood}").message.risk_level
        for person, (mood, word) in zip(people, shares)
    ]

    assert levels == ["crisis", "concern", "none"]


def test_a_good_mood_word_brings_no_alarm(app: Flask, moderator, make_user) -> None:
    """ "8 better" and "9 ready" were once crisis: the model read "feeling better" and "feeling ready" so."""
    checkin = schedule_check_in(moderator)
    shares = [(8, "better"), (9, "ready"), (3, "lighter"), (7, "hopeful")]
    people = [make_user(f"person{n}") for n in range(len(shares))]
    checkins.advance(moderator, checkin, "open")
    for person in people:
        chat.enter_room(person, checkin.room)
    checkins.advance(moderator, checkin, "mood_round")
    levels = [
        checkins.share_mood(person, checkin, mood=mood, word=word, client_id=f"g{mood}").message.risk_level
        for person, (mood, word) in zip(people, shares)
    ]
    assert levels == ["none"] * len(shares)


def test_transcripts_of_check_ins_are_deleted_after_the_retention_period(app: Flask, moderator, member) -> None:
    old, recent = schedule_check_in(moderator), schedule_check_in(moderator)
    for checkin, client_id in ((old, "o"), (recent, "r")):
        checkins.advance(moderator, checkin, "open")
        checkins.advance(moderator, checkin, "mood_round")
        chat.enter_room(member, checkin.room)
        checkins.share_mood(member, checkin, mood=4, word="tired", client_id=f"{client_id}-mood")
        chat.send_message(member, checkin.room, body="Message number 1 from me", client_id=f"{client_id}-1")
        checkins.advance(moderator, checkin, "closed")
    with write_transaction():
        old.closed_at = utcnow() - timedelta(days=31)

    assert checkins.purge_transcripts() == 1

    assert _messages_in(old.room_id) == 0 and _messages_in(recent.room_id) == 2
    assert old.transcript_purged_at is not None
    assert checkins.summary(old).average_start == 4.0  # the numbers stay
    assert db.session.scalar(select(CheckInMood.word).where(CheckInMood.checkin_id == old.id)) is None
    assert checkins.purge_transcripts() == 0


def _messages_in(room_id: int) -> int:
    """Messages that still have words (a purge keeps each row, empty, so its id is never given again)."""
    said = (ChatMessage.room_id == room_id) & (ChatMessage.body_md != "")
    return db.session.scalar(select(func.count()).select_from(ChatMessage).where(said)) or 0


def test_a_purged_transcript_leaves_no_quoted_phrase_and_no_id_for_the_next_message(
    app: Flask, moderator, member
) -> None:
    """A crisis item about a purged message must never show the words of the next message written (SQLite
    reuses a deleted row's id), and its screening must not quote the words that are gone."""
    checkin = schedule_check_in(moderator)
    checkins.advance(moderator, checkin, "open")
    chat.enter_room(member, checkin.room)
    sent = chat.send_message(
        member, checkin.room, body="I'm going to kill myself tonight, I have the pills", client_id="p1"
    )
    purged_id = sent.payload["id"]
    checkins.advance(moderator, checkin, "closed")
    with write_transaction():
        checkin.closed_at = utcnow() - timedelta(days=31)
    assert checkins.purge_transcripts() == 1
    record = db.session.scalar(select(ScreeningRecord).where(ScreeningRecord.target_id == purged_id))
    assert record is not None and record.level == "crisis"
    assert not any("phrase" in signal for signal in record.signals)
    chat.ensure_board_rooms()
    later = chat.send_message(member, chat.get_room("board-introductions"), body="Hello all", client_id="p2")
    assert later.payload["id"] > purged_id


def test_the_purge_command_uses_the_configured_retention(app: Flask, moderator) -> None:
    checkin = schedule_check_in(moderator)
    checkins.advance(moderator, checkin, "closed")
    with write_transaction():
        checkin.closed_at = utcnow() - timedelta(days=8)

    kept = app.test_cli_runner().invoke(args=["chat", "purge"])
    purged = app.test_cli_runner().invoke(args=["chat", "purge", "--days", "7"])

    assert "deleted: 0" in kept.output and "deleted: 1" in purged.output


def test_chat_pages_show_rooms_and_unread_counts(app: Flask, member_client, make_user) -> None:
    other = make_user("river")
    chat.send_message(other, _room(), body="Message number 1 from me", client_id="p1")

    index = member_client.get("/chat/")
    room = member_client.get("/chat/board-introductions")

    assert index.status_code == 200 and b"1 unread" in index.data
    assert room.status_code == 200 and b'data-chat-room="board-introductions"' in room.data
    assert b"socket.io.min.js" in room.data
    assert member_client.get("/chat/no-such-room").status_code == 404
    assert member_client.get("/chat/check-ins/new").status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("capacity", "0", "between"),
        ("starts_at", "2030-02-30T19:00", "Not a valid datetime"),
        ("starts_at", "9999-01-01T19:00", "within the next 90 days"),
    ],
)
def test_scheduling_a_check_in_says_what_is_wrong_with_a_value(
    app: Flask, client, moderator, field: str, value: str, says: str
) -> None:
    from tests.conftest import login

    login(client, moderator.username)
    starts = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"title": "Evening check-in", "area": "grief", "starts_at": starts, "length_minutes": "60", "capacity": "6"}
    response = client.post("/chat/check-ins/new", data={**form, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and says in html and "This field is required" not in html
    assert _count(CheckIn) == 0


# --- the send path's shortcuts keep every rule ------------------------------------------------------


def test_the_acknowledged_payload_is_what_the_stored_row_says(app: Flask, member) -> None:
    outcome = chat.send_message(member, _room(), body="Message *number* 1 from me", client_id="p1")

    db.session.expire_all()
    stored = db.session.scalar(select(ChatMessage).where(ChatMessage.client_id == "p1"))
    assert stored is not None and outcome.payload == chat.message_payload(stored)
    assert outcome.message is stored and outcome.message.body_md == "Message *number* 1 from me"
    record = db.session.scalar(select(ScreeningRecord).where(ScreeningRecord.target_id == outcome.payload["id"]))
    assert record is not None
    assert (record.target_type, record.level, record.model_version) == (
        "chat_message",
        outcome.screen.level,
        outcome.screen.model_version,
    )
    assert (record.guides, record.signals, record.score) == (
        outcome.screen.guides,
        outcome.screen.signals,
        pytest.approx(outcome.screen.score),
    )


def test_muted_people_cannot_send_but_a_resend_of_an_earlier_message_still_answers(
    app: Flask, member, moderator
) -> None:
    from forum.services.chat_errors import Muted

    sent = chat.send_message(member, _room(), body="Message number 1 from me", client_id="before-mute")
    chat.mute(moderator, _room(), member, minutes=10)

    with pytest.raises(Muted):
        chat.send_message(member, _room(), body="Message number 2 from me", client_id="during-mute")
    again = chat.send_message(member, _room(), body="Message number 1 from me", client_id="before-mute")
    assert again.payload["id"] == sent.payload["id"] and not again.created
    with write_transaction():
        for row in db.session.scalars(select(ChatMute)):
            row.until = utcnow() - timedelta(seconds=1)
    assert chat.send_message(member, _room(), body="Message number 3 from me", client_id="after-mute").created


def test_a_failing_write_in_a_shared_commit_fails_alone(app: Flask, member) -> None:
    """One job's error (here a duplicate client_id) rolls the batch back; the others are written again and kept."""
    writes = GroupCommit()
    room_id, author_id = _room().id, member.id
    leader_writing, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}
    told: list[str] = []

    def insert(client_id: str) -> Callable[[Session], int]:
        def work(session: Session) -> int:
            row = ChatMessage(room_id=room_id, author_id=author_id, client_id=client_id, body_md="x", body_html="x")
            session.add(row)
            session.flush()
            after_commit(lambda: told.append(client_id))
            return int(row.id)

        return work

    def hold(session: Session) -> int:
        leader_writing.set()
        release.wait(10)
        return insert("first")(session)

    def run(name: str, work: Callable[[Session], int]) -> None:
        with app.app_context():
            try:
                results[name] = writes.run(work)
            except Exception as error:
                results[name] = error

    threads = [threading.Thread(target=run, args=("first", hold))]
    threads[0].start()
    assert leader_writing.wait(10)
    for name, client_id in (("b", "b"), ("dup", "first"), ("d", "d")):
        threads.append(threading.Thread(target=run, args=(name, insert(client_id))))
        threads[-1].start()
    deadline = time.monotonic() + 10
    while len(writes._queue) < 3 and time.monotonic() < deadline:  # all three wait for the next batch
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(30)

    assert isinstance(results["dup"], IntegrityError)
    assert all(isinstance(results[name], int) for name in ("first", "b", "d"))
    assert sorted(told) == ["b", "d", "first"]  # the failed job's after-commit work never ran
    db.session.rollback()
    stored = set(db.session.scalars(select(ChatMessage.client_id)))
    assert stored == {"first", "b", "d"}


def _socket(app: Flask, token: str) -> Any:
    from forum.extensions import socketio

    sock = socketio.test_client(app, namespace="/chat", auth={"token": token})
    assert sock.is_connected("/chat")
    return sock


def _send(sock: Any, client_id: str) -> dict[str, Any]:
    data = {"room": "board-introductions", "body": "Message number 1 from me", "client_id": client_id}
    ack: dict[str, Any] = sock.emit("send", data, namespace="/chat", callback=True)
    return ack


@pytest.mark.parametrize("change", ["suspended", "signed_out", "token_revoked", "deleted"])
def test_a_socket_cannot_send_once_its_persons_session_ended_even_if_it_missed_the_disconnect(
    app: Flask, make_user, change: str
) -> None:
    """Each event re-reads the person and the token: a socket in a process that missed the disconnect
    message (or raced it) is refused on its next event, and nothing is stored."""
    from forum.services import accounts

    person = make_user("leaving")
    token = accounts.issue_token(person)
    sock = _socket(app, token)
    assert _send(sock, "before")["ok"]

    with write_transaction():  # the change alone, as another process would see it: no disconnect here
        if change == "suspended":
            person.suspended_until = utcnow() + timedelta(hours=1)
        elif change == "signed_out":
            person.session_version += 1
        elif change == "deleted":
            person.deleted_at = utcnow()
        elif change == "token_revoked":
            revoked = update(ApiToken).where(ApiToken.token_hash == accounts.token_hash(token))
            db.session.execute(revoked.values(revoked_at=utcnow()))

    ack = _send(sock, "after")
    assert ack["ok"] is False and ack["error"]["code"] == "not_authenticated"
    assert set(db.session.scalars(select(ChatMessage.client_id))) == {"before"}


def test_revoking_a_token_closes_the_sockets_opened_with_it_and_no_other(app: Flask, make_user) -> None:
    from forum.services import accounts

    person = make_user("leaving")
    token, other = accounts.issue_token(person), accounts.issue_token(person)
    revoked, kept = _socket(app, token), _socket(app, other)

    assert accounts.revoke_token(token)

    assert not revoked.is_connected("/chat"), "a socket that only listens would go on hearing the room"
    assert kept.is_connected("/chat")


def test_a_change_of_role_closes_the_persons_sockets_and_a_former_moderator_hears_no_more_alerts(
    app: Flask, make_user
) -> None:
    from forum.extensions import socketio
    from forum.services import accounts

    former = make_user("mod_leaving", role="moderator")
    token = accounts.issue_token(former)
    alerts = socketio.test_client(app, namespace="/moderation", auth={"token": token})
    assert alerts.is_connected("/moderation")

    accounts.set_role(former, "member")

    assert not alerts.is_connected("/moderation"), "the socket let in as a moderator is closed"
    again = socketio.test_client(app, namespace="/moderation", auth={"token": token})
    assert not again.is_connected("/moderation"), "and a member's socket is not let back in"


def test_a_socket_of_someone_silenced_since_it_connected_cannot_send(app: Flask, make_user) -> None:
    from forum.services import accounts

    person = make_user("hushed")
    sock = _socket(app, accounts.issue_token(person))
    with write_transaction():
        person.silenced_until = utcnow() + timedelta(hours=1)

    ack = _send(sock, "silenced")

    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    assert _count(ChatMessage) == 0


def test_sending_by_room_key_keeps_every_rule_of_sending_to_a_room(app: Flask, member, moderator) -> None:
    """The socket path reads the room and the sender's state in one statement: the same rules must hold."""
    from forum.services.chat_errors import Muted, RoomClosed

    def send(client_id: str, room_key: object = "board-introductions") -> chat.SendOutcome:
        return chat.send_to_room(member, room_key, body="Message number 1 from me", client_id=client_id)

    for missing in ("no-such-room", "board-no-such-board", "", None, 7, "x" * 81):
        with pytest.raises(NotFound):
            send("k0", missing)
    first = send("k1")
    assert first.created and first.payload["room"] == "board-introductions"
    assert send("k1").payload["id"] == first.payload["id"]  # a resend answers with the first message

    chat.set_slow_mode(moderator, _room(), 30)
    with pytest.raises(SlowMode):
        send("k2")
    chat.set_slow_mode(moderator, _room(), 0)
    chat.mute(moderator, _room(), member, minutes=5)
    with pytest.raises(Muted):
        send("k3")
    with write_transaction():
        for row in db.session.scalars(select(ChatMute)):
            row.until = utcnow() - timedelta(seconds=1)
    chat.close_room(moderator, _room())
    with pytest.raises(RoomClosed):
        send("k4")
    assert send("k1").payload["id"] == first.payload["id"]  # even now the room is closed

    checkin = schedule_check_in(moderator)
    with pytest.raises(RoomNotOpen):
        send("k5", checkin.room.key)
    assert set(db.session.scalars(select(ChatMessage.client_id))) == {"k1"}


def test_a_board_added_since_the_start_gets_its_room_on_the_first_message(app: Flask, member) -> None:
    from forum.models import Board

    with write_transaction() as session:
        session.add(Board(slug="late-board", title="A late board"))

    outcome = chat.send_to_room(member, "board-late-board", body="Message number 1 from me", client_id="late")

    assert outcome.created and outcome.payload["room"] == "board-late-board"


def test_a_rejoin_finds_retractions_through_their_own_index_however_long_the_history(app: Flask, member: User) -> None:
    """A rejoin asks which of the messages it shows were retracted; that must not walk the room's history,
    or every rejoin costs more as the room grows (a thousand people reconnecting pay it a thousand times)."""
    room = _room()
    rows = [
        {"room_id": room.id, "author_id": member.id, "client_id": f"h{n}", "body_md": "hi", "body_html": "<p>hi</p>"}
        for n in range(300)
    ]
    db.session.execute(ChatMessage.__table__.insert(), rows)
    db.session.commit()
    ids = list(
        db.session.scalars(select(ChatMessage.id).where(ChatMessage.room_id == room.id).order_by(ChatMessage.id))
    )
    chat.delete_message(member, db.session.get(ChatMessage, ids[10]))
    chat.delete_message(member, db.session.get(ChatMessage, ids[200]))

    assert chat.retracted_up_to(room, ids[150]) == [{"id": ids[10], "by": "author"}]
    assert chat.retracted_up_to(room, ids[-1]) == [{"id": ids[200], "by": "author"}, {"id": ids[10], "by": "author"}]
    if db.engine.dialect.name == "sqlite":  # PostgreSQL's choice depends on table statistics
        compiled = chat._RETRACTED_UP_TO.compile(db.engine)
        plan = db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}",
            tuple(compiled.construct_params({"room_id": room.id, "after_id": ids[-1]}).values()),
        )
        assert "ix_chat_messages_room_retracted" in " ".join(str(row[-1]) for row in plan)


def test_payloads_carry_the_markdown_source_except_for_a_removed_message_which_carries_no_words(
    app: Flask, member, moderator
) -> None:
    first, second = "Some **bold** and [a link](https://example.org/help)", "Now *only* [this](https://example.org/x)"
    sent = chat.send_message(member, _room(), body=first, client_id="md")
    edited = chat.edit_message(member, sent.message, body=second)
    history, _ = chat.history_payloads(member, _room(), after_id=None)

    assert sent.payload["body_md"] == first
    assert edited.payload["body_md"] == history[-1]["body_md"] == second
    chat.remove_message(moderator, sent.message, reason="testing")
    replay = chat.send_message(member, _room(), body="Message number 1 from me", client_id="md")
    assert not replay.created and (replay.payload["body_md"], replay.payload["body_html"]) == ("", "")
