"""Which pages may open a socket: the server's own origins by default, on whatever port it serves."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from flask import Flask

from forum.config import load_config
from tests.support.live import LiveServer


def _handshake_status(server: LiveServer, origin: str) -> int:
    """Open an Engine.IO session by long-polling, as a browser page on `origin` would."""
    request = urllib.request.Request(f"{server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_a_server_on_any_port_accepts_sockets_from_its_own_pages(live_server: LiveServer) -> None:
    # The live server runs on a free port with PORT set and no origins configured, as `PORT=5700 make run`.
    assert live_server.port != 5000
    assert _handshake_status(live_server, live_server.url) == 200
    assert _handshake_status(live_server, f"http://localhost:{live_server.port}") == 200


def test_sockets_from_other_origins_are_refused(live_server: LiveServer) -> None:
    assert _handshake_status(live_server, "http://evil.example") == 400
    assert _handshake_status(live_server, "http://127.0.0.1:5000") == 400


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ["http://127.0.0.1:5000", "http://localhost:5000"]),
        ({"PORT": "5700"}, ["http://127.0.0.1:5700", "http://localhost:5700"]),
        (
            {"PORT": "5700", "FORUM_CORS_ALLOWED_ORIGINS": '["https://forum.example.org"]'},
            ["https://forum.example.org"],
        ),
    ],
)
def test_socket_origins_follow_the_port_unless_set(
    environ: dict[str, str], expected: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name in ("PORT", "FORUM_CORS_ALLOWED_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    app = Flask("config-check", instance_path=str(tmp_path))
    load_config(app, {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["CORS_ALLOWED_ORIGINS"] == expected
