"""Fixtures: an app per database backend, a clean database per test, users, and live servers.

Every test that takes `app` (or anything built on it) runs twice: on SQLite and on PostgreSQL.
PostgreSQL comes from FORUM_TEST_POSTGRES_URL (CI sets it); without it, or when it is unreachable,
the PostgreSQL half is skipped with a line saying so, except in CI, where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import text

from forum import create_app, ratelimits
from forum.extensions import db
from forum.models import User
from forum.seeding import seed_boards
from tests.support import backends

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [backends.describe()]


@pytest.fixture(scope="session", autouse=True)
def _screening_model_built() -> None:
    """Build the screening model once, before any server process could pay for training mid-request."""
    import moderation

    moderation.screen("warm up")
    assert moderation.model_status().get("loaded"), moderation.model_status()


@pytest.fixture(scope="session", params=backends.NAMES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = request.param
    if name == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'hearth.db'}"
        return
    url = backends.postgres_url_or_skip(IN_CI)
    schema = backends.worker_schema(request.config)
    backends.reset_schema(url, schema)
    yield backends.with_search_path(url, schema)
    backends.drop_schema(url, schema)


def make_config(database_url: str, tmp_path: Path | None = None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        # Argon2id still, with the cheapest parameters: hashing strength is not what these tests check.
        "ARGON2_PROFILE": "CHEAPEST",
        "SERVER_NAME": None,
    }
    config.update(extra)
    return config


class SharedContextClient(FlaskClient):
    """A test client for tests that hold the app context open around their requests.

    Flask reuses an already-pushed app context for requests, so Flask-Login's per-context cache of
    the current user (and the permission cache) would leak from one request into the next; each request
    starts without them.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        g.pop("_permission_cache", None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def _session_app(database_url: str) -> Iterator[Flask]:
    app = create_app(make_config(database_url))
    app.test_client_class = SharedContextClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    """The session's app with an empty database (boards seeded) and default config restored."""
    saved = dict(_session_app.config)
    with _session_app.app_context():
        # Fresh counters: a test that turned limits on must not leave 429s for recycled user ids.
        ratelimits.buckets().storage.reset()
        _empty_database()
        seed_boards()
        yield _session_app
        db.session.remove()
    _session_app.config.clear()
    _session_app.config.update(saved)


def _empty_database() -> None:
    db.session.remove()
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
            # As RESTART IDENTITY does above: each test's ids start from 1 again on the AUTOINCREMENT tables.
            conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask) -> Any:
    from forum.services import accounts

    def make(username: str = "sam", password: str = "correct horse battery", role: str = "member") -> User:
        return accounts.register(username, password, role=role)

    return make


@pytest.fixture
def member(make_user: Any) -> User:
    return make_user("sam")


@pytest.fixture
def moderator(make_user: Any) -> User:
    return make_user("mod_maya", role="moderator")


def login(client: FlaskClient, username: str, password: str = "correct horse battery") -> Any:
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=False)


@pytest.fixture
def member_client(client: FlaskClient, member: User) -> FlaskClient:
    response = login(client, member.username)
    assert response.status_code == 302
    return client


def api_token(client: FlaskClient, username: str, password: str = "correct horse battery") -> str:
    response = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.json
    return str(response.json["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- live servers and the browser -------------------------------------------------------------

from tests.support.browser import browser  # noqa: E402,F401  (fixture)
from tests.support.live import LiveServer  # noqa: E402


@pytest.fixture
def live_database_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own for a server process, on the same backend as the test's parameter."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'live.db'}"
        return
    base = backends.postgres_url_or_skip(IN_CI)
    schema = f"{backends.worker_schema(request.config)}_live_{abs(hash(request.node.nodeid)) % 10**8}"
    backends.reset_schema(base, schema)
    yield backends.with_search_path(base, schema)
    backends.drop_schema(base, schema)


@pytest.fixture
def live_server(live_database_url: str) -> Iterator[LiveServer]:
    server = LiveServer(live_database_url)
    server.start()
    yield server
    server.stop()
