"""Socket.IO: thin adapters that authenticate, call a service and emit after commit.

The functions here are the only way services reach live clients; they are called from
after-commit callbacks, never inside a transaction.

Some work must happen in every process that holds sockets, not only the one that made the change:
disconnecting a person who logged out, and delivering a message to a room minus the people who
blocked its author (each process knows only its own sids). That work travels as an "internal" emit
on a namespace no client can join; our client managers (below) intercept it, locally and from the
Redis queue alike, and run a handler in each process against that process's own sockets.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from typing import Any

import socketio as python_socketio

from forum.extensions import socketio
from forum.realtime.whole_frames import send_whole_frames

log = logging.getLogger(__name__)

CHAT_NAMESPACE = "/chat"
MODERATION_NAMESPACE = "/moderation"
NOTIFICATIONS_NAMESPACE = "/notifications"
# Never served to clients: the connect handler of an unregistered namespace refuses them.
INTERNAL_NAMESPACE = "/hearth-internal"
INTERNAL_EVENT = "internal"

InternalHandler = Callable[[Any, dict[str, Any]], None]
_INTERNAL_HANDLERS: dict[str, InternalHandler] = {}


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def alert_moderators(payload: dict[str, Any]) -> None:
    socketio.emit("alert", payload, namespace=MODERATION_NAMESPACE, to="moderators")


# --- the internal channel -----------------------------------------------------------------------


def on_internal(kind: str) -> Callable[[InternalHandler], InternalHandler]:
    def register(handler: InternalHandler) -> InternalHandler:
        _INTERNAL_HANDLERS[kind] = handler
        return handler

    return register


def broadcast_internal(kind: str, data: dict[str, Any]) -> None:
    """Run the `kind` handler in every process (this one included) with `data`."""
    server = getattr(socketio, "server", None)
    if server is None:
        return
    server.manager.emit(INTERNAL_EVENT, {"kind": kind, **data}, namespace=INTERNAL_NAMESPACE)


def _dispatch_internal(manager: Any, data: Any) -> None:
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    handler = _INTERNAL_HANDLERS.get(str(data.get("kind"))) if isinstance(data, dict) else None
    if handler is None:
        log.warning("unknown internal socket message: %r", data)
        return
    try:
        handler(manager, data)
    except Exception:
        log.exception("internal socket handler failed")


class Packet(python_socketio.packet.Packet):  # type: ignore[misc]
    """python-socketio's packet with a cheaper binary check (the same answer).

    Every emit and ack is checked for bytes to send as attachments. The library's check builds a list
    at every level and never stops early; on a join ack listing a thousand people present it cost more
    than encoding the JSON. This one walks the data once and stops at the first bytes it finds.
    """

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        pending = [data]
        while pending:
            item = pending.pop()
            if isinstance(item, dict):
                item = item.values()
            elif not isinstance(item, list):
                if isinstance(item, bytes):
                    return True
                continue
            for value in item:
                if type(value) in _PLAIN:
                    continue
                if isinstance(value, bytes):
                    return True
                if isinstance(value, list | dict):
                    pending.append(value)
        return False


_PLAIN = frozenset({str, int, float, bool, type(None)})


class SocketMiddleware:
    """The WSGI entry Flask-SocketIO installs, without three costs it adds to every socket.

    Under gunicorn, engine.io's middleware defines a class on every request (a wrapper that offers the
    socket to eventlet's driver, which we don't use), and Flask-SocketIO's copies the environ. A socket's
    request lasts as long as the socket, so each connected client kept both, about 4 KiB.

    And WebSocket compression is not offered back: browsers ask for permessage-deflate, and the server
    (simple-websocket) accepts whatever is asked, which gives every connection its own zlib compressor
    and decompressor for its whole life (a compressor alone reserves about 256 KiB) and compresses each
    delivery once per recipient. Chat frames are small; memory per idle client is the scarcer resource.
    Without the request header the handshake completes without the extension, as the protocol allows.

    It also makes a WebSocket's frames leave whole (forum.realtime.whole_frames).
    """

    def __init__(self, installed: Any) -> None:
        self.flask_app = installed.flask_app
        self.engineio_app = installed.engineio_app
        self.engineio_path: str = installed.engineio_path
        self.wsgi_app = installed.wsgi_app  # Flask's own; flask_socketio.run may wrap it with the debugger

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (environ.get("PATH_INFO") or "").startswith(self.engineio_path):
            environ["flask.app"] = self.flask_app
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
            send_whole_frames(environ)
            return self.engineio_app.handle_request(environ, start_response)
        return self.wsgi_app(environ, start_response)


def forget_closed_sockets(server: python_socketio.Server) -> None:
    """Drop each Engine.IO socket from the server's table as soon as it disconnects.

    engine.io removes a WebSocket's entry when its request returns, but under gunicorn and werkzeug
    simple-websocket ends that request by raising (StopIteration, ConnectionError), which skips the
    removal. The entry then waited for engine.io's monitor, which visits one socket per ping_timeout /
    len(sockets) seconds: a thousand people reconnecting left a thousand dead sockets (with their queues
    and greenlets) for up to two passes of 20 s, so each reconnect round cost more than the one before
    in memory, garbage collection and monitor wake-ups. A closed socket is never looked up again:
    engine.io treats a missing sid and a closed one alike, and removes entries with pop or guarded del.
    """
    eio = server.eio
    on_disconnect = eio.handlers["disconnect"]

    def disconnect(eio_sid: str, *args: Any) -> Any:
        try:
            return on_disconnect(eio_sid, *args)
        finally:
            eio.sockets.pop(eio_sid, None)

    eio.on("disconnect", disconnect)


class RoomIndex:
    """The rooms each socket is in, kept beside the client manager's map of rooms to sockets.

    python-socketio finds a socket's rooms (at disconnect, and for `rooms()`) by testing every room in
    the namespace, and every socket has a room of its own and its person's: with n sockets connected a
    disconnect cost O(n), and n people dropping at once O(n^2). With this index each is a lookup.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._socket_rooms: dict[tuple[str, str], set[str | None]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: str | None, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._socket_rooms.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: str | None) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        held = self._socket_rooms.get((namespace, sid))
        if held is not None:
            held.discard(room)
            if not held:
                del self._socket_rooms[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **_kwargs: Any) -> None:
        """What the library's basic_disconnect does, with the socket's rooms looked up instead of searched."""
        for room in self._socket_rooms.pop((namespace, sid), set()):
            super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        manager: Any = self
        manager.callbacks.pop(sid, None)
        for pending in (manager.pending_connect, manager.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting is not None and sid in waiting:
                waiting.remove(sid)
                if not waiting:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[str]:
        return [room for room in self._socket_rooms.get((namespace, sid), ()) if room is not None]


class LocalManager(RoomIndex, python_socketio.Manager):  # type: ignore[misc]
    """One process: the in-memory manager, plus the internal channel."""

    def emit(self, event: str, data: Any, namespace: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if namespace == INTERNAL_NAMESPACE:
            return _dispatch_internal(self, data)
        return super().emit(event, data, namespace, *args, **kwargs)


class QueueManager(RoomIndex, python_socketio.RedisManager):  # type: ignore[misc]
    """Several processes on one Redis queue: internal messages reach every process's handler."""

    def _handle_emit(self, message: dict[str, Any]) -> Any:
        # Called for our own emits and for those read from the queue.
        if message.get("namespace") == INTERNAL_NAMESPACE:
            return _dispatch_internal(self, message.get("data"))
        return super()._handle_emit(message)


def client_manager(redis_url: str | None) -> python_socketio.Manager:
    if redis_url:
        return QueueManager(redis_url, channel=queue_channel(redis_url))
    return LocalManager()


def queue_channel(redis_url: str) -> str:
    """The pub/sub channel of one deployment: one per Redis database number.

    Redis pub/sub ignores database numbers, so two forums on one Redis (staging next to production,
    two test runs) sharing a fixed channel would deliver each other's messages to rooms that happen
    to have the same names. The database number already tells the deployments apart for the
    rate-limit counters; the channel follows it.
    """
    from urllib.parse import urlparse

    parsed = urlparse(redis_url)
    number = parsed.path.strip("/") or "0"
    if parsed.query:
        number = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part).get("db", number)
    return f"hearth-socketio-db{number}"


# --- helpers every process runs against its own sockets -----------------------------------------


def local_sids(user_id: int, namespace: str, manager: Any = None) -> list[str]:
    manager = manager or socketio.server.manager
    return [sid for sid, _eio_sid in manager.get_participants(namespace, user_room(user_id))]


def disconnect_user(user_id: int) -> None:
    """Close every socket this person has open, in every process.

    Called after logout, password change, suspension and a change of role. Handlers also re-check the session
    version on every event, so even a socket that missed this message cannot act on a dead session.
    """
    broadcast_internal("disconnect_user", {"user_id": user_id})


@on_internal("disconnect_user")
def _disconnect_local(manager: Any, data: dict[str, Any]) -> None:
    server = manager.server
    for namespace in (CHAT_NAMESPACE, MODERATION_NAMESPACE, NOTIFICATIONS_NAMESPACE):
        for sid in local_sids(int(data["user_id"]), namespace, manager):
            server.disconnect(sid, namespace=namespace, ignore_queue=True)


# Where a socket opened with an API token keeps the token's hash (in its connection's environ).
TOKEN_HASH_KEY = "hearth.token_hash"  # noqa: S105  (an environ key, not a secret)


def disconnect_token(user_id: int, digest: str) -> None:
    """Close every socket opened with this token (by its hash), in every process: after it is revoked."""
    broadcast_internal("disconnect_token", {"user_id": user_id, "token_hash": digest})


@on_internal("disconnect_token")
def _disconnect_token_local(manager: Any, data: dict[str, Any]) -> None:
    server = manager.server
    digest = str(data["token_hash"])
    for namespace in (CHAT_NAMESPACE, MODERATION_NAMESPACE, NOTIFICATIONS_NAMESPACE):
        for sid in local_sids(int(data["user_id"]), namespace, manager):
            environ = server.get_environ(sid, namespace=namespace) or {}
            if hmac.compare_digest(str(environ.get(TOKEN_HASH_KEY, "")), digest):
                server.disconnect(sid, namespace=namespace, ignore_queue=True)


def deliver(
    event: str,
    payload: dict[str, Any],
    *,
    room: str,
    namespace: str = CHAT_NAMESPACE,
    hidden_from: Iterable[int] = (),
    skip_sid: str | None = None,
) -> None:
    """Emit to a room, except to the sockets of the people in `hidden_from` (blocks, mutes)."""
    hidden = sorted(set(hidden_from))
    if not hidden:
        socketio.emit(event, payload, namespace=namespace, to=room, skip_sid=skip_sid)
        return
    broadcast_internal(
        "deliver",
        {"event": event, "payload": payload, "room": room, "namespace": namespace, "hidden": hidden, "skip": skip_sid},
    )


@on_internal("deliver")
def _deliver_local(manager: Any, data: dict[str, Any]) -> None:
    namespace = data["namespace"]
    skip = {sid for user_id in data["hidden"] for sid in local_sids(int(user_id), namespace, manager)}
    if data.get("skip"):
        skip.add(data["skip"])
    # The base class's emit sends to this process's sockets only: every process does its own part.
    python_socketio.Manager.emit(
        manager, data["event"], data["payload"], namespace, room=data["room"], skip_sid=list(skip)
    )


def emit_to_user(user_id: int, event: str, payload: dict[str, Any], *, namespace: str = CHAT_NAMESPACE) -> None:
    socketio.emit(event, payload, namespace=namespace, to=user_room(user_id))
