"""Ask the app every question in tests/security/matrix.py and compare with the table.

One world per backend: eight people (one per role) and, for each of them, a thread and reply in each object
state, so a destructive answer (a delete, a lock) never changes what the next question sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db, socketio
from forum.models import Block, Post, Thread, User, utcnow
from forum.services import accounts, posting
from forum.services.transaction import write_transaction
from tests.conftest import bearer
from tests.security import matrix
from tests.security.matrix import DENY, HIDE, LOGIN, OK

PASSWORD = "correct horse battery"
NAMES = {
    "member": "sam",
    "other": "river",
    "blocked": "bo_blocked",
    "silenced": "sil_quiet",
    "suspended": "sus_away",
    "moderator": "mod_maya",
    "admin": "ada_admin",
}
OWNER = "owen"  # the author of every "another", "hidden", "locked", "deleted" and "anonymous" object
LAST = [("POST", "/me/delete"), ("DELETE", "/api/v1/tokens/current"), ("POST", "/logout")]
DESTRUCTIVE = re.compile(r"/(lock|pin|close|reopen|slow-mode|state)$")


# --- the route map and the handlers against the table -----------------------------------------------------


def _app_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routes.add((method, rule.rule))
    return routes


def _socket_events() -> set[tuple[str, str]]:
    return {(ns, event) for ns, handlers in socketio.server.handlers.items() for event in handlers}


def test_every_http_route_has_exactly_one_row_in_the_matrix(app: Flask) -> None:
    routes = _app_routes(app)
    missing = sorted(routes - set(matrix.ROUTES))
    stale = sorted(set(matrix.ROUTES) - routes)
    assert missing == [], f"routes without a row in tests/security/matrix.py ROUTES: {missing}"
    assert stale == [], f"rows for routes that no longer exist: {stale}"


def test_every_socket_event_has_a_row_in_the_matrix(app: Flask) -> None:
    events = _socket_events()
    assert ("/chat", "send") in events, "the handlers are registered"
    missing = sorted(events - set(matrix.EVENTS))
    stale = sorted(set(matrix.EVENTS) - events)
    assert missing == [], f"Socket.IO events without a row in tests/security/matrix.py EVENTS: {missing}"
    assert stale == [], f"rows for events that no longer exist: {stale}"


def test_the_openapi_document_says_which_api_routes_need_a_signed_in_caller(app: Flask) -> None:
    """An operation whose row answers a stranger with LOGIN lists only the sign-in schemes as its security;
    one a stranger may use keeps the document's default, where signing in is optional."""
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert spec["security"] == [{}, {"bearer": []}, {"session": []}]
    for (method, rule), row in matrix.ROUTES.items():
        if not rule.startswith("/api/v1/") or rule.endswith("openapi.json"):
            continue
        path = rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        operation = spec["paths"][path][method.lower()]
        # LOGIN for a stranger but not for a member (POST /tokens answers everyone with bad credentials LOGIN).
        needs_sign_in = any(
            row.policy("anonymous", state) == LOGIN and row.policy("member", state) != LOGIN for state in row.states
        )
        if needs_sign_in:
            assert operation.get("security") in ([{"bearer": []}, {"session": []}], [{"bearer": []}]), (method, rule)
        else:
            assert "security" not in operation, (method, rule)


# --- the world --------------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    owner: User | None = None
    threads: dict[tuple[str, str], int] = field(default_factory=dict)  # (role, state) -> thread id
    posts: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (role, state, variant) -> a reply's id
    journal: dict[tuple[str, str], int] = field(default_factory=dict)
    homework: dict[tuple[str, str], int] = field(default_factory=dict)
    item_id: int = 0
    checkin_id: int = 0
    checkin_room: str = ""
    room: str = ""
    guide: str = ""
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


def _thread(author: User, *, board: str = "small-wins", anonymous: bool = False) -> tuple[int, list[int]]:
    outcome = posting.create_thread(
        author, posting.get_board(board), title="A thread in the matrix", body="Opening.", anonymous=anonymous
    )
    replies = [
        posting.create_reply(author, outcome.thread, body=f"Reply {n} in the matrix.", anonymous=anonymous).post.id
        for n in range(2)
    ]
    return outcome.thread.id, replies


def _put_in_state(thread_id: int, post_ids: list[int], state: str) -> None:
    with write_transaction() as session:
        thread = session.get(Thread, thread_id)
        posts = [session.get(Post, post_id) for post_id in post_ids]
        assert thread is not None
        for post in posts:
            assert post is not None
            if state == "hidden":
                thread.visibility = post.visibility = "hidden"
            elif state == "locked":
                thread.locked = True
            elif state == "deleted":
                thread.deleted_at = post.deleted_at = utcnow()


