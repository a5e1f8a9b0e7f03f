"""Why a chat action was refused, each with its own code: clients show a different thing for each."""

from __future__ import annotations

from forum.services.errors import Forbidden, ServiceError


class RoomClosed(Forbidden):
    code = "room_closed"


class RoomNotOpen(Forbidden):
    code = "room_not_open"


class RoomFull(Forbidden):
    code = "room_full"


class Muted(Forbidden):
    code = "muted"


class SlowMode(ServiceError):
    status = 429
    code = "slow_mode"
