"""Two real server processes on one PostgreSQL schema and one Redis, and a Socket.IO client for them."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
import requests
import socketio

from tests.chat.support import make_member
from tests.support import backends
from tests.support.live import LiveServer

IN_CI = os.environ.get("CI", "").lower() == "true"
# A database number of our own: FLUSHDB at the start must not touch anyone else's keys.
REDIS_URL = os.environ.get("FORUM_TEST_CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/3")
# New accounts get this many chat messages a minute; trusted members and moderators the generous limit.
CHAT_FIRST_DAY_LIMIT = 5
CLUSTER_RATELIMITS = {
    "chat": {
        "per_address": "10000/minute",
        "per_account": "1000/minute",
        "first_day": f"{CHAT_FIRST_DAY_LIMIT}/minute",
    },
    "register": {"per_address": "3/minute;10/hour"},
}


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message + ": CI requires it", pytrace=False)
    pytest.skip(message + ": the cluster tests are skipped on this machine")


def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        _unavailable(f"Redis at {REDIS_URL} is unreachable ({error})")
    return client


@contextmanager
def postgres_schema(name: str) -> Iterator[str]:
    base = backends.postgres_url_or_skip(IN_CI)
    backends.reset_schema(base, name)
    try:
        yield backends.with_search_path(base, name)
    finally:
        backends.drop_schema(base, name)


class Cluster:
    """Two processes, as nginx would see them: same code, same database, same Redis, two ports."""

    def __init__(self, database_url: str) -> None:
        env = {
            "FORUM_REDIS_URL": REDIS_URL,
            "FORUM_RATELIMIT_ENABLED": "1",
            "FORUM_RATELIMITS": json.dumps(CLUSTER_RATELIMITS),
        }
        self.a = LiveServer(database_url, env=env)
        self.b = LiveServer(database_url, env=env)
        self.servers = (self.a, self.b)

    def start(self) -> Cluster:
        # One after the other: each creates the tables at start, and two create_all at once would race.
        self.a.start()
        try:
            self.b.start()
            for server in self.servers:
                warm_up(server)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def ensure_running(self) -> None:
        for server in self.servers:
            if server.process is None or server.process.poll() is not None:
                server.start()


def warm_up(server: LiveServer) -> None:
    """One screened post through the server, so its first test message does not wait for the model.

    The screening model loads (or, after a change to it, trains) on first use, which can take longer
    than a test's acknowledgement timeout on a busy machine.
    """
    _, token = make_member(server, f"warm_up_{server.port}", trusted=True)
    response = requests.post(
        server.url + "/api/v1/boards/small-wins/threads",
        json={"title": "Warming up", "body": "A short walk this morning."},
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    assert response.status_code == 201, response.text


class Client:
    """A python-socketio client that records every event it receives, per namespace, in order."""

    def __init__(self, token: str, namespaces: tuple[str, ...] = ("/chat",)) -> None:
        self.token = token
        self.namespaces = namespaces
        self.events: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self._changed = threading.Condition()
        self.sio = self._new_client()

    def _new_client(self) -> socketio.Client:
        sio = socketio.Client(reconnection=False)
        for namespace in self.namespaces:
            sio.on("*", self._recorder(namespace), namespace=namespace)
        return sio

    def _recorder(self, namespace: str) -> Callable[..., None]:
        def record(event: str, data: Any = None) -> None:
            with self._changed:
                self.events[(namespace, event)].append(data)
                self._changed.notify_all()

        return record

    def connect(self, server: LiveServer) -> Client:
        if self.sio.connected:
            self.sio.disconnect()
        self.sio = self._new_client()
        self.sio.connect(
            server.url,
            namespaces=list(self.namespaces),
            auth={"token": self.token},
            transports=["websocket"],
            wait_timeout=10,
        )
        return self

    def call(self, event: str, data: Any, namespace: str = "/chat", timeout: float = 15) -> Any:
        return self.sio.call(event, data, namespace=namespace, timeout=timeout)

    def join(self, room: str, after: int | None = None) -> dict[str, Any]:
        ack = self.call("join", {"room": room, "after": after})
        assert ack["ok"], ack
        return ack

    def send(self, room: str, body: str, client_id: str) -> dict[str, Any]:
        return self.call("send", {"room": room, "body": body, "client_id": client_id})

    def received(self, event: str, namespace: str = "/chat") -> list[Any]:
        with self._changed:
            return list(self.events[(namespace, event)])

    def wait_for(
        self, event: str, predicate: Callable[[list[Any]], bool], *, namespace: str = "/chat", timeout: float = 10
    ) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.events[(namespace, event)]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {namespace} {event!r}; got {dict(self.events)}")
                self._changed.wait(remaining)
            return list(self.events[(namespace, event)])

    def close(self) -> None:
        # The server may be dead already: there is nothing to say goodbye to.
        with contextlib.suppress(Exception):
            if self.sio.connected:
                self.sio.disconnect()
