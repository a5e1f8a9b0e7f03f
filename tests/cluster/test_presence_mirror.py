"""Shared presence in Redis, with two mirrors standing for two server processes (the real Redis, no servers).

The two-process tests in test_cluster.py check presence end to end; these check what a storm of joins
depends on: each change writes one person, not the room; a dead process's part goes; Redis down is no
error to the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from forum.realtime.cluster import PresenceMirror
from tests.cluster.support import REDIS_URL, redis_or_skip

pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture
def store() -> Iterator[redis.Redis]:
    yield redis_or_skip()


@pytest.fixture
def room(store: redis.Redis) -> Iterator[str]:
    name = f"room-{uuid.uuid4().hex[:8]}"  # each test its own room: no flush, no interference
    yield name
    store.delete(f"hearth:room-processes:{name}", *store.keys(f"hearth:room-people:{name}:*"))


def _mirror(url: str = REDIS_URL) -> PresenceMirror:
    started: list[Callable[[], None]] = []
    return PresenceMirror(url, run_in_background=started.append)  # the heartbeat loop is not needed here


def test_each_process_sees_the_people_the_other_has_in_a_room_and_not_its_own(room: str) -> None:
    a, b = _mirror(), _mirror()
    a.share(room, 1, "ana", room_empty=False)
    b.share(room, 2, "ben", room_empty=False)
    b.share(room, 3, "cleo", room_empty=False)

    assert a.elsewhere(room) == {2: "ben", 3: "cleo"}
    assert b.elsewhere(room) == {1: "ana"}
    assert a.is_elsewhere(room, 2) and not a.is_elsewhere(room, 1)
    assert b.is_elsewhere(room, 1) and not b.is_elsewhere(room, 3)


def test_a_leave_removes_only_that_person_and_the_last_leave_removes_the_process_from_the_room(
    room: str, store: redis.Redis
) -> None:
    a, b = _mirror(), _mirror()
    b.share(room, 2, "ben", room_empty=False)
    b.share(room, 3, "cleo", room_empty=False)

    b.share(room, 2, None, room_empty=False)
    assert a.elsewhere(room) == {3: "cleo"}
    assert not a.is_elsewhere(room, 2)

    b.share(room, 3, None, room_empty=True)
    assert a.elsewhere(room) == {}
    assert store.smembers(f"hearth:room-processes:{room}") == set()


def test_a_join_writes_one_person_however_many_are_already_in_the_room(room: str, store: redis.Redis) -> None:
    a = _mirror()
    for user_id in range(1, 501):
        a.share(room, user_id, f"person{user_id}", room_empty=False)

    sent = _commands_sent(a, lambda: a.share(room, 501, "person501", room_empty=False))

    assert sent == [
        ["SADD", f"hearth:room-processes:{room}", a.process_id],
        ["HSET", f"hearth:room-people:{room}:{a.process_id}", "501", "person501"],
    ]
    assert store.hlen(f"hearth:room-people:{room}:{a.process_id}") == 501


def _commands_sent(mirror: PresenceMirror, action: Callable[[], None]) -> list[list[str]]:
    """The commands the mirror's connection sent while `action` ran, as Redis's MONITOR saw them (other
    clients of the same Redis, such as another test's server, are left out by their address)."""
    address = mirror.redis.client_info()["addr"]
    with redis.Redis.from_url(REDIS_URL).monitor() as monitor:
        action()
        mirror.redis.echo("end of action")
        sent: list[list[str]] = []
        while True:
            seen = monitor.next_command()
            if f"{seen['client_address']}:{seen['client_port']}" != address:
                continue
            words = [word.strip('"') for word in seen["command"].split(" ")]
            if words[0] == "ECHO":
                return sent
            sent.append(words)


def test_the_part_of_a_process_that_stopped_beating_is_ignored_and_removed(room: str, store: redis.Redis) -> None:
    a, b = _mirror(), _mirror()
    b.share(room, 2, "ben", room_empty=False)
    assert a.elsewhere(room) == {2: "ben"}

    store.delete(f"hearth:process:{b.process_id}")  # as after PROCESS_TTL without a heartbeat (SIGKILL)

    assert a.elsewhere(room) == {}
    assert not a.is_elsewhere(room, 2)
    assert b.process_id.encode() not in store.smembers(f"hearth:room-processes:{room}")
    assert not store.exists(f"hearth:room-people:{room}:{b.process_id}")


def test_presence_kept_by_earlier_releases_is_cleared_when_a_process_first_shares(
    room: str, store: redis.Redis
) -> None:
    retired = f"hearth:presence:{room}"
    store.hset(retired, "old-process", '[{"id": 1, "username": "ana"}]')

    _mirror().share(room, 2, "ben", room_empty=False)

    assert not store.exists(retired)


def test_with_redis_unreachable_sharing_is_dropped_and_nobody_is_elsewhere(room: str) -> None:
    gone = _mirror("redis://127.0.0.1:1/0")  # nothing listens on port 1

    gone.share(room, 1, "ana", room_empty=False)

    assert gone.elsewhere(room) == {}
    assert gone.is_elsewhere(room, 1) is False
