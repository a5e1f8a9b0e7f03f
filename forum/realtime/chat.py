"""The /chat namespace: authenticate at connect, re-check on every event, call the chat services.

Protocol (other clients and the tests rely on it):
  client join {room, after}            -> ack {ok, room, history, present, present_count, present_more, retracted,
                                               looking_in}
                                          (retracted: [{id, by}] among messages up to `after`;
                                          present: the first page of who is here [{id, username}] in id
                                          order, present_count: how many are here in all, present_more:
                                          whether more follow; rooms up to 100 people fit on one page;
                                          looking_in: someone without a place in a running check-in, who
                                          is sent its state and places but none of its talk or presence,
                                          and takes no place: taking part (a saved place, a message, a
                                          mood) and joining again lets them in)
  client connect, auth {places: [id]}  -> server places_now {places: [{id, room, state, capacity, taken, mine}]}
                                          (a page showing check-ins' places names them as it connects;
                                          it is told them as they are now, then hears `places` {id, room,
                                          state, capacity, taken} on every change; at most 100)
  client present {room, after}         -> ack {ok, present, present_count, more}
                                          (the next page: people with an id above `after`, the last id
                                          seen; only for a socket that has joined the room)
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
  server message, edited, retracted {id, room, by}, presence, typing, support, room, checkin, muted, places

Presence is kept per process (who has a socket in a room here) and, with several processes behind a
Redis queue, shared through Redis (forum.realtime.cluster), so every process lists the whole room.
People hidden from a viewer (blocked either way, or muted by the viewer) are neither listed nor counted
for them. Joins and leaves are announced live (`presence`) only in rooms of up to 100 people; in bigger
rooms a client shows the count and pages through `present` when someone asks to see everyone.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, request
from flask_socketio import SocketIO, emit, join_room, leave_room, rooms

from forum import permissions
from forum.database import restart_for_reading
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


class _RoomPresence:
    """One room on this process: each person's sockets here, their name, and their ids in order (for pages)."""

    __slots__ = ("ids", "names", "sids")

    def __init__(self) -> None:
        self.sids: dict[int, set[str]] = {}
        self.names: dict[int, str] = {}
        self.ids: list[int] = []


class Presence:
    """Who has a socket in which room: this process's sockets, plus (with a Redis queue) every other
    live process's, shared through forum.realtime.cluster."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._share_lock = threading.Lock()
        self._rooms: dict[str, _RoomPresence] = {}
        self._sid_rooms: dict[str, set[str]] = {}

    def add(self, room: str, user_id: int, username: str, sid: str) -> bool:
        """Returns True when this is the person's first socket in the room anywhere (a visible join)."""
        with self._lock:
            here = self._rooms.get(room)
            if here is None:
                here = self._rooms[room] = _RoomPresence()
            first = user_id not in here.sids
            here.sids.setdefault(user_id, set()).add(sid)
            here.names[user_id] = username
            if first:
                insort(here.ids, user_id)
            self._sid_rooms.setdefault(sid, set()).add(room)
        if not first:
            return False
        self._share(room, user_id)
        return not self._present_elsewhere(room, user_id)

    def remove(self, room: str, user_id: int, sid: str) -> bool:
        """Returns True when the person's last socket anywhere left the room (a visible leave)."""
        with self._lock:
            rooms = self._sid_rooms.get(sid)
            if rooms is not None:
                rooms.discard(room)
                if not rooms:
                    del self._sid_rooms[sid]
            here = self._rooms.get(room)
            sids = here.sids.get(user_id) if here is not None else None
            if here is None or sids is None:
                return False
            sids.discard(sid)
            if sids:
                return False
            del here.sids[user_id]
            del here.names[user_id]
            del here.ids[bisect_left(here.ids, user_id)]
            if not here.sids:
                del self._rooms[room]
        self._share(room, user_id)
        return not self._present_elsewhere(room, user_id)

    def rooms_of(self, sid: str) -> list[str]:
        with self._lock:
            return sorted(self._sid_rooms.pop(sid, set()))

    def holds(self, room: str, sid: str) -> bool:
        """Whether socket `sid` has joined `room` (and not left it)."""
        with self._lock:
            return room in self._sid_rooms.get(sid, ())

    def count(self, room: str) -> int:
        with self._lock:
            here = self._rooms.get(room)
            return len(here.ids) if here is not None else 0

    def page(self, room: str, *, after: int, limit: int, hidden: set[int]) -> PresentPage:
        """People in `room` with an id above `after`, in id order, at most `limit`, none of `hidden`.

        A page, not the whole list: a crowded room would otherwise send each joiner everyone, and a
        thousand people rejoining at once would cost a million entries. The count covers everyone the
        viewer may see, so a client can say how many are here and page through the rest.
        """
        elsewhere = self._elsewhere(room)
        with self._lock:
            here = self._rooms.get(room) or _RoomPresence()
            names, ids = here.names, here.ids
            if elsewhere:
                names = elsewhere | here.names
                ids = sorted(names)
            return _page_of(ids, names, after=after, limit=limit, hidden=hidden)

    def _share(self, room: str, user_id: int) -> None:
        mirror = presence_mirror()
        if mirror is None:
            return
        # What is written is the person's state when it is written, read under the same lock as every other
        # write: a join and a leave racing each other can't leave Redis with the one that happened first.
        with self._share_lock:
            with self._lock:
                here = self._rooms.get(room)
                username = here.names.get(user_id) if here is not None else None
            mirror.share(room, user_id, username, room_empty=here is None)

    def _elsewhere(self, room: str) -> dict[int, str]:
        mirror = presence_mirror()
        return mirror.elsewhere(room) if mirror is not None else {}

    def _present_elsewhere(self, room: str, user_id: int) -> bool:
        mirror = presence_mirror()
        return mirror.is_elsewhere(room, user_id) if mirror is not None else False


