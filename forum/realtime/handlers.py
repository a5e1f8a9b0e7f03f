"""Registers every Socket.IO namespace. Each module defines register(socketio)."""

from __future__ import annotations

import importlib

from flask_socketio import SocketIO

MODULES = (
    "forum.realtime.moderation",
    "forum.realtime.chat",
    "forum.realtime.notifications",
)


def register_handlers(socketio: SocketIO) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue  # a namespace not written yet in this checkout
        module.register(socketio)