def _objects_for(world: World, role: str) -> None:
    for state in matrix.STATES:
        if state == "own" and role == "anonymous":
            continue
        author = world.users[role] if state == "own" else world.owner
        assert author is not None
        anonymous = state == "anonymous"
        thread_id, post_ids = _thread(
            author, board="grief-and-loss" if anonymous else "small-wins", anonymous=anonymous
        )
        _put_in_state(thread_id, post_ids, state)
        world.threads[role, state] = thread_id
        world.posts[role, state, "a"], world.posts[role, state, "b"] = post_ids


def _private_objects(world: World, role: str) -> None:
    from forum.services.practice import homework, journal

    for state in ("own", "another"):
        if state == "own" and role == "anonymous":
            continue
        person = world.users[role] if state == "own" else world.owner
        world.journal[role, state] = journal.write_entry(person, body="Private words.").entry.id
        world.homework[role, state] = homework.add_practice(person, _practice_guide()).id


def _practice_guide() -> str:
    from forum.guides import all_guides

    return next(slug for slug, guide in all_guides().items() if getattr(guide, "practice", None))


def _sign_in(app: Flask, world: World, role: str) -> None:
    client = app.test_client()
    if role != "anonymous":
        assert client.post("/login", data={"username": NAMES[role], "password": PASSWORD}).status_code == 302
        world.tokens[role] = accounts.issue_token(world.users[role])
    world.clients[role] = client


def _build(app: Flask) -> World:
    from forum.services import chat, checkins

    world = World()
    for role, name in NAMES.items():
        world.users[role] = accounts.register(name, PASSWORD, role=role if role in ("moderator", "admin") else "member")
    world.owner = accounts.register(OWNER, PASSWORD)
    with write_transaction() as session:
        session.add(Block(blocker_id=world.owner.id, blocked_id=world.users["blocked"].id, kind="block"))
    for role in matrix.ROLES:
        _objects_for(world, role)
        _private_objects(world, role)
        _sign_in(app, world, role)
    # Restrictions come after each person wrote their own things, as they would in life.
    accounts.end_sessions(world.users["suspended"])
    with write_transaction():
        world.users["suspended"].suspended_until = utcnow() + timedelta(days=1)
        world.users["silenced"].silenced_until = utcnow() + timedelta(days=1)

    crisis = posting.create_thread(
        world.owner, posting.get_board("small-wins"), title="Hard night", body="I want to kill myself tonight."
    )
    from forum.models import ReviewItem

    world.item_id = db.session.scalar(select(ReviewItem.id).where(ReviewItem.target_id == crisis.post.id)) or 0
    chat.ensure_board_rooms()
    world.room = chat.board_rooms()[0].key
    starts = utcnow() + timedelta(days=1)
    checkin = checkins.schedule(
        world.users["moderator"], title="Sunday check-in", area=None, starts_at=starts, length_minutes=60, capacity=8
    )
    world.checkin_id, world.checkin_room = checkin.id, checkin.room.key
    from forum.guides import all_guides

    world.guide = next(iter(all_guides()))
    return world


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    yield _build(app)


# --- asking -----------------------------------------------------------------------------------------------


def _path(rule: str, route: matrix.Route, world: World, role: str, state: str) -> str:
    values = {
        "slug": "small-wins",
        "username": OWNER,
        "key": world.room,
        "kind": "hug",
        "item_id": str(world.item_id),
        "checkin_id": str(world.checkin_id),
        "notification_id": str(2**31 - 1),
    }
    if route.target == "guide":
        values["slug"] = world.guide
    if route.target in ("post", "thread"):
        values["post_id"] = str(world.posts[role, state, route.variant])
        values["thread_id"] = str(world.threads[role, state])
    if route.target == "journal":
        values["entry_id"] = str(world.journal.get((role, state), world.journal["member", "another"]))
    if route.target == "homework":
        values["item_id"] = str(world.homework.get((role, state), world.homework["member", "another"]))
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], rule)


def _outcome(response: Any) -> str:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status == 401 or (status in (301, 302, 303) and "/login" in location):
        return LOGIN
    if status == 403 and b"Your account is suspended" in response.data:
        return LOGIN  # the session of someone suspended ended: a page says so (with the lines), not "sign in"
    if status == 403:
        return DENY
    if status == 404:
        return HIDE
    if status < 400 or status in (400, 409, 422):
        return OK
    return f"status {status}"


def _ask(world: World, method: str, rule: str, route: matrix.Route, role: str, state: str) -> str:
    client = world.clients[role]
    path = _path(rule, route, world, role, state)
    body = {
        key: _practice_guide() if value == "{practice_guide}" else value for key, value in (route.body or {}).items()
    }
    if path.startswith("/api/"):
        headers = bearer(world.tokens[role]) if role in world.tokens else {}
        response = client.open(path, method=method, json=body, headers=headers)
    else:
        response = client.open(path, method=method, data=body)
    return _outcome(response)


