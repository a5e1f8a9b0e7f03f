"""The /chat namespace: authenticate at connect, re-check on every event, call the chat services.

Protocol (other clients and the tests rely on it):
  client join {room, after}            -> ack {ok, room, history, present, retracted}
                                          (retracted: [{id, by}] among messages up to `after`)
  client leave {room}                  -> ack {ok}
  client send {room, body, client_id}  -> ack {ok, message} | {ok: false, error: {code, message, ...}}
  client edit {room, id, body}         -> ack {ok, message}
  client delete {room, id}             -> ack {ok}
  client typing {room, typing}         (no ack needed)
  client read {room, last_id}          -> ack {ok, last_read_id}
  client mood {room, mood, word, client_id}       -> ack {ok, message}  (check-ins, in a round)
  host/moderator: advance {room, state}           -> ack {ok, checkin}
  moderators: remove {room, id, reason}, mute {room, user_id, minutes, reason},
              slow_mode {room, seconds}, close {room}  -> ack {ok}
  server message, edited, retracted {id, room, by}, presence, typing, support, room, checkin, muted

Presence is kept per process (who has a socket in a room here) and, with several processes behind a
Redis queue, shared through Redis (forum.realtime.cluster), so every process lists the whole room.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room, leave_room, rooms

from forum import permissions
from forum.extensions import db
from forum.models import User
from forum.realtime import CHAT_NAMESPACE, deliver, user_room
from forum.realtime.auth import socket_user, still_valid, token_still_valid
from forum.realtime.cluster import presence_mirror
from forum.services import chat, checkins
from forum.services.errors import NotAuthenticated, ServiceError, invalid

log = logging.getLogger(__name__)

# Our own key: the environ is shared by every namespace on one connection.
_USER_KEY = "hearth.chat_user"


class Presence:
    """Who has a socket in which room: this process's sockets, plus (with a Redis queue) every other
    live process's, shared through forum.realtime.cluster."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._share_lock = threading.Lock()
        self._rooms: dict[str, dict[int, set[str]]] = {}
        self._names: dict[int, str] = {}
        self._sid_rooms: dict[str, set[str]] = {}

    def add(self, room: str, user_id: int, username: str, sid: str) -> bool:
        """Returns True when this is the person's first socket in the room anywhere (a visible join)."""
        with self._lock:
            people = self._rooms.setdefault(room, {})
            first = user_id not in people
            people.setdefault(user_id, set()).add(sid)
            self._names[user_id] = username
            self._sid_rooms.setdefault(sid, set()).add(room)
        if not first:
            return False
        self._share(room)
        return not self._present_elsewhere(room, user_id)

    def remove(self, room: str, user_id: int, sid: str) -> bool:
        """Returns True when the person's last socket anywhere left the room (a visible leave)."""
        with self._lock:
            self._sid_rooms.get(sid, set()).discard(room)
            people = self._rooms.get(room, {})
            sids = people.get(user_id)
            if sids is None:
                return False
            sids.discard(sid)
            if sids:
                return False
            del people[user_id]
            if not people:
                self._rooms.pop(room, None)
        self._share(room)
        return not self._present_elsewhere(room, user_id)

    def rooms_of(self, sid: str) -> list[str]:
        with self._lock:
            return sorted(self._sid_rooms.pop(sid, set()))

    def count(self, room: str) -> int:
        with self._lock:
            return len(self._rooms.get(room, {}))

    def people(self, room: str) -> list[dict[str, Any]]:
        here = self._local_names(room)
        for person in self._elsewhere(room):
            here.setdefault(int(person["id"]), str(person["username"]))
        return [{"id": uid, "username": name} for uid, name in sorted(here.items())]

    def _local_names(self, room: str) -> dict[int, str]:
        with self._lock:
            names = self._names
            return {uid: names.get(uid, "") for uid in self._rooms.get(room, {})}

    def _local_people(self, room: str) -> list[dict[str, Any]]:
        return [{"id": uid, "username": name} for uid, name in sorted(self._local_names(room).items())]

    def _share(self, room: str) -> None:
        mirror = presence_mirror()
        if mirror is None:
            return
        # Read and write under one lock: two changes must not publish their lists in the wrong order.
        with self._share_lock:
            mirror.publish(room, self._local_people(room))

    def _elsewhere(self, room: str) -> list[dict[str, Any]]:
        mirror = presence_mirror()
        return mirror.elsewhere(room) if mirror is not None else []

    def _present_elsewhere(self, room: str, user_id: int) -> bool:
        return any(int(person["id"]) == user_id for person in self._elsewhere(room))


presence = Presence()