@dataclass(frozen=True, slots=True)
class PresentPage:
    people: list[dict[str, Any]]
    count: int  # everyone present that the viewer may see, on every page
    more: bool  # people with higher ids follow


def _page_of(ids: list[int], names: dict[int, str], *, after: int, limit: int, hidden: set[int]) -> PresentPage:
    count = len(ids) - sum(1 for user_id in hidden if user_id in names)
    people: list[dict[str, Any]] = []
    for index in range(bisect_right(ids, after), len(ids)):
        user_id = ids[index]
        if user_id in hidden:
            continue
        if len(people) == limit:
            return PresentPage(people, count, more=True)
        people.append({"id": user_id, "username": names[user_id]})
    return PresentPage(people, count, more=False)


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
    if isinstance(auth, dict) and "places" in auth:
        _watch_places(user, auth["places"])
    return True


def _watch_places(user: User, ids: object) -> None:
    """A page showing check-ins (the list, a check-in's page) hears their places live from now on. Asked for
    wrongly, it is not told them, and chats all the same."""
    try:
        watched = checkins.watchable(ids)
    except ServiceError:
        return
    # Listen before reading, as a join does: a change committed in between then arrives live.
    for checkin_id in watched:
        join_room(chat.places_room(checkin_id))
    _new_snapshot()
    emit("places_now", {"places": checkins.watched_places(user, watched)})


def _disconnect(*_reason: Any) -> None:
    stored = request.environ.get(_USER_KEY)
    if not stored:
        return
    user_id = stored[0]
    for room in presence.rooms_of(request.sid):  # type: ignore[attr-defined]
        if presence.remove(room, user_id, request.sid):  # type: ignore[attr-defined]
            _announce_presence(room, user_id, "", "leave")


# Above this many people, joins and leaves are not announced one by one: in a crowded room they are noise,
# and announcing each of N arrivals to everyone costs N^2 deliveries.
PRESENCE_ANNOUNCE_MAX = 100
# How many people a join ack (and each `present` page) lists; the app's CHAT_PRESENT_PAGE overrides it.
# The same as the announce cap: in a room small enough to announce every arrival, a joiner sees everyone.
PRESENT_PAGE = PRESENCE_ANNOUNCE_MAX


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


