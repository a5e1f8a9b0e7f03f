"""A client that falls behind (a phone on a slow network) still gets every frame whole, from the gevent server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import insert

from forum.extensions import db
from forum.models import ApiToken, ChatMessage, User, utcnow
from forum.seeding import seed_boards
from forum.services import accounts, chat
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow

JOINS = 8
HISTORY = 500  # the most one join returns
# A client that asks for everything after 0, eight times, and prints how many messages each answer held.
_CLIENT = """
import json, sys, time
import socketio
url, token, room, joins = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sizes = []
client = socketio.Client(reconnection=False)
client.connect(url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"], wait_timeout=10)
for _ in range(joins):
    client.emit("join", {"room": room, "after": 0}, namespace="/chat",
                callback=lambda ack: sizes.append(len(ack["history"])))
print("sent", flush=True)
deadline = time.monotonic() + 30
while len(sizes) < joins and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps(sizes), flush=True)
"""


def _room_with_long_history(server: LiveServer) -> tuple[str, str]:
    """A board room holding HISTORY messages of about 4 KB each (a join answer of about 2 MB); a token."""
    with server.app.app_context():
        db.create_all()
        seed_boards()
        user = User(username="faraway", username_key="faraway", password_hash="!")
        db.session.add(user)
        db.session.flush()
        token = "whole-frames-token"
        db.session.add(
            ApiToken(user_id=user.id, token_hash=accounts.token_hash(token), session_version=user.session_version)
        )
        db.session.commit()
        chat.ensure_board_rooms()
        room = chat.board_rooms()[0]
        body = "<p>" + "still here " * 360 + "</p>"
        rows = [
            {"room_id": room.id, "author_id": user.id, "client_id": f"long-{n}", "kind": "text", "body_md": "x",
             "body_html": body, "risk_level": "none", "created_at": utcnow()}
            for n in range(HISTORY)
        ]  # fmt: skip
        db.session.execute(insert(ChatMessage.__table__), rows)
        db.session.commit()
        return room.key, token


def test_a_client_that_stops_reading_gets_every_answer_whole_once_it_reads_again(tmp_path: Path) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'frames.db'}", production=True)
    room, token = _room_with_long_history(server)
    with server:
        client = subprocess.Popen(
            [sys.executable, "-c", _CLIENT, server.url, token, room, str(JOINS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert client.stdout is not None
            assert client.stdout.readline().strip() == "sent"
            # The client stops reading (as a phone in a tunnel does) while about 16 MB of answers are sent:
            # its buffers fill, and the server's writes go out in pieces.
            client.send_signal(signal.SIGSTOP)
            time.sleep(4)
            client.send_signal(signal.SIGCONT)
            sizes = json.loads(client.stdout.readline())
        finally:
            client.kill()
            client.wait()
    assert sizes == [HISTORY] * JOINS, f"each answer arrived whole: {sizes}"