# --- adapter plumbing ------------------------------------------------------------------------------


def _error(error: ServiceError) -> dict[str, Any]:
    body = error.to_dict()
    body.setdefault("code", error.code)
    return {"ok": False, "error": body}


def _acting_user() -> User:
    """The person on this socket, re-checked now: a logout or suspension elsewhere ends their rights."""
    stored = request.environ.get(_USER_KEY)
    user = None
    if stored:
        user_id, version, token = stored
        user = token_still_valid(user_id, token) if token else still_valid(user_id, version)
    if user is None:
        _end_socket()
        raise NotAuthenticated("Your session has ended. Please sign in again.")
    return user


def _end_socket() -> None:
    """Stop all deliveries now, answer this event, then hang up (a disconnect first would swallow the answer)."""
    from forum.extensions import socketio

    sid = request.sid  # type: ignore[attr-defined]
    for room in rooms():
        if room != sid:
            leave_room(room)

    def hang_up() -> None:
        socketio.sleep(0.2)
        socketio.server.disconnect(sid, namespace=CHAT_NAMESPACE)

    socketio.start_background_task(hang_up)


def _event(handler: Callable[[User, dict[str, Any]], dict[str, Any] | None]) -> Callable[..., dict[str, Any] | None]:
    @wraps(handler)
    def wrapper(data: Any = None, *_ignored: Any) -> dict[str, Any] | None:
        try:
            user = _acting_user()
            if not isinstance(data, dict):
                raise invalid("data", "Send an object.")
            return handler(user, data)
        except ServiceError as error:
            return _error(error)
        except Exception:
            log.exception("chat event %s failed", handler.__name__)
            return {"ok": False, "error": {"code": "server_error", "message": "Something went wrong on our side."}}

    return wrapper


def _room(data: dict[str, Any]) -> Any:
    return chat.get_room(data.get("room"))


def _client_address() -> str | None:
    return request.remote_addr


# --- handlers --------------------------------------------------------------------------------------


def _connect(auth: Any = None) -> bool:
    user = socket_user(auth)
    if user is None:
        return False  # refused: anonymous sockets never join a room
    token = auth.get("token") if isinstance(auth, dict) else None
    request.environ[_USER_KEY] = (user.id, user.session_version, token if isinstance(token, str) else None)
    join_room(user_room(user.id))
    return True


def _disconnect(*_reason: Any) -> None:
    stored = request.environ.get(_USER_KEY)
    if not stored:
        return
    user_id = stored[0]
    for room in presence.rooms_of(request.sid):  # type: ignore[attr-defined]
        if presence.remove(room, user_id, request.sid):  # type: ignore[attr-defined]
            _announce_presence(room, user_id, "", "leave")


# Above this many people, joins and leaves are not announced one by one: in a crowded room they are noise,
# and announcing each of N arrivals to everyone costs N^2 deliveries. Joiners still get the full `present` list.
PRESENCE_ANNOUNCE_MAX = 100


def _announce_presence(target: str, user_id: int, username: str, action: str) -> None:
    if presence.count(target) > PRESENCE_ANNOUNCE_MAX:
        return
    key = target.removeprefix("chat:")
    payload = {"room": key, "user": {"id": user_id, "username": username}, "action": action}
    try:
        hidden = chat.hidden_from_author(user_id)
    except Exception:  # presence is a courtesy; a database hiccup must not break a disconnect
        log.exception("could not read blocks for presence")
        return
    deliver("presence", payload, room=target, hidden_from=hidden, skip_sid=request.sid)  # type: ignore[attr-defined]


def _new_snapshot(*keep: Any) -> None:
    """End the event's read transaction: on SQLite it holds a snapshot from before the join, and a message
    committed in between would then be neither in that snapshot's history nor delivered live.

    `keep` (the person and the room, read a moment ago in this event) stay loaded: a rollback would
    expire them and cost two more queries per join, which a thousand clients reconnecting at once pay.
    """
    for row in keep:
        db.session.expunge(row)
    db.session.rollback()
    for row in keep:
        db.session.add(row)


