"""gunicorn with the deployment's settings (deploy/gunicorn.conf.py) shares a port's connections among its workers.

Which worker holds a connection is read from Linux's /proc: the server's end of each connection is a socket
inode in /proc/net/tcp, and each worker's open files name the inodes it holds.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.live import LiveServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc to see which worker holds a connection"
    ),
]

CONNECTIONS = 128
ESTABLISHED = "01"


def test_a_burst_of_keep_alive_connections_is_spread_across_both_workers(tmp_path: Path) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'serving.db'}", production=True, workers=2)
    with server:
        assert server.process is not None
        workers = _children(server.process.pid, expected=2)
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(CONNECTIONS)]
        try:
            for client in clients:
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            statuses = Counter(_status(client) for client in clients)
            held = _connections_held(workers, server.port)
        finally:
            for client in clients:
                client.close()
    assert statuses == {200: CONNECTIONS}
    assert sum(held.values()) == CONNECTIONS, held
    # Spread by address hash, each worker's share is about half (128 +- 11 at two standard deviations); a
    # quarter is far outside chance. On one shared socket the first worker to wake took about 80%.
    assert min(held[pid] for pid in workers) >= CONNECTIONS // 4, held


def _children(parent: int, *, expected: int, timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in _pids() if _parent_of(pid) == parent]
        if len(found) == expected:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not start {expected} workers in {timeout}s")


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state; the name may hold spaces


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


def _connections_held(workers: list[int], port: int) -> Counter[int]:
    owner = {inode: pid for pid in workers for inode in _socket_inodes(pid)}
    held: Counter[int] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        if local_port == port and state == ESTABLISHED and inode in owner:
            held[owner[inode]] += 1
    return held


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes
