"""gunicorn with the deployment's settings (deploy/gunicorn.conf.py) shares a port's connections among its workers.

Which worker holds a connection is read from Linux's /proc (bench/procfs.py).
"""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pytest

from bench import procfs
from tests.support.live import LiveServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not procfs.available(), reason="needs Linux's /proc to see which worker holds a connection"),
]

CONNECTIONS = 128


def test_a_burst_of_keep_alive_connections_is_spread_across_both_workers(tmp_path: Path) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'serving.db'}", production=True, workers=2)
    with server:
        assert server.process is not None
        workers = procfs.children(server.process.pid, expected=2)
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(CONNECTIONS)]
        try:
            for client in clients:
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            statuses = Counter(_status(client) for client in clients)
            held = procfs.connections_held(workers, server.port)
        finally:
            for client in clients:
                client.close()
    assert statuses == {200: CONNECTIONS}
    assert sum(held.values()) == CONNECTIONS, held
    # Spread by address hash, each worker's share is about half (128 +- 11 at two standard deviations); a
    # quarter is far outside chance. On one shared socket the first worker to wake took about 80%.
    assert min(held[pid] for pid in workers) >= CONNECTIONS // 4, held


def _status(client: socket.socket) -> int:
    """Read one whole response from a keep-alive connection (leaving it open) and return its status."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += _recv(client)
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(body) < length:
        body += _recv(client)
    return int(lines[0].split()[1])


def _recv(client: socket.socket) -> bytes:
    chunk = client.recv(65536)
    if not chunk:
        raise AssertionError("the server closed a keep-alive connection")
    return chunk
