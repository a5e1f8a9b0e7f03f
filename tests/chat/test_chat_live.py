"""Chat against a real server process with the real python-socketio client."""

from __future__ import annotations

import base64
import json
import os
import socket as tcp
import threading
import time

import pytest
import socketio
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import ChatMessage, ReviewItem, User
from forum.services import accounts
from tests.chat.support import (
    CRISIS_TEXT,
    ROOM,
    ChatClient,
    block,
    browser_session,
    calm,
    cookie_header,
    csrf_from,
    make_member,
)
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def clients():
    made: list[ChatClient] = []

    def make(server: LiveServer, token: str | None = None, **kwargs) -> ChatClient:
        client = ChatClient(server, token=token, **kwargs)
        made.append(client)
        return client

    yield make
    # A clean websocket close can wait up to 3 s for the server's close frame: close them side by side.
    closers = [threading.Thread(target=client.close) for client in made]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(timeout=10)


def test_a_message_reaches_everyone_in_the_room_once(live_server: LiveServer, clients) -> None:
    people = [make_member(live_server, name) for name in ("ash", "birch", "cedar")]
    sockets = [clients(live_server, token).connect() for _id, token in people]
    for socket in sockets:
        socket.join()

    ack = sockets[0].send(calm(1), "c-1")

    assert ack["ok"] and ack["message"]["author"] == "ash"
    assert ack["message"]["body_html"] == "<p>Message number 1 from me</p>\n"
    for socket in sockets:
        received = socket.wait_for("message", lambda got: len(got) >= 1)
        assert [m["id"] for m in received] == [ack["message"]["id"]]
    later = clients(live_server, people[2][1]).connect().join()
    assert [m["id"] for m in later["history"]] == [ack["message"]["id"]]
    assert {p["username"] for p in later["present"]} >= {"ash", "birch", "cedar"}


def test_a_client_cut_mid_stream_gets_everything_it_missed_once_after_reconnecting(
    live_server: LiveServer, clients
) -> None:
    (_, sender_token), (_, reader_token) = make_member(live_server, "sender"), make_member(live_server, "reader")
    sender = clients(live_server, sender_token).connect()
    sender.join()
    reader = clients(live_server, reader_token).connect()
    reader.join()
    sent: list[int] = []

    def stream() -> None:
        for n in range(30):
            sent.append(sender.send(calm(n), f"s-{n}")["message"]["id"])
            time.sleep(0.01)

    writer = threading.Thread(target=stream)
    writer.start()
    reader.wait_for("message", lambda got: len(got) >= 5)
    reader.sio.eio.disconnect(abort=True)  # the connection drops: no goodbye, no flush
    seen_before_cut = reader.ids()
    writer.join(timeout=60)

    again = clients(live_server, reader_token).connect()
    history = again.join(after=max(seen_before_cut))["history"]

    received = seen_before_cut + [m["id"] for m in history]
    assert len(sent) == 30
    assert received == sent  # everything, in order, nothing twice


def test_a_resend_with_the_same_client_id_returns_the_same_message(live_server: LiveServer, clients) -> None:
    _id, token = make_member(live_server, "resender")
    socket = clients(live_server, token).connect()
    socket.join()

    first = socket.send(calm(1), "same-id")
    second = socket.send(calm(1), "same-id")

    assert first["ok"] and second["ok"]
    assert second["message"]["id"] == first["message"]["id"]
    assert second["created"] is False
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == 1


def test_anonymous_and_bad_token_sockets_are_refused(live_server: LiveServer, clients) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(live_server).connect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(live_server, "not-a-real-token").connect()


def test_blocked_people_never_receive_each_others_messages_live_or_in_history(live_server: LiveServer, clients) -> None:
    (a_id, a_token), (b_id, b_token), (_, c_token) = (
        make_member(live_server, name) for name in ("alder", "bramble", "clover")
    )
    block(live_server, a_id, b_id)
    a, b, c = (clients(live_server, t).connect() for t in (a_token, b_token, c_token))
    for socket in (a, b, c):
        socket.join()

    from_b = b.send(calm(1), "b-1")["message"]["id"]
    from_a = a.send(calm(2), "a-1")["message"]["id"]
    c.wait_for("message", lambda got: len(got) >= 2)
    time.sleep(0.3)  # time for a wrong delivery to arrive, had there been one

    assert sorted(c.ids()) == sorted([from_a, from_b])
    assert a.ids() == [from_a]
    assert b.ids() == [from_b]
    assert [m["id"] for m in clients(live_server, a_token).connect().join()["history"]] == [from_a]
    assert [m["id"] for m in clients(live_server, b_token).connect().join()["history"]] == [from_b]
    assert "bramble" not in {p["username"] for p in clients(live_server, a_token).connect().join()["present"]}


