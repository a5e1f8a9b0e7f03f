"""The unread count reaches an open socket as soon as the notification is committed (real server, real client)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import socketio

from forum.services import accounts, posting
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow


def _listen(url: str, token: str) -> tuple[socketio.Client, list[int], threading.Event]:
    counts: list[int] = []
    changed = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("unread", namespace="/notifications")
    def on_unread(data: dict[str, Any]) -> None:
        counts.append(int(data["count"]))
        changed.set()

    client.connect(url, namespaces=["/notifications"], transports=["websocket"], auth={"token": token}, wait_timeout=10)
    return client, counts, changed


def test_a_reply_pushes_the_new_unread_count_to_the_thread_author(live_server: LiveServer) -> None:
    with live_server.app.app_context():
        sam = accounts.register("sam", "correct horse battery")
        river = accounts.register("river", "correct horse battery")
        thread_id = posting.create_thread(
            sam, posting.get_board("grief-and-loss"), title="Hard days", body="x"
        ).thread.id
        sam_token, river_token = accounts.issue_token(sam), accounts.issue_token(river)
    client, counts, changed = _listen(live_server.url, sam_token)
    try:
        assert changed.wait(10) and counts == [0]  # the count as of connecting
        changed.clear()
        response = requests.post(
            f"{live_server.url}/api/v1/threads/{thread_id}/posts",
            json={"body": "You're not alone, @sam."},
            headers={"Authorization": f"Bearer {river_token}"},
            timeout=120,  # the server's first screening may train the moderation model
        )
        assert response.status_code == 201
        assert changed.wait(10), "no live count arrived"
        assert counts[-1] == 1
        changed.clear()
        read = requests.post(
            f"{live_server.url}/api/v1/notifications/read",
            json={"all": True},
            headers={"Authorization": f"Bearer {sam_token}"},
            timeout=10,
        )
        assert read.json() == {"unread": 0}
        assert changed.wait(10) and counts[-1] == 0
    finally:
        client.disconnect()


def test_strangers_cannot_open_the_notifications_socket(live_server: LiveServer) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, namespaces=["/notifications"], transports=["websocket"], wait_timeout=5)
