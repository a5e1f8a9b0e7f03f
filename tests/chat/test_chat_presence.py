"""Who is here: a join lists a page of people and the count, `present` pages through the rest, hidden people
are neither listed nor counted; and the bookkeeping behind a join (socket rooms, the read snapshot)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio as python_socketio
from flask import Flask
from flask_socketio import SocketIOTestClient
from werkzeug.serving import make_server

from forum import create_app
from forum.extensions import db, socketio
from forum.models import Block, User
from forum.realtime import LocalManager
from forum.realtime.chat import Presence, _new_snapshot, presence
from forum.services import accounts, chat
from forum.services.transaction import write_transaction
from tests.conftest import make_config

ROOM = "board-introductions"


@pytest.fixture
def connect(app: Flask) -> Iterator[Callable[[User], SocketIOTestClient]]:
    """In-process Socket.IO clients on /chat with a token each, disconnected (leaving presence) afterwards."""
    made: list[SocketIOTestClient] = []

    def open_socket(person: User) -> SocketIOTestClient:
        client = socketio.test_client(app, namespace="/chat", auth={"token": accounts.issue_token(person)})
        assert client.is_connected(namespace="/chat")
        made.append(client)
        return client

    yield open_socket
    for client in made:
        if client.is_connected(namespace="/chat"):
            client.disconnect(namespace="/chat")


def _call(client: SocketIOTestClient, event: str, data: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = client.emit(event, data, namespace="/chat", callback=True)
    return answer


def _names(people: list[dict[str, Any]]) -> list[str]:
    return [person["username"] for person in people]


def test_a_join_lists_the_first_page_in_id_order_with_the_count_and_present_pages_through_the_rest(
    app: Flask, make_user, connect
) -> None:
    app.config["CHAT_PRESENT_PAGE"] = 2
    people = [make_user(f"here{n}") for n in range(5)]
    sockets = [connect(person) for person in people]
    for client in sockets:
        assert _call(client, "join", {"room": ROOM, "after": None})["ok"]

    ack = _call(sockets[-1], "join", {"room": ROOM, "after": None})
    assert _names(ack["present"]) == ["here0", "here1"]
    assert ack["present_count"] == 5 and ack["present_more"] is True

    second = _call(sockets[-1], "present", {"room": ROOM, "after": ack["present"][-1]["id"]})
    assert second["ok"] and _names(second["present"]) == ["here2", "here3"] and second["more"] is True
    last = _call(sockets[-1], "present", {"room": ROOM, "after": second["present"][-1]["id"]})
    assert _names(last["present"]) == ["here4"] and last["more"] is False and last["present_count"] == 5


def test_people_hidden_from_a_viewer_are_neither_listed_nor_counted_on_any_page(app: Flask, make_user, connect) -> None:
    app.config["CHAT_PRESENT_PAGE"] = 2
    viewer, blocker, muted, other = (make_user(name) for name in ("viewer", "blocker", "muted", "other"))
    with write_transaction() as session:
        session.add(Block(blocker_id=blocker.id, blocked_id=viewer.id, kind="block"))
        session.add(Block(blocker_id=viewer.id, blocked_id=muted.id, kind="mute"))
    for person in (blocker, muted, other):
        assert _call(connect(person), "join", {"room": ROOM, "after": None})["ok"]
    mine = connect(viewer)

    ack = _call(mine, "join", {"room": ROOM, "after": None})
    rest = _call(mine, "present", {"room": ROOM, "after": ack["present"][-1]["id"]})

    assert _names(ack["present"]) + _names(rest["present"]) == ["viewer", "other"]
    assert ack["present_count"] == rest["present_count"] == 2
    assert ack["present_more"] is False and rest["more"] is False
    # The person who blocked the viewer doesn't see them either.
    theirs = _call(connect(blocker), "join", {"room": ROOM, "after": None})
    assert "viewer" not in _names(theirs["present"]) and theirs["present_count"] == 3


def test_only_a_socket_that_joined_the_room_can_page_through_who_is_here(app: Flask, make_user, connect) -> None:
    inside, outside = make_user("inside"), make_user("outside")
    joined = connect(inside)
    assert _call(joined, "join", {"room": ROOM, "after": None})["ok"]
    stranger = connect(outside)

    refused = _call(stranger, "present", {"room": ROOM, "after": 0})
    assert refused["ok"] is False and refused["error"]["code"] == "invalid"
    assert _call(joined, "present", {"room": ROOM, "after": "x"})["ok"] is False
    assert _call(joined, "leave", {"room": ROOM})["ok"]
    assert _call(joined, "present", {"room": ROOM, "after": 0})["ok"] is False


def test_presence_counts_a_person_once_however_many_sockets_and_drops_them_with_their_last() -> None:
    presence = Presence()
    assert presence.add("chat:r", 7, "seven", "s1") is True
    assert presence.add("chat:r", 3, "three", "s2") is True
    assert presence.add("chat:r", 7, "seven", "s3") is False  # a second tab is not a second arrival

    page = presence.page("chat:r", after=0, limit=10, hidden=set())
    assert page.people == [{"id": 3, "username": "three"}, {"id": 7, "username": "seven"}] and page.count == 2
    assert presence.remove("chat:r", 7, "s1") is False  # still here on s3
    assert presence.rooms_of("s3") == ["chat:r"]
    assert presence.remove("chat:r", 7, "s3") is True
    assert presence.page("chat:r", after=0, limit=10, hidden=set()).people == [{"id": 3, "username": "three"}]
    assert presence.remove("chat:r", 3, "s2") is True
    assert presence.count("chat:r") == 0 and presence.page("chat:r", after=0, limit=10, hidden=set()).count == 0


def test_the_client_manager_forgets_every_room_of_a_socket_that_disconnects() -> None:
    manager = LocalManager()
    python_socketio.Server(client_manager=manager)
    first, second = manager.connect("eio-1", "/chat"), manager.connect("eio-2", "/chat")
    for sid, rooms in ((first, ("user:1", "chat:a", "chat:b")), (second, ("user:2", "chat:a"))):
        for room in rooms:
            manager.enter_room(sid, "/chat", room)
    manager.leave_room(first, "/chat", "chat:b")
    # The library's own search over every room is the reference for what a socket is in.
    assert sorted(manager.get_rooms(first, "/chat")) == sorted(
        python_socketio.Manager.get_rooms(manager, first, "/chat")
    )

    manager.disconnect(first, "/chat")

    assert python_socketio.Manager.get_rooms(manager, first, "/chat") == []
    assert manager.get_rooms(first, "/chat") == []
    assert not manager.is_connected(first, "/chat")
    assert sorted(manager.get_rooms(second, "/chat")) == sorted([second, "user:2", "chat:a"])
    assert [sid for sid, _eio in manager.get_participants("/chat", "chat:a")] == [second]
    assert "user:1" not in manager.rooms["/chat"] and "chat:b" not in manager.rooms["/chat"]


@pytest.fixture
def served(app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An app on the test database behind a real HTTP server (WebSockets included), in this process so its
    Socket.IO server can be inspected. Made here, not the session's app: other tests make apps too, and the
    Socket.IO extension's server is the last one made."""
    served_app = create_app(make_config(database_url))
    server = make_server("127.0.0.1", 0, served_app, threaded=True)
    origin = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setattr(socketio.server.eio, "cors_allowed_origins", [origin])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield origin
    server.shutdown()
    thread.join(timeout=5)
    with served_app.app_context():
        db.engine.dispose()