def _new_snapshot() -> None:
    """Start a new read transaction: on SQLite the event's first read fixed a snapshot from before the join,
    and a message committed in between would then be neither in that snapshot's history nor delivered live.

    Restarted in place on the same connection: nothing has been written in this transaction (services
    write in their own), so ending it loses nothing, and the rows already loaded (the person, the room)
    stay loaded. A session rollback would expire them, return the connection to the pool and take it
    back, about 0.4 ms a join, which a thousand clients reconnecting at once all pay. PostgreSQL reads
    at read committed: every statement already sees what was committed before it started.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        restart_for_reading(connection)


@_event
def _join(user: User, data: dict[str, Any]) -> dict[str, Any]:
    room = _room(data)
    target = chat.socket_room(room)
    subscribed = []

    def subscribe() -> None:
        # Join before reading history: a message committed in between then arrives live (clients drop
        # duplicates by id) instead of falling into the gap between the history read and the join. Only
        # someone shown the talk joins: a person looking in on a check-in must hear none of it.
        join_room(target)
        subscribed.append(target)
        _new_snapshot()

    try:
        entry = chat.enter_room(user, room, after=data.get("after"), before_reading=subscribe)
    except Exception:
        if subscribed:
            leave_room(target)
        raise
    if entry.looking_in:
        return _looking_in(user, entry)
    if presence.add(target, user.id, user.username, request.sid):  # type: ignore[attr-defined]
        _announce_presence(target, user.id, user.username, "join")
    present = presence.page(target, after=0, limit=_present_page(), hidden=permissions.hidden_author_ids(user))
    state = chat.room_state(room)
    state["last_read_id"] = entry.last_read_id
    state["has_more"] = entry.has_more
    state["checkin"] = checkins.checkin_state(entry.checkin) if entry.checkin is not None else None
    state["can_moderate"] = permissions.can_moderate_chat(user)
    return {
        "ok": True,
        "room": state,
        "history": entry.history,
        "present": present.people,
        "present_count": present.count,
        "present_more": present.more,
        "retracted": entry.retracted,
        "looking_in": False,
    }


def _looking_in(user: User, entry: chat.RoomEntry) -> dict[str, Any]:
    """A join's answer to someone without a place in a running check-in: its state and places, and nothing
    of what is said there or who is present (the people in a check-in share with each other, not onlookers)."""
    assert entry.checkin is not None
    state = chat.room_state(entry.room)
    state.update(last_read_id=0, has_more=False, can_moderate=permissions.can_moderate_chat(user))
    state["checkin"] = checkins.public_state(entry.checkin)
    return {
        "ok": True,
        "room": state,
        "history": [],
        "present": [],
        "present_count": 0,
        "present_more": False,
        "retracted": [],
        "looking_in": True,
    }


def _present_page() -> int:
    return int(current_app.config.get("CHAT_PRESENT_PAGE", PRESENT_PAGE))


@_event
def _present(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """The next page of who is here, for a socket that has joined the room (no query: presence is in memory)."""
    key, after = data.get("room"), data.get("after") or 0
    if not isinstance(key, str) or not presence.holds(chat.socket_room(key), request.sid):  # type: ignore[attr-defined]
        raise invalid("room", "Join the room first.")
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise invalid("after", "Must be a person's id (a whole number).")
    page = presence.page(
        chat.socket_room(key), after=after, limit=_present_page(), hidden=permissions.hidden_author_ids(user)
    )
    return {"ok": True, "present": page.people, "present_count": page.count, "more": page.more}


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
    # By key: the service reads the room with the sender's state in one statement.
    outcome = chat.send_to_room(
        user, data.get("room"), body=data.get("body"), client_id=data.get("client_id"), remote_addr=_client_address()
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
    """ "Typing..." from a socket in the room's talk: not from someone looking in on a check-in, nor from a
    room the socket never joined, where it would tell people of someone they cannot see."""
    room = _room(data)
    target = chat.socket_room(room)
    if not presence.holds(target, request.sid):  # type: ignore[attr-defined]
        raise invalid("room", "Join the room first.")
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
    "present": _present,
}


def register(socketio: SocketIO) -> None:
    socketio.on("connect", namespace=CHAT_NAMESPACE)(_connect)
    socketio.on("disconnect", namespace=CHAT_NAMESPACE)(_disconnect)
    for name, handler in EVENTS.items():
        socketio.on(name, namespace=CHAT_NAMESPACE)(handler)