def test_a_crisis_message_gives_only_the_sender_support_and_moderators_the_message_with_five_before(
    live_server: LiveServer, clients
) -> None:
    (_, writer_token), (_, peer_token) = make_member(live_server, "willow"), make_member(live_server, "peer")
    _mod_id, mod_token = make_member(live_server, "mod_maya", role="moderator")
    moderator = ChatClient(live_server, token=mod_token)
    alerts: list[dict] = []
    moderator.sio.on("alert", alerts.append, namespace="/moderation")
    moderator.connect(namespaces=("/chat", "/moderation"))
    writer, peer = clients(live_server, writer_token).connect(), clients(live_server, peer_token).connect()
    writer.join()
    peer.join()
    for n in range(6):
        (writer if n % 2 else peer).send(calm(n), f"ctx-{n}")

    ack = writer.send(CRISIS_TEXT, "crisis-1")

    support = writer.wait_for("support", lambda got: len(got) >= 1)[0]
    assert support["level"] == "crisis"
    assert support["resources"] and all("name" in r for r in support["resources"])
    assert isinstance(support["guides"], list)
    deadline = time.monotonic() + 5
    while not alerts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["level"] == "crisis" and alert["excerpt"] == CRISIS_TEXT
    assert alert["where"]["message_id"] == ack["message"]["id"] and alert["where"]["room"] == ROOM
    assert [c["body"] for c in alert["where"]["context"]] == [calm(n) for n in range(1, 6)]
    assert [c["author"] for c in alert["where"]["context"]] == ["willow", "peer", "willow", "peer", "willow"]
    peer.wait_for("message", lambda got: len(got) >= 7)
    assert peer.events["support"] == []
    with live_server.app.app_context():
        item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_type == "chat_message"))
        assert item is not None and item.target_id == ack["message"]["id"] and item.priority == "urgent"
    moderator.close()


def test_signing_out_disconnects_that_persons_sockets_within_a_second(live_server: LiveServer, clients) -> None:
    make_member(live_server, "leaving")
    http = browser_session(live_server, "leaving")
    socket = clients(live_server, cookies=cookie_header(http)).connect()
    socket.join()
    token = csrf_from(http, live_server.url + "/chat/")

    started = time.monotonic()
    http.post(
        live_server.url + "/logout",
        data={"csrf_token": token},
        headers={"Referer": live_server.url + "/"},
        timeout=10,
    )
    while socket.sio.connected and time.monotonic() - started < 3:
        time.sleep(0.02)

    assert not socket.sio.connected
    assert time.monotonic() - started < 1.0