def test_the_server_forgets_each_websocket_as_soon_as_it_drops(
    app: Flask, make_user: Callable[..., User], served: str
) -> None:
    """A dropped socket must leave nothing behind: a reconnect storm otherwise left one dead Engine.IO socket
    per client (waiting up to 40 s for engine.io's monitor), and every round cost more than the last."""
    engine = socketio.server.eio
    people = [make_user(f"dropper{n}") for n in range(3)]
    clients = []
    for person in people:
        client = python_socketio.Client(reconnection=False)
        client.connect(
            served,
            namespaces=["/chat"],
            transports=["websocket"],
            auth={"token": accounts.issue_token(person)},
        )
        assert client.call("join", {"room": ROOM, "after": None}, namespace="/chat")["ok"]
        clients.append(client)
    assert len(engine.sockets) == 3

    for client in clients:
        client.eio.disconnect(abort=True)  # the network drops: no goodbye

    deadline = time.monotonic() + 5
    while (engine.sockets or presence.count(chat.socket_room(ROOM))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.sockets == {}
    assert presence.count(chat.socket_room(ROOM)) == 0
    assert socketio.server.manager.rooms.get("/chat", {}).get(chat.socket_room(ROOM)) is None


def test_a_join_reads_history_in_a_snapshot_taken_after_it_joined_and_keeps_loaded_rows(app: Flask, make_user) -> None:
    reader, writer_id = make_user("reader"), make_user("writer").id
    room = chat.get_room(ROOM)  # this event's first read: on SQLite it fixes the transaction's snapshot
    assert chat.history_payloads(reader, room, after_id=None)[0] == []

    def write() -> None:
        with app.app_context():
            author = db.session.get(User, writer_id)
            chat.send_message(author, chat.get_room(ROOM), body="Sent while the other joined", client_id="mid")

    sender = threading.Thread(target=write)
    sender.start()
    sender.join(30)
    _new_snapshot()

    history, _ = chat.history_payloads(reader, room, after_id=None)
    assert [message["client_id"] for message in history] == ["mid"]
    assert "username" in reader.__dict__ and "key" in room.__dict__  # still loaded: no reload per join
