"""A socket lives no longer than the session it was opened with: logout closes it, and it cannot reconnect."""

from __future__ import annotations

import pytest
import socketio

from forum.services import accounts
from tests.security.helpers import cookie_header, csrf_token, signed_in_session, wait_for
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow


def _connect(url: str, namespace: str, **kwargs: object) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(url, namespaces=[namespace], transports=["websocket"], wait_timeout=10, **kwargs)
    return client


def test_logout_closes_the_open_socket_and_the_old_cookie_cannot_reconnect(live_server: LiveServer) -> None:
    with live_server.app.app_context():
        accounts.register("mod_rowan", "correct horse battery", role="moderator")
    web = signed_in_session(live_server.url, "mod_rowan")
    old_cookie = cookie_header(web)
    sock = _connect(live_server.url, "/moderation", headers={"Cookie": old_cookie})
    assert sock.connected

    token = csrf_token(web, live_server.url, "/")
    response = web.post(
        live_server.url + "/logout",
        data={"csrf_token": token},
        headers={"Referer": live_server.url + "/"},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert wait_for(lambda: not sock.connected), "the socket outlived the session"

    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(live_server.url, "/moderation", headers={"Cookie": old_cookie})


def test_a_revoked_token_cannot_open_a_socket(live_server: LiveServer) -> None:
    with live_server.app.app_context():
        user = accounts.register("mod_rowan", "correct horse battery", role="moderator")
        token = accounts.issue_token(user)
    sock = _connect(live_server.url, "/moderation", auth={"token": token})
    sock.disconnect()
    with live_server.app.app_context():
        accounts.revoke_token(token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(live_server.url, "/moderation", auth={"token": token})


def test_members_and_strangers_cannot_open_the_moderation_socket(live_server: LiveServer) -> None:
    with live_server.app.app_context():
        token = accounts.issue_token(accounts.register("sam", "correct horse battery"))
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(live_server.url, "/moderation")
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(live_server.url, "/moderation", auth={"token": token})