def test_revoking_a_token_closes_its_sockets_and_no_other(live_server: LiveServer, clients) -> None:
    """A socket that only listens sends no event to be refused: it must be closed, or it goes on hearing the room.
    (An event a revoked token's socket sends before the close lands is refused: test_chat_service.py.)"""
    import requests

    person_id, token = make_member(live_server, "listener")
    with live_server.app.app_context():
        other_token = accounts.issue_token(db.session.get(User, person_id))
    revoked, kept = clients(live_server, token).connect(), clients(live_server, other_token).connect()
    revoked.join()
    kept.join()

    started = time.monotonic()
    response = requests.delete(
        live_server.url + "/api/v1/tokens/current", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 204
    while revoked.sio.connected and time.monotonic() - started < 3:
        time.sleep(0.02)

    assert not revoked.sio.connected, "the revoked token's socket was closed"
    assert time.monotonic() - started < 1.0
    assert kept.sio.connected and kept.send(calm(2), "still-here")["ok"], "the person's other token still works"


def test_closed_rooms_and_muted_people_cannot_send_and_say_why(live_server: LiveServer, clients) -> None:
    (quiet_id, quiet_token), (_, mod_token) = (
        make_member(live_server, "quiet"),
        make_member(live_server, "mod_mo", role="moderator"),
    )
    quiet, moderator = clients(live_server, quiet_token).connect(), clients(live_server, mod_token).connect()
    quiet.join()
    moderator.join()

    assert moderator.call("mute", {"room": ROOM, "user_id": quiet_id, "minutes": 10})["ok"]
    muted = quiet.send(calm(1), "m-1")
    assert muted["ok"] is False and muted["error"]["code"] == "muted"
    assert quiet.wait_for("muted", lambda got: len(got) >= 1)[0]["room"] == ROOM

    assert moderator.call("close", {"room": ROOM})["ok"]
    closed = moderator.send(calm(2), "m-2")
    assert closed["ok"] is False and closed["error"]["code"] == "room_closed"
    assert quiet.wait_for("room", lambda got: len(got) >= 1)[-1]["closed"] is True
    assert quiet.call("close", {"room": ROOM})["error"]["code"] == "forbidden"


def test_a_moderator_removal_disappears_for_everyone_live(live_server: LiveServer, clients) -> None:
    (_, a_token), (_, mod_token) = (
        make_member(live_server, "poster"),
        make_member(live_server, "mod_r", role="moderator"),
    )
    poster, moderator = clients(live_server, a_token).connect(), clients(live_server, mod_token).connect()
    poster.join()
    moderator.join()
    message_id = poster.send(calm(1), "r-1")["message"]["id"]

    assert moderator.call("remove", {"room": ROOM, "id": message_id, "reason": "off topic"})["ok"]

    for socket in (poster, moderator):
        assert socket.wait_for("retracted", lambda got: len(got) >= 1)[0] == {
            "id": message_id,
            "room": ROOM,
            "by": "moderator",
        }
    assert clients(live_server, a_token).connect().join()["history"] == []


def test_a_full_check_in_turns_the_next_person_away(live_server: LiveServer, clients) -> None:
    _host_id, host_token = make_member(live_server, "host_h", trusted=True)
    host = clients(live_server, host_token).connect()
    room = _schedule(live_server, "host_h", capacity=2)
    early = clients(live_server, make_member(live_server, "early")[1]).connect()
    assert early.call("join", {"room": room, "after": None})["error"]["code"] == "room_not_open"
    assert host.call("advance", {"room": room, "state": "open"})["ok"]

    for name in ("first", "second"):
        person = clients(live_server, make_member(live_server, name)[1]).connect()
        assert person.join(room)["looking_in"]  # looking in takes no place
        assert person.send(calm(1), f"{name}-1", room=room)["ok"]  # a message does
    refused = early.call("join", {"room": room, "after": None})

    assert refused["ok"] is False and refused["error"]["code"] == "room_full"
    assert early.send(calm(1), "full-1", room=room)["error"]["code"] == "room_full"


def test_a_check_in_runs_its_rounds_and_ends_with_a_summary(live_server: LiveServer, clients) -> None:
    _host_id, host_token = make_member(live_server, "host_k", trusted=True)
    host = clients(live_server, host_token).connect()
    room = _schedule(live_server, "host_k", capacity=5)
    assert host.call("advance", {"room": room, "state": "open"})["ok"]
    people = [clients(live_server, make_member(live_server, name)[1]).connect() for name in ("fern", "gorse")]
    for name, person in zip(("fern", "gorse"), people):
        _take_part(live_server, name, room)
        assert not person.join(room)["looking_in"]

    assert host.call("advance", {"room": room, "state": "mood_round"})["ok"]
    for person, (mood, word) in zip(people, [(3, "tired"), (5, "okay")]):
        assert person.call("mood", {"room": room, "mood": mood, "word": word, "client_id": f"start-{mood}"})["ok"]
    twice = people[0].call("mood", {"room": room, "mood": 4, "word": "again", "client_id": "start-again"})
    assert twice["error"]["code"] == "conflict"
    assert host.call("advance", {"room": room, "state": "open_talk"})["ok"]
    assert people[0].send(calm(1), "talk-1", room=room)["ok"]
    assert host.call("advance", {"room": room, "state": "closing_round"})["ok"]
    for person, (mood, word) in zip(people, [(6, "lighter"), (6, "held")]):
        assert person.call("mood", {"room": room, "mood": mood, "word": word, "client_id": f"end-{word}"})["ok"]
    skipped = host.call("advance", {"room": room, "state": "open"})
    assert skipped["ok"] is False and skipped["error"]["code"] == "conflict"
    closed = host.call("advance", {"room": room, "state": "closed"})

    assert closed["ok"], closed
    summary = closed["checkin"]["summary"]
    assert summary == {
        "participants": 2,
        "average_start": 4.0,
        "average_end": 6.0,
        "shared_start": 2,
        "shared_end": 2,
        "shared_both": 2,
        "both_start": 4.0,
        "both_end": 6.0,
    }
    states = [
        event["state"] for event in people[1].wait_for("checkin", lambda got: got and got[-1]["state"] == "closed")
    ]
    assert states == ["mood_round", "open_talk", "closing_round", "closed"]
    moods = [m["mood"] for m in people[1].events["message"] if m["kind"] == "mood"]
    assert [(m["phase"], m["value"], m["word"]) for m in moods] == [
        ("start", 3, "tired"),
        ("start", 5, "okay"),
        ("end", 6, "lighter"),
        ("end", 6, "held"),
    ]
    assert people[0].send(calm(2), "after-close", room=room)["error"]["code"] == "room_closed"


def _take_part(server: LiveServer, username: str, room: str) -> None:
    """Take a place in the check-in, as its page's "Take part" button does."""
    from forum.services import chat, checkins

    with server.app.app_context():
        checkin = chat.checkin_for(chat.get_room(room))
        assert checkin is not None
        checkins.save_place(accounts.find_user(username), checkin)


def _schedule(server: LiveServer, host_name: str, *, capacity: int) -> str:
    from forum.models import utcnow
    from forum.services import accounts, checkins

    with server.app.app_context():
        host = accounts.find_user(host_name)
        checkin = checkins.schedule(
            host, title="Evening check-in", area="grief", starts_at=utcnow(), length_minutes=60, capacity=capacity
        )
        return checkin.room.key


def test_sending_too_fast_is_refused_with_a_retry_after(live_database_url: str) -> None:
    limits = {"chat": {"per_account": "3/10 seconds", "first_day": "3/10 seconds", "per_address": "1000/minute"}}
    server = LiveServer(live_database_url, env={"FORUM_RATELIMIT_ENABLED": "1", "FORUM_RATELIMITS": json.dumps(limits)})
    with server:
        _id, token = make_member(server, "hasty")
        socket = ChatClient(server, token=token).connect()
        try:
            socket.join()
            answers = [socket.send(calm(n), f"fast-{n}") for n in range(4)]
            replay = socket.send(calm(0), "fast-0")
        finally:
            socket.close()

    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3]["error"]["code"] == "rate_limited" and answers[3]["error"]["retry_after"] >= 1
    assert replay["ok"] and replay["message"]["id"] == answers[0]["message"]["id"]  # a resend is never limited


