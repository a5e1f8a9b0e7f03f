"""What several server processes must share beyond the message queue: who is in which room.

Each process knows only its own sockets. With a Redis queue, each process also writes its part of
every room's presence to Redis (one hash per room, one field per process), and lists a room by
reading every live process's part. A process proves it is alive with a key that expires: a process
killed without warning (SIGKILL, a lost machine) drops out of every room within PROCESS_TTL seconds,
and the first reader after that removes its stale fields.

Without Redis (one process) there is nothing to share and presence_mirror() returns None.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

import redis

log = logging.getLogger(__name__)

PROCESS_TTL = 15  # seconds a process counts as alive after its last heartbeat
_PREFIX = "hearth:presence:"
_ALIVE = "hearth:process:"

Person = dict[str, Any]


class PresenceMirror:
    """This process's part of each room's presence, kept in Redis, and the union of all live parts."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.process_id = uuid.uuid4().hex
        self._heartbeat_started = False
        self._lock = threading.Lock()

    def publish(self, room: str, people: list[Person]) -> None:
        """Replace this process's part of `room` with `people` (an empty list removes it)."""
        self._ensure_heartbeat()
        key = _PREFIX + room
        try:
            if people:
                self.redis.hset(key, self.process_id, json.dumps(people))
            else:
                self.redis.hdel(key, self.process_id)
        except redis.RedisError:
            log.exception("could not share presence for %s", room)

    def elsewhere(self, room: str) -> list[Person]:
        """The people other live processes have in `room`."""
        key = _PREFIX + room
        try:
            parts = {_text(field): value for field, value in self.redis.hgetall(key).items()}
            others = [pid for pid in parts if pid != self.process_id]
            if not others:
                return []
            alive = self.redis.mget([_ALIVE + pid for pid in others])
            dead = [pid for pid, beat in zip(others, alive) if beat is None]
            if dead:
                self.redis.hdel(key, *dead)
        except redis.RedisError:
            log.exception("could not read shared presence for %s", room)
            return []
        people: list[Person] = []
        for pid, beat in zip(others, alive):
            if beat is not None:
                people.extend(json.loads(parts[pid]))
        return people

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat_started:
                return
            self._heartbeat_started = True
        self._beat()
        from forum.extensions import socketio

        socketio.start_background_task(self._keep_beating)

    def _beat(self) -> None:
        try:
            self.redis.set(_ALIVE + self.process_id, "1", ex=PROCESS_TTL)
        except redis.RedisError:
            log.exception("could not renew this process's presence heartbeat")

    def _keep_beating(self) -> None:
        from forum.extensions import socketio

        while True:
            socketio.sleep(PROCESS_TTL / 3)
            self._beat()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_mirror: PresenceMirror | None = None
_mirror_lock = threading.Lock()


def presence_mirror() -> PresenceMirror | None:
    """The shared presence of this deployment, or None when this process is the only one (no Redis queue)."""
    global _mirror
    from forum.extensions import socketio

    server = getattr(socketio, "server", None)
    redis_url = getattr(getattr(server, "manager", None), "redis_url", None)
    if not redis_url:
        return None
    with _mirror_lock:
        if _mirror is None or _mirror.redis_url != redis_url:
            _mirror = PresenceMirror(redis_url)
        return _mirror