@_event
def _join(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = _room(data)
    target = chat.socket_room(room)
    # Join before reading history: a message committed in between then arrives live (clients drop
    # duplicates by id) instead of falling into the gap between the history read and the join.
    join_room(target)
    _new_snapshot(user, room)
    try:
        entry = chat.enter_room(user, room, after=data.get("after"))
    except Exception:
        leave_room(target)
        raise
    if presence.add(target, user.id, user.username, request.sid):  # type: ignore[attr-defined]
        _announce_presence(target, user.id, user.username, "join")
    hidden = permissions.hidden_author_ids(user)
    present = [person for person in presence.people(target) if person["id"] not in hidden]
    state = chat.room_state(room)
    state["last_read_id"] = entry.last_read_id
    state["has_more"] = entry.has_more
    state["checkin"] = checkins.checkin_state(entry.checkin) if entry.checkin is not None else None
    state["can_moderate"] = permissions.can_moderate_chat(user)
    return {
        "ok": True,
        "room": state,
        "history": [chat.message_payload(message) for message in entry.history],
        "present": present,
        "retracted": entry.retracted,
    }


@_event
def _leave(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = _room(data)
    target = chat.socket_room(room)
    leave_room(target)
    if presence.remove(target, user.id, request.sid):  # type: ignore[attr-defined]
        _announce_presence(target, user.id, user.username, "leave")
    return {"ok": True}


@_event
def _send(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = _room(data)
    outcome = chat.send_message(
        user, room, body=data.get("body"), client_id=data.get("client_id"), remote_addr=_client_address()
    )
    return {"ok": True, "message": outcome.payload, "created": outcome.created}


@_event
def _edit(user: User, data: dict[str, Any]) -> dict[str, Any]:
    message = chat.get_message(data.get("id"), _room(data))
    outcome = chat.edit_message(user, message, body=data.get("body"))
    return {"ok": True, "message": outcome.payload}


@_event
def _delete(user: User, data: dict[str, Any]) -> dict[str, Any]:
    chat.delete_message(user, chat.get_message(data.get("id"), _room(data)))
    return {"ok": True}


@_event
def _remove(user: User, data: dict[str, Any]) -> dict[str, Any]:
    chat.remove_message(user, chat.get_message(data.get("id"), _room(data)), reason=data.get("reason") or "")
    return {"ok": True}


@_event
def _mute(user: User, data: dict[str, Any]) -> dict[str, Any]:
    from forum.extensions import db

    room = _room(data)
    target_id = data.get("user_id")
    target = db.session.get(User, target_id) if isinstance(target_id, int) else None
    row = chat.mute(user, room, target, minutes=data.get("minutes"), reason=data.get("reason") or "")
    return {"ok": True, "until": row.until.isoformat()}


@_event
def _slow_mode(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = chat.set_slow_mode(user, _room(data), data.get("seconds"))
    return {"ok": True, "room": chat.room_state(room)}


@_event
def _close(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = chat.close_room(user, _room(data))
    return {"ok": True, "room": chat.room_state(room)}


@_event
def _typing(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = _room(data)
    target = chat.socket_room(room)
    payload = {"room": room.key, "user": {"id": user.id, "username": user.username}, "typing": bool(data.get("typing"))}
    deliver("typing", payload, room=target, hidden_from=chat.hidden_from_author(user.id), skip_sid=request.sid)  # type: ignore[attr-defined]
    return {"ok": True}


@_event
def _read(user: User, data: dict[str, Any]) -> dict[str, Any]:
    mark = chat.mark_read(user, _room(data), data.get("last_id"))
    return {"ok": True, "last_read_id": mark}


@_event
def _mood(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = _room(data)
    checkin = chat.checkin_for(room)
    if checkin is None:
        raise invalid("room", "Moods are shared in check-ins.")
    outcome = checkins.share_mood(
        user,
        checkin,
        mood=data.get("mood"),
        word=data.get("word"),
        client_id=data.get("client_id"),
        remote_addr=_client_address(),
    )
    return {"ok": True, "message": chat.message_payload(outcome.message), "created": outcome.created}


@_event
def _advance(user: User, data: dict[str, Any]) -> dict[str, Any]:
    checkin = chat.checkin_for(_room(data))
    if checkin is None:
        raise invalid("room", "Only check-ins have states.")
    checkins.advance(user, checkin, data.get("state"))
    return {"ok": True, "checkin": checkins.checkin_state(checkin)}


EVENTS: dict[str, Callable[..., Any]] = {
    "join": _join,
    "leave": _leave,
    "send": _send,
    "edit": _edit,
    "delete": _delete,
    "remove": _remove,
    "mute": _mute,
    "slow_mode": _slow_mode,
    "close": _close,
    "typing": _typing,
    "read": _read,
    "mood": _mood,
    "advance": _advance,
}


def register(socketio: SocketIO) -> None:
    socketio.on("connect", namespace=CHAT_NAMESPACE)(_connect)
    socketio.on("disconnect", namespace=CHAT_NAMESPACE)(_disconnect)
    for name, handler in EVENTS.items():
        socketio.on(name, namespace=CHAT_NAMESPACE)(handler)
