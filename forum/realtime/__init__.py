"""Socket.IO: thin adapters that authenticate, call a service and emit after commit.

The functions here are the only way services reach live clients; they are called from
after-commit callbacks, never inside a transaction.
"""

from __future__ import annotations

from typing import Any

from forum.extensions import socketio

CHAT_NAMESPACE = "/chat"
MODERATION_NAMESPACE = "/moderation"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def alert_moderators(payload: dict[str, Any]) -> None:
    socketio.emit("alert", payload, namespace=MODERATION_NAMESPACE, to="moderators")


def disconnect_user(user_id: int) -> None:
    """Close every socket this person has open in this process.

    Called after logout, password change and suspension. Handlers also re-check the session
    version on every event, so a socket in another process cannot act on a dead session.
    """
    server = getattr(socketio, "server", None)
    if server is None:
        return
    for namespace in (CHAT_NAMESPACE, MODERATION_NAMESPACE):
        for sid in local_sids(user_id, namespace):
            server.disconnect(sid, namespace=namespace)


def local_sids(user_id: int, namespace: str) -> list[str]:
    server = socketio.server
    try:
        return [sid for sid, _eio_sid in server.manager.get_participants(namespace, user_room(user_id))]
    except KeyError:  # nobody of that room or namespace is connected here
        return []
