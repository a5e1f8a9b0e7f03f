"""Two server processes count against one set of buckets in Redis, so a second process is no way around a limit."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import redis
import requests

from forum.services import accounts
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("FORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        message = f"Redis at {REDIS_URL} is unreachable ({error})"
        if IN_CI:
            pytest.fail(message + ": CI requires it", pytrace=False)
        pytest.skip(message + ": the shared rate-limit test is skipped on this machine")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def two_servers(live_database_url: str, shared_redis: redis.Redis) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = {
        "FORUM_REDIS_URL": REDIS_URL,
        "FORUM_RATELIMIT_ENABLED": "1",
        "FORUM_RATELIMITS": json.dumps({"login": {"per_address": "4/minute", "per_account": "100/hour"}}),
    }
    first = LiveServer(live_database_url, env=env).start()
    try:
        second = LiveServer(live_database_url, env=env).start()
    except Exception:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()


def _try_token(server: LiveServer, password: str) -> requests.Response:
    return requests.post(server.url + "/api/v1/tokens", json={"username": "sam", "password": password}, timeout=10)


def test_login_limit_holds_across_two_processes_sharing_redis(
    two_servers: tuple[LiveServer, LiveServer], shared_redis: redis.Redis
) -> None:
    first, second = two_servers
    with first.app.app_context():
        accounts.register("sam", "correct horse battery")

    answers = [_try_token(server, "not the password").status_code for server in (first, second, first, second)]
    assert answers == [401, 401, 401, 401]
    for server in (first, second):
        refused = _try_token(server, "correct horse battery")
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1

    keys = [key.decode() for key in shared_redis.keys("*")]
    assert keys, "the counters live in Redis"
    assert not any("127.0.0.1" in key for key in keys), keys
