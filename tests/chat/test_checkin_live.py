"""Check-ins against a real server process with the real python-socketio client: who is let into the talk,
places counted live for everyone watching, and word reaching everyone with a place when the host opens."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from forum.extensions import db
from forum.models import Notification
from forum.services import accounts, chat, checkins
from tests.chat.support import (
    PASSWORD,
    ChatClient,
    browser_session,
    calm,
    csrf_from,
    make_member,
    press_place_button,
    schedule_check_in,
)
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def sockets() -> Iterator[Any]:
    made: list[Any] = []

    def keep(client: Any) -> Any:
        made.append(client)
        return client

    yield keep
    # A clean websocket close can wait up to 3 s for the server's close frame: close them side by side.
    closers = [threading.Thread(target=c.close if isinstance(c, ChatClient) else c.disconnect) for c in made]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(timeout=10)


def _check_in(
    server: LiveServer, host_name: str, *, capacity: int, places_for: tuple[str, ...] = ()
) -> tuple[int, str]:
    """A check-in hosted by `host_name`, not yet open, with places saved for `places_for`: (its id, its room)."""
    with server.app.app_context():
        checkin = schedule_check_in(accounts.find_user(host_name), capacity=capacity)
        for name in places_for:
            checkins.save_place(accounts.find_user(name), checkin)
        return checkin.id, checkin.room.key


def _places_taken(server: LiveServer, checkin_id: int) -> int:
    with server.app.app_context():
        return chat.participant_count(checkins.get_checkin(checkin_id))


def test_someone_looking_in_takes_no_place_and_hears_nothing_of_the_talk(live_server: LiveServer, sockets) -> None:
    _id, host_token = make_member(live_server, "mod_maya", role="moderator")
    _id, ash_token = make_member(live_server, "ash")
    _id, visitor_token = make_member(live_server, "visitor")
    make_member(live_server, "birch")
    checkin_id, room = _check_in(live_server, "mod_maya", capacity=2, places_for=("ash",))
    host = sockets(ChatClient(live_server, token=host_token).connect())
    host.join(room)
    assert host.call("advance", {"room": room, "state": "open"})["ok"]
    ash = sockets(ChatClient(live_server, token=ash_token).connect())
    ash.join(room)
    said = ash.send(calm(1), "ash-1", room=room)["message"]

    visitor = sockets(ChatClient(live_server, token=visitor_token, places=[checkin_id]).connect())
    looked = visitor.join(room)
    assert looked["looking_in"] and looked["history"] == [] and looked["present"] == []
    assert looked["room"]["checkin"]["taken"] == 1 and "round" not in looked["room"]["checkin"]
    assert _places_taken(live_server, checkin_id) == 1
    assert visitor.wait_for("places_now", lambda got: got)[0]["places"][0]["taken"] == 1

    ash.send(calm(2), "ash-2", room=room)
    press_place_button(browser_session(live_server, "birch"), live_server, f"/chat/check-ins/{checkin_id}/place")

    # Places reach the onlooker after the message was sent: had the message been delivered to them, it came first.
    visitor.wait_for("places", lambda got: any(p["taken"] == 2 for p in got))
    assert visitor.events["message"] == [] and visitor.events["presence"] == []
    assert said["id"] in [m["id"] for m in host.events["message"]]  # the host, in the room, heard it
    assert visitor.call("join", {"room": room, "after": None})["error"]["code"] == "room_full"
    # Nor can an onlooker tell the people in the check-in they are typing.
    assert visitor.call("typing", {"room": room, "typing": True})["error"]["code"] == "invalid"
    assert ash.call("typing", {"room": room, "typing": True})["ok"]
    host.wait_for("typing", lambda got: [t["user"]["username"] for t in got] == ["ash"])


def test_everyone_watching_sees_places_taken_and_given_back_and_the_check_in_open(
    live_server: LiveServer, sockets
) -> None:
    _id, host_token = make_member(live_server, "mod_maya", role="moderator")
    _id, watcher_token = make_member(live_server, "watcher")
    for name in ("ash", "birch"):
        make_member(live_server, name)
    checkin_id, room = _check_in(live_server, "mod_maya", capacity=2)
    watcher = sockets(ChatClient(live_server, token=watcher_token, places=[checkin_id]).connect())
    [first] = watcher.wait_for("places_now", lambda got: got)
    assert first["places"] == [
        {"id": checkin_id, "room": room, "state": "scheduled", "capacity": 2, "taken": 0, "mine": False}
    ]

    ash, birch = browser_session(live_server, "ash"), browser_session(live_server, "birch")
    press_place_button(ash, live_server, f"/chat/check-ins/{checkin_id}/place")
    press_place_button(birch, live_server, f"/chat/check-ins/{checkin_id}/place")
    press_place_button(ash, live_server, f"/chat/check-ins/{checkin_id}/place/give-up")
    host = sockets(ChatClient(live_server, token=host_token).connect())
    assert host.call("advance", {"room": room, "state": "open"})["ok"]

    heard = watcher.wait_for("places", lambda got: len(got) >= 4)
    assert [(p["taken"], p["state"]) for p in heard] == [
        (1, "scheduled"),
        (2, "scheduled"),
        (1, "scheduled"),
        (1, "open"),
    ]
    assert {p["capacity"] for p in heard} == {2} and {p["id"] for p in heard} == {checkin_id}


def test_a_place_freed_by_an_account_deletion_is_heard_at_once(live_server: LiveServer, sockets) -> None:
    make_member(live_server, "mod_maya", role="moderator")
    _id, watcher_token = make_member(live_server, "watcher")
    make_member(live_server, "ash")
    checkin_id, _room = _check_in(live_server, "mod_maya", capacity=2, places_for=("ash",))
    watcher = sockets(ChatClient(live_server, token=watcher_token, places=[checkin_id]).connect())
    assert watcher.wait_for("places_now", lambda got: got)[0]["places"][0]["taken"] == 1

    ash = browser_session(live_server, "ash")
    token = csrf_from(ash, live_server.url + "/me/data")
    gone = ash.post(
        live_server.url + "/me/delete",
        data={"csrf_token": token, "posts": "keep", "password": PASSWORD},
        headers={"Referer": live_server.url + "/me/data"},
        allow_redirects=False,
        timeout=10,
    )
    assert gone.status_code == 302, gone.text[:300]

    [freed] = watcher.wait_for("places", lambda got: got)
    assert (freed["id"], freed["taken"], freed["state"]) == (checkin_id, 0, "scheduled")
    assert _places_taken(live_server, checkin_id) == 0


def test_a_page_hears_the_places_it_names_and_chats_all_the_same_when_it_names_them_wrongly(
    live_server: LiveServer, sockets
) -> None:
    make_member(live_server, "mod_maya", role="moderator")
    _id, token = make_member(live_server, "watcher")
    make_member(live_server, "ash")
    named, _room = _check_in(live_server, "mod_maya", capacity=3)
    other, _room = _check_in(live_server, "mod_maya", capacity=3)
    for wrong in ("1", list(range(1, 102)), [True]):
        socket = sockets(ChatClient(live_server, token=token, places=wrong).connect())
        assert socket.join()["ok"] and socket.events["places_now"] == []
    watcher = sockets(ChatClient(live_server, token=token, places=[named, 424242]).connect())
    assert [p["id"] for p in watcher.wait_for("places_now", lambda got: got)[0]["places"]] == [named]

    ash = browser_session(live_server, "ash")
    press_place_button(ash, live_server, f"/chat/check-ins/{other}/place")
    press_place_button(ash, live_server, f"/chat/check-ins/{named}/place")

    heard = watcher.wait_for("places", lambda got: len(got) >= 1)
    assert [p["id"] for p in heard] == [named]


def _notifications_socket(server: LiveServer, token: str) -> tuple[socketio.Client, list[int]]:
    """A page elsewhere on the site: its /notifications socket, and the unread counts it is told."""
    counts: list[int] = []
    client = socketio.Client(reconnection=False)
    client.on("unread", lambda data: counts.append(data["count"]), namespace="/notifications")
    client.connect(
        server.url, namespaces=["/notifications"], auth={"token": token}, transports=["websocket"], wait_timeout=10
    )
    return client, counts


def test_when_the_host_opens_those_waiting_can_send_and_those_elsewhere_are_told(
    live_server: LiveServer, sockets
) -> None:
    _id, host_token = make_member(live_server, "mod_maya", role="moderator")
    _id, waiting_token = make_member(live_server, "waiting")
    elsewhere_id, elsewhere_token = make_member(live_server, "elsewhere")
    _checkin_id, room = _check_in(live_server, "mod_maya", capacity=3, places_for=("waiting", "elsewhere"))
    waiting = sockets(ChatClient(live_server, token=waiting_token).connect())
    assert waiting.join(room)["room"]["checkin"]["state"] == "scheduled"
    assert waiting.send(calm(1), "early", room=room)["error"]["code"] == "room_not_open"
    notifications, counts = _notifications_socket(live_server, elsewhere_token)
    sockets(notifications)
    assert _wait_until(lambda: counts == [0])

    host = sockets(ChatClient(live_server, token=host_token).connect())
    assert host.call("advance", {"room": room, "state": "open"})["ok"]

    assert waiting.wait_for("checkin", lambda got: any(c["state"] == "open" for c in got))
    assert waiting.send(calm(2), "opened", room=room)["ok"]
    assert _wait_until(lambda: counts[-1:] == [1]), counts
    with live_server.app.app_context():
        told = db.session.query(Notification).filter_by(user_id=elsewhere_id, kind="check_in").one()
        assert told.url == f"/chat/{room}" and "Evening check-in is starting now" in told.body_html


def _wait_until(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