def test_through_a_redis_queue_blocks_still_hold_and_sign_out_still_disconnects(live_database_url: str) -> None:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    server = LiveServer(live_database_url, env={"FORUM_REDIS_URL": url})
    with server:
        (a_id, a_token), (b_id, b_token) = make_member(server, "queue_a"), make_member(server, "queue_b")
        block(server, a_id, b_id)
        a, b = ChatClient(server, token=a_token).connect(), ChatClient(server, token=b_token).connect()
        try:
            a.join()
            b.join()
            from_a = a.send(calm(1), "q-1")["message"]["id"]
            a.wait_for("message", lambda got: len(got) >= 1)
            time.sleep(0.3)
            assert b.ids() == [] and a.ids() == [from_a]

            make_member(server, "queue_c")
            http = browser_session(server, "queue_c")
            c = ChatClient(server, cookies=cookie_header(http)).connect()
            token = csrf_from(http, server.url + "/chat/")
            started = time.monotonic()
            http.post(server.url + "/logout", data={"csrf_token": token}, headers={"Referer": server.url + "/"})
            while c.sio.connected and time.monotonic() - started < 3:
                time.sleep(0.02)
            assert not c.sio.connected and time.monotonic() - started < 1.0
        finally:
            a.close()
            b.close()


def test_a_client_that_was_offline_learns_on_rejoining_which_messages_were_retracted(
    live_server: LiveServer, clients
) -> None:
    (_, writer_token), (_, reader_token) = make_member(live_server, "writer"), make_member(live_server, "reader")
    (_, moderator_token) = make_member(live_server, "mod_kim", role="moderator")
    writer = clients(live_server, writer_token).connect()
    writer.join()
    ids = [writer.send(calm(n), f"w-{n}")["message"]["id"] for n in range(3)]
    reader = clients(live_server, reader_token).connect()
    assert [m["id"] for m in reader.join()["history"]] == ids
    reader.sio.eio.disconnect(abort=True)  # offline while the retractions happen

    assert writer.call("delete", {"room": ROOM, "id": ids[0]})["ok"]
    moderator = clients(live_server, moderator_token).connect()
    moderator.join()
    assert moderator.call("remove", {"room": ROOM, "id": ids[1], "reason": "off topic"})["ok"]

    back = clients(live_server, reader_token).connect().join(after=ids[-1])
    assert back["history"] == []
    assert sorted(back["retracted"], key=lambda r: r["id"]) == [
        {"id": ids[0], "by": "author"},
        {"id": ids[1], "by": "moderator"},
    ]


def test_a_websocket_that_asks_for_compression_is_accepted_without_it(live_server: LiveServer) -> None:
    """Each compressed WebSocket kept a zlib compressor (about 256 KiB reserved) for its whole life."""
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{live_server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {live_server.url}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with tcp.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, answer
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 101")
    assert "sec-websocket-extensions" not in head
