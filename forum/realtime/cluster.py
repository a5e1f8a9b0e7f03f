"""What several server processes must share beyond the message queue: who is in which room.

Each process knows only its own sockets. With a Redis queue, each process also keeps its part of every
room's presence in Redis: a hash per room and process (user id -> name), and a set per room of the
processes with someone in it. A join or a leave writes one field, whatever the size of the room; asking
whether a person is here elsewhere, or who is, is one script run in Redis. (Before, each change rewrote
the process's whole list for the room as JSON and each join read and parsed every list twice; bench/
bench_presence.py measures a storm of joins, and the README's speed section has the figures.)

A process proves it is alive with a key that expires: a process killed without warning (SIGKILL, a lost
machine) drops out of every room within PROCESS_TTL seconds, and the first reader after that removes its
part. Without Redis (one process) there is nothing to share and presence_mirror() returns None.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import redis

log = logging.getLogger(__name__)

PROCESS_TTL = 15  # seconds a process counts as alive after its last heartbeat
_ROOM_PROCESSES = "hearth:room-processes:"  # + room: set of process ids with someone in the room
_ROOM_PEOPLE = "hearth:room-people:"  # + room + ":" + process id: hash of user id -> username
_ALIVE = "hearth:process:"  # + process id: "1", expiring PROCESS_TTL seconds after the last heartbeat
# Earlier releases kept a room's presence as JSON lists under this prefix, with no expiry: usernames and
# the rooms they were in, left behind by every process that ever ran. Each process clears them once.
_RETIRED_PREFIX = "hearth:presence:"

# The other live processes' part of a room, read in Redis in one round trip (a join asks twice: is this
# person here elsewhere, and who is). A process whose heartbeat key has expired is dropped from the room
# as it is met. KEYS[1]: the room's set of processes; ARGV: this process, a user id to look for (or "" for
# everyone: then the reply is user id, name, user id, name...), the room's people-key prefix, the heartbeat
# key prefix. The people and heartbeat keys are built in the script, which a single Redis (not a Redis
# Cluster) allows.
_ELSEWHERE = """
local found = {}
for _, pid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if pid ~= ARGV[1] then
    local people = ARGV[3] .. pid
    if redis.call('EXISTS', ARGV[4] .. pid) == 0 then
      redis.call('SREM', KEYS[1], pid)
      redis.call('DEL', people)
    elseif ARGV[2] ~= '' then
      if redis.call('HEXISTS', people, ARGV[2]) == 1 then
        return 1
      end
    else
      local part = redis.call('HGETALL', people)
      for i = 1, #part do
        found[#found + 1] = part[i]
      end
    end
  end
end
if ARGV[2] ~= '' then
  return 0
end
return found
"""


class PresenceMirror:
    """This process's part of each room's presence, kept in Redis, and the other live processes' parts.

    Presence is a courtesy: when Redis fails, a change is logged and dropped and a read finds nobody
    elsewhere; chat goes on.
    """

    def __init__(self, redis_url: str, *, run_in_background: Callable[[Callable[[], None]], object]) -> None:
        self.redis_url = redis_url
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
        self._elsewhere_script = self.redis.register_script(_ELSEWHERE)
        self.process_id = uuid.uuid4().hex
        self._run_in_background = run_in_background
        self._heartbeat_started = False
        self._lock = threading.Lock()

    def share(self, room: str, user_id: int, username: str | None, *, room_empty: bool) -> None:
        """Write whether the person has a socket in `room` on this process: their name when they do, None
        when not; `room_empty` says this process has nobody left there."""
        self._ensure_heartbeat()
        people = _people_key(room, self.process_id)
        try:
            pipe = self.redis.pipeline(transaction=False)
            if username is not None:
                pipe.sadd(_ROOM_PROCESSES + room, self.process_id)
                pipe.hset(people, str(user_id), username)
            else:
                pipe.hdel(people, str(user_id))
                if room_empty:
                    pipe.srem(_ROOM_PROCESSES + room, self.process_id)
            pipe.execute()
        except redis.RedisError:
            log.exception("could not share presence for %s", room)

    def is_elsewhere(self, room: str, user_id: int) -> bool:
        """Whether another live process has a socket of this person in `room`."""
        try:
            return bool(self._read_elsewhere(room, str(user_id)))
        except redis.RedisError:
            log.exception("could not read shared presence for %s", room)
            return False

    def elsewhere(self, room: str) -> dict[int, str]:
        """user id -> name of the people other live processes have in `room`."""
        try:
            flat = self._read_elsewhere(room, "")
        except redis.RedisError:
            log.exception("could not read shared presence for %s", room)
            return {}
        return {int(user_id): name for user_id, name in zip(flat[::2], flat[1::2], strict=True)}

    def _read_elsewhere(self, room: str, user_id: str) -> Any:
        return self._elsewhere_script(
            keys=[_ROOM_PROCESSES + room],
            args=[self.process_id, user_id, f"{_ROOM_PEOPLE}{room}:", _ALIVE],
        )

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat_started:
                return
            self._heartbeat_started = True
        self._beat()
        self._clear_retired_keys()
        self._run_in_background(self._keep_beating)

    def _clear_retired_keys(self) -> None:
        try:
            for key in self.redis.scan_iter(match=_RETIRED_PREFIX + "*", count=500):
                self.redis.delete(key)
        except redis.RedisError:
            log.exception("could not clear presence kept by earlier releases")

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


def _people_key(room: str, process_id: str) -> str:
    return f"{_ROOM_PEOPLE}{room}:{process_id}"


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
            _mirror = PresenceMirror(redis_url, run_in_background=socketio.start_background_task)
        return _mirror
