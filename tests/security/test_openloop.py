"""bench/openloop.py, the open-loop load client the forum benchmark reads its target-rate latencies from."""

from __future__ import annotations

import time

from bench.openloop import OpenLoop
from tests.support.live import LiveServer


def test_the_open_loop_client_offers_its_rate_and_times_every_request(live_server: LiveServer) -> None:
    load = OpenLoop(f"{live_server.url}/healthz", method="GET", headers=[], body=None, connections=4)
    started = time.perf_counter()
    result = load.run(rate=40, seconds=1.0)
    elapsed = time.perf_counter() - started
    assert result["requests"] == 40
    assert result["completed"] == 40
    assert result["errors"] == 0
    # Open loop: forty requests spread over a second, not sent back to back.
    assert elapsed >= 0.95
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]  # type: ignore[operator]


def test_the_open_loop_client_counts_error_statuses(live_server: LiveServer) -> None:
    load = OpenLoop(f"{live_server.url}/no-such-page", method="GET", headers=[], body=None, connections=2)
    result = load.run(rate=20, seconds=0.5)
    assert result["completed"] == 10
    assert result["errors"] == 10


def test_an_answer_larger_than_the_first_buffer_is_read_whole_and_the_next_starts_clean() -> None:
    import socket
    import threading

    from bench.openloop import FIRST_BUFFER, Connection

    client, server = socket.socketpair()
    conn = Connection(client)
    body = b"x" * (FIRST_BUFFER * 2 + 123)
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    sender = threading.Thread(target=server.sendall, args=(answer,))  # more than a socket buffer holds
    sender.start()
    while not conn.answer_complete():
        assert conn.read() > 0
    assert conn.head == f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}"
    assert conn.filled == conn.expected == len(body) + len(conn.head) + 4
    sender.join()
    conn.next_answer()
    server.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno")
    while not conn.answer_complete():
        assert conn.read() > 0
    assert conn.head is not None and conn.head.startswith("HTTP/1.1 404")
    client.close()
    server.close()
