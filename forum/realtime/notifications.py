"""The /notifications namespace: each signed-in page joins it and hears its own unread count change."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import SocketIO, emit, join_room

from forum.extensions import socketio as _socketio
from forum.realtime import NOTIFICATIONS_NAMESPACE, user_room
from forum.realtime.auth import socket_user


def emit_unread(user_id: int, count: int) -> None:
    """Called after a commit: every open page of this person shows the new count."""
    _socketio.emit("unread", {"count": count}, namespace=NOTIFICATIONS_NAMESPACE, to=user_room(user_id))


def register(socketio: SocketIO) -> None:
    @socketio.on("connect", namespace=NOTIFICATIONS_NAMESPACE)
    def connect(auth: Any = None) -> bool:
        user = socket_user(auth)
        if user is None:
            return False  # anonymous sockets have nothing to hear
        join_room(user_room(user.id), namespace=NOTIFICATIONS_NAMESPACE)
        request.environ["hearth.user"] = (user.id, user.session_version)
        from forum.services.notifications import unread_count

        # The count as of now, so a page that loaded before the socket connected is not stale.
        emit("unread", {"count": unread_count(user)})
        return True
