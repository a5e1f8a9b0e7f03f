"""Two server processes on one PostgreSQL database and one Redis behave as one forum.

Each test arranges its own people and its own room; the module shares one cluster (starting two
servers costs seconds). The SIGKILL test runs last and the next user of the cluster restarts what it killed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from forum.extensions import db
from forum.models import ChatMessage
from tests.chat.support import CRISIS_TEXT, make_member
from tests.cluster.support import CHAT_FIRST_DAY_LIMIT, Client

pytestmark = pytest.mark.slow


def _ids(payloads: list[dict[str, Any]]) -> list[int]:
    return [payload["id"] for payload in payloads]


def test_a_message_sent_through_one_process_arrives_once_at_a_client_of_the_other(a_and_b) -> None:
    a, b = a_and_b
    _, ana_token = make_member(a, "ana_delivery")
    _, ben_token = make_member(a, "ben_delivery")
    ana, ben = Client(ana_token).connect(a), Client(ben_token).connect(b)
    try:
        ana.join("board-introductions")
        ben.join("board-introductions")
        ack = ana.send("board-introductions", "Hello from the first process", "delivery-1")
        assert ack["ok"], ack
        sent = ack["message"]["id"]

        ben.wait_for("message", lambda got: sent in _ids(got))
        ana.wait_for("message", lambda got: sent in _ids(got))
        time.sleep(0.5)  # time for a duplicate to arrive, if the queue would deliver one
        assert _ids(ben.received("message")).count(sent) == 1
        assert _ids(ana.received("message")).count(sent) == 1
        assert ben.received("message")[-1]["body_html"] == "<p>Hello from the first process</p>\n"
    finally:
        ana.close()
        ben.close()


def test_presence_on_each_process_shows_both_people(a_and_b) -> None:
    a, b = a_and_b
    _, ana_token = make_member(a, "ana_presence")
    ben_id, ben_token = make_member(a, "ben_presence")
    ana, ben = Client(ana_token).connect(a), Client(ben_token).connect(b)
    try:
        ana.join("board-grief-and-loss")
        joined = ben.join("board-grief-and-loss")
        # The second to arrive sees both, though the first is connected to the other process...
        assert {p["username"] for p in joined["present"]} >= {"ana_presence", "ben_presence"}
        assert joined["present_count"] == len(joined["present"]) and joined["present_more"] is False
        # ...and the first hears of the second's arrival, and, asking again, sees both too.
        ana.wait_for("presence", lambda got: any(p["user"]["username"] == "ben_presence" for p in got))
        again = ana.join("board-grief-and-loss")
        assert {p["username"] for p in again["present"]} >= {"ana_presence", "ben_presence"}

        ben.close()
        ana.wait_for("presence", lambda got: any(p["action"] == "leave" and p["user"]["id"] == ben_id for p in got))
        after_leaving = ana.join("board-grief-and-loss")
        assert "ben_presence" not in {p["username"] for p in after_leaving["present"]}
    finally:
        ana.close()
        ben.close()


def test_a_crisis_chat_message_alerts_a_moderator_connected_to_the_other_process(a_and_b) -> None:
    a, b = a_and_b
    _, sam_token = make_member(a, "sam_crisis")
    _, maya_token = make_member(a, "maya_crisis", role="moderator")
    sam = Client(sam_token).connect(a)
    maya = Client(maya_token, namespaces=("/moderation",)).connect(b)
    try:
        sam.join("board-role-transitions")
        ack = sam.send("board-role-transitions", CRISIS_TEXT, "crisis-1")
        assert ack["ok"], ack

        alerts = maya.wait_for("alert", lambda got: len(got) >= 1, namespace="/moderation")
        assert alerts[0]["level"] == "crisis"
        assert "kill myself" in alerts[0]["excerpt"]
        # The support panel goes to the sender alone, on the process they are connected to.
        sam.wait_for("support", lambda got: len(got) >= 1)
    finally:
        sam.close()
        maya.close()


def test_a_crisis_post_through_one_process_alerts_a_moderator_on_the_other(a_and_b) -> None:
    a, b = a_and_b
    _, sam_token = make_member(a, "sam_post_crisis")
    _, maya_token = make_member(a, "maya_post_crisis", role="moderator")
    maya = Client(maya_token, namespaces=("/moderation",)).connect(b)
    try:
        response = requests.post(
            a.url + "/api/v1/boards/small-wins/threads",
            json={"title": "I can't anymore", "body": CRISIS_TEXT},
            headers={"Authorization": f"Bearer {sam_token}"},
            timeout=15,
        )
        assert response.status_code == 201, response.text
        alerts = maya.wait_for("alert", lambda got: len(got) >= 1, namespace="/moderation")
        assert alerts[0]["level"] == "crisis"
    finally:
        maya.close()


def test_the_chat_rate_limit_holds_across_both_processes_together(a_and_b) -> None:
    a, b = a_and_b
    user_id, token = make_member(a, "rio_ratelimit")  # a first-day account: the small limit applies
    on_a, on_b = Client(token).connect(a), Client(token).connect(b)
    try:
        on_a.join("board-interpersonal-disputes")
        on_b.join("board-interpersonal-disputes")
        acks = []
        for n in range(CHAT_FIRST_DAY_LIMIT + 3):
            client = on_a if n % 2 == 0 else on_b  # alternate: each process alone would allow them all
            acks.append(client.send("board-interpersonal-disputes", f"Message {n}", f"limit-{n}"))

        accepted = [ack for ack in acks if ack["ok"]]
        refused = [ack for ack in acks if not ack["ok"]]
        assert len(accepted) == CHAT_FIRST_DAY_LIMIT
        assert {ack["error"]["code"] for ack in refused} == {"rate_limited"}
        with a.app.app_context():
            stored = db.session.scalars(select(ChatMessage.id).where(ChatMessage.author_id == user_id)).all()
        assert len(stored) == CHAT_FIRST_DAY_LIMIT
    finally:
        on_a.close()
        on_b.close()


def test_http_rate_limits_hold_across_both_processes(a_and_b) -> None:
    a, b = a_and_b
    statuses = []
    for n in range(4):
        server = a if n % 2 == 0 else b
        response = requests.post(
            server.url + "/api/v1/users",
            json={"username": f"newcomer_{n}", "password": "a long enough password"},
            timeout=15,
        )
        statuses.append(response.status_code)
    # Three registrations a minute from one address, counted across both processes in Redis.
    assert statuses == [201, 201, 201, 429]
    assert int(response.headers.get("Retry-After", "0")) > 0


def test_a_client_of_a_killed_process_reconnects_to_the_other_and_misses_nothing(a_and_b) -> None:
    cluster_a, b = a_and_b
    room = "board-interpersonal-deficits"
    _, sender_token = make_member(cluster_a, "kai_sender", trusted=True)
    _, peer_token = make_member(cluster_a, "lee_peer", trusted=True)
    sender, peer = Client(sender_token).connect(cluster_a), Client(peer_token).connect(b)
    acked: dict[str, int] = {}  # client_id -> message id, for every send the server acknowledged
    unacked: list[tuple[str, str]] = []  # (client_id, body) of sends the crash interrupted
    stop = threading.Event()
    try:
        sender.join(room)
        peer.join(room)

        def keep_sending() -> None:
            for n in range(200):
                client_id, body = f"kill-{n}", f"Steady message {n}"
                if stop.is_set():
                    return
                try:
                    ack = sender.send(room, body, client_id)
                except Exception:
                    unacked.append((client_id, body))
                    return
                assert ack["ok"], ack
                acked[client_id] = ack["message"]["id"]

        sending = threading.Thread(target=keep_sending)
        sending.start()
        deadline = time.monotonic() + 15
        while len(acked) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        cluster_a.kill()  # SIGKILL, mid-stream
        sending.join(timeout=20)
        assert not sending.is_alive()
        assert len(acked) >= 5

        # While the sender is away, the peer keeps talking: the sender must get these from history.
        missed = [peer.send(room, f"While you were away {n}", f"away-{n}")["message"]["id"] for n in range(3)]

        seen_live = _ids(sender.received("message"))
        last_seen = max([*seen_live, *acked.values()])
        sender.close()
        sender.connect(b)
        rejoined = sender.join(room, after=last_seen)
        history = _ids(rejoined["history"])
        # The interrupted send goes again under the same client id: stored once, whether or not it got in.
        for client_id, body in unacked:
            ack = sender.send(room, body, client_id)
            assert ack["ok"], ack
            acked[client_id] = ack["message"]["id"]

        for message_id in acked.values():
            sender.wait_for("message", lambda got, wanted=message_id: wanted in _ids(got) + history)
        live_after = _ids(sender.received("message"))[len(seen_live) :]

        with b.app.app_context():
            rows = db.session.execute(select(ChatMessage.id, ChatMessage.client_id).order_by(ChatMessage.id)).all()
        in_room = [row.id for row in rows if row.client_id and row.client_id.startswith(("kill-", "away-"))]
        client_ids = [row.client_id for row in rows if row.client_id and row.client_id.startswith("kill-")]

        assert set(acked.values()) <= set(in_room), "an acknowledged message was lost"
        assert len(client_ids) == len(set(client_ids)), "a resend was stored twice"
        assert set(missed) <= set(history), "the reconnecting client did not get what it missed"
        sender_view = seen_live + history + live_after
        assert set(in_room) <= set(sender_view), "the sender never saw a message of its room"
        assert len(sender_view) == len(set(sender_view)), "the reconnecting client got a message twice"
        # The peer, on the surviving process, saw every message acknowledged before the crash exactly once.
        peer_ids = _ids(peer.received("message"))
        assert len(peer_ids) == len(set(peer_ids))
        before_crash = {mid for cid, mid in acked.items() if cid not in dict(unacked)}
        assert before_crash <= set(peer_ids)
    finally:
        stop.set()
        sender.close()
        peer.close()
