"""The /moderation namespace: moderators only; urgent review items are pushed here as `alert`."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room

from forum.realtime import MODERATION_NAMESPACE, user_room
from forum.realtime.auth import socket_user


def register(socketio: SocketIO) -> None:
    @socketio.on("connect", namespace=MODERATION_NAMESPACE)
    def connect(auth: Any = None) -> bool:
        user = socket_user(auth)
        if user is None or not user.is_moderator:
            return False  # refused: anonymous and non-moderator sockets never hear alerts
        join_room("moderators", namespace=MODERATION_NAMESPACE)
        join_room(user_room(user.id), namespace=MODERATION_NAMESPACE)
        request.environ["hearth.user"] = (user.id, user.session_version)
        return True


# --- emits (called from after-commit callbacks only) --------------------------------------------


def queue_changed(payload: dict[str, Any]) -> None:
    """Tell every open queue page that an item appeared or changed; pages re-fetch what they show."""
    from forum.extensions import socketio

    socketio.emit("queue_changed", payload, namespace=MODERATION_NAMESPACE, to="moderators")


def alert_admins(admin_ids: list[int], payload: dict[str, Any]) -> None:
    from forum.extensions import socketio

    for admin_id in admin_ids:
        socketio.emit("escalated", payload, namespace=MODERATION_NAMESPACE, to=user_room(admin_id))