def _ordered_rows() -> list[tuple[tuple[str, str], matrix.Route]]:
    def rank(item: tuple[tuple[str, str], matrix.Route]) -> tuple[int, str]:
        (method, rule), _route = item
        if (method, rule) in LAST:
            return (4 + LAST.index((method, rule)), rule)
        if (method == "DELETE" and "/reactions/" not in rule) or rule.endswith("/delete"):
            return (3, rule)  # deleting goes after everything else that uses the same object
        if DESTRUCTIVE.search(rule):
            return (2, rule)
        return (0 if method == "GET" else 1, rule)

    return sorted(matrix.ROUTES.items(), key=rank)


def test_every_route_answers_every_role_and_state_as_the_matrix_says(app: Flask, world: World) -> None:
    mismatches = []
    asked = 0
    for (method, rule), route in _ordered_rows():
        for role in matrix.ROLES:
            for state in route.states:
                if state == "own" and role == "anonymous":
                    continue
                expected = route.policy(role, state)
                got = _ask(world, method, rule, route, role, state)
                asked += 1
                if got != expected:
                    mismatches.append(f"{method} {rule} as {role} on {state}: expected {expected}, got {got}")
    assert asked > 500
    assert mismatches == [], f"{len(mismatches)} answers differ from the matrix:\n" + "\n".join(mismatches)


# --- Socket.IO events -------------------------------------------------------------------------------------


def _event_payload(event: str, world: World, role: str, own_message: int | None, owners_message: int) -> Any:
    room = world.room
    message = own_message if own_message is not None else owners_message
    return {
        "join": {"room": room},
        "leave": {"room": room},
        "present": {"room": room},
        "send": {"room": room, "body": "Hello from the matrix.", "client_id": f"matrix-{role}"},
        "edit": {"room": room, "id": message, "body": "Edited in the matrix."},
        "delete": {"room": room, "id": message},
        "typing": {"room": room},
        "read": {"room": room, "last_id": owners_message},
        "mood": {"room": room, "word": "tired"},
        "remove": {"room": room, "id": owners_message, "reason": "matrix"},
        "mute": {"room": room, "user_id": world.users["other"].id, "minutes": 5},  # after "other" had its turn
        "slow_mode": {"room": room, "seconds": 10},
        "close": {"room": room},
        "advance": {"room": world.checkin_room, "state": "open"},
    }[event]


def _ack_outcome(ack: Any) -> str:
    if not isinstance(ack, dict):
        return f"no ack: {ack!r}"
    if ack.get("ok"):
        return OK
    code = ack.get("error", {}).get("code")
    return {"not_authenticated": LOGIN, "forbidden": DENY}.get(code, OK)


def test_every_socket_event_answers_every_role_as_the_matrix_says(app: Flask, world: World) -> None:
    from forum.services import chat

    mismatches = []
    # Send first (later events act on the message it made); deleting and room-wide staff actions last.
    order = sorted(
        matrix.EVENTS,
        key=lambda key: (
            key[1] != "send",
            key[1] in ("delete", "close", "advance", "slow_mode", "remove", "mute"),
            key,
        ),
    )
    for role in matrix.ROLES:
        owners = chat.send_message(world.owner, chat.get_room(world.room), body="Owner's words.", client_id=f"o-{role}")
        sockets = {}
        for namespace in ("/chat", "/moderation", "/notifications"):
            g.pop("_login_user", None)  # the test holds one app context open: no cached user from the last request
            sock = socketio.test_client(app, namespace=namespace, flask_test_client=world.clients[role])
            sockets[namespace] = sock
            got = OK if sock.is_connected(namespace) else LOGIN
            expected = matrix.EVENTS[namespace, "connect"](role, "-")
            expected = LOGIN if expected == DENY else expected  # a refused connect looks the same either way
            if got != expected:
                mismatches.append(f"connect {namespace} as {role}: expected {expected}, got {got}")
        chat_sock = sockets["/chat"]
        own_message = None
        for namespace, event in order:
            if event in ("connect", "disconnect") or namespace != "/chat":
                continue
            expected = matrix.EVENTS[namespace, event](role, "-")
            if not chat_sock.is_connected("/chat"):
                got = LOGIN
            else:
                ack = chat_sock.emit(
                    event,
                    _event_payload(event, world, role, own_message, owners.message.id),
                    namespace="/chat",
                    callback=True,
                )
                got = _ack_outcome(ack)
                if event == "send" and isinstance(ack, dict) and ack.get("ok"):
                    own_message = ack["message"]["id"]
            if got != expected:
                mismatches.append(f"{event} on /chat as {role}: expected {expected}, got {got}")
        for namespace, sock in sockets.items():
            if sock.is_connected(namespace):
                sock.disconnect(namespace=namespace)
        if role in ("moderator", "admin"):
            # The next role finds the room as it was: open, without slow mode.
            chat.reopen_room(world.users["moderator"], chat.get_room(world.room))
            chat.set_slow_mode(world.users["moderator"], chat.get_room(world.room), 0)
    assert mismatches == [], "\n".join(mismatches)
