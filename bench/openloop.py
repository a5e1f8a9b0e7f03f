"""An open-loop HTTP load: requests at a fixed rate, each timed from when it was due, not from when it was sent.

wrk measures how fast a server can go with N connections always busy (a closed loop): at saturation every
request waits behind the other N-1, so its p99 is a queueing figure set by N, not by the server (Little's
law: at 32 connections and 800 req/s the mean latency is 40 ms whatever the code does). A target such as
"800 req/s with p99 <= 30 ms" asks something else: offered 800 requests a second, how long does one take?
This client offers exactly that rate and times each request from its scheduled start, so a server that
falls behind pays for the queue it builds (no coordinated omission).

Run as a separate process:
  python -m bench.openloop URL --rate 800 --seconds 10 [--connections 64] [-H 'Name: value']...
                           [--method POST --body '{"body": "reply {n}"}']
Prints one JSON line: offered and achieved rate, p50/p90/p99/max ms, errors. `{n}` in the body is replaced by
the request's number, so each write can carry its own idempotency key.
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field

# Each connection reads into one buffer it keeps. recv(n) allocated a fresh n-byte object per call, which
# for a large n is a fresh mapping of memory: about 40 page faults and an mmap, mremap and munmap per 145 KB
# thread page (at 200 pages/s for 10 s, 79,386 faults and 0.64 s of system time; 6,391 and 0.38 s after),
# CPU taken from the server it measures on the same cores.
FIRST_BUFFER = 256 * 1024


@dataclass
class Connection:
    sock: socket.socket
    buffer: bytearray = field(default_factory=lambda: bytearray(FIRST_BUFFER))
    filled: int = 0  # bytes of the current answer in buffer
    head: str | None = None  # the current answer's status line and headers, once they have all come
    expected: int = 0  # the current answer's length, headers included, once head is known
    due: float = 0.0  # when the request on it was scheduled; 0 when idle

    def read(self) -> int:
        """Receive what has arrived into the buffer (doubled when full); 0 when the server closed."""
        if self.filled == len(self.buffer):
            self.buffer.extend(bytes(len(self.buffer)))
        with memoryview(self.buffer) as free:
            received = self.sock.recv_into(free[self.filled :])
        self.filled += received
        return received

    def answer_complete(self) -> bool:
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n", 0, self.filled)
            if end < 0:
                return False
            self.head = bytes(self.buffer[:end]).decode("latin-1")
            self.expected = end + 4 + _content_length(self.head)
        return self.filled >= self.expected

    def next_answer(self) -> None:
        """Forget the answer just read and go idle (a keep-alive connection answers one request at a time)."""
        self.filled, self.head, self.expected, self.due = 0, None, 0, 0.0


class OpenLoop:
    def __init__(self, url: str, *, method: str, headers: list[str], body: str | None, connections: int) -> None:
        parts = urllib.parse.urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.method, self.headers, self.body = method, headers, body
        self.selector = selectors.DefaultSelector()
        self.idle: deque[Connection] = deque(self._connect() for _ in range(connections))
        self.latencies: list[float] = []
        self.errors = 0

    def _connect(self) -> Connection:
        sock = socket.create_connection(self.address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conn = Connection(sock)
        # Registered for its whole life: an idle connection gets no data, so it costs select nothing, and
        # a register and unregister per request were two system calls each.
        self.selector.register(sock, selectors.EVENT_READ, conn)
        return conn

    def _request(self, n: int) -> bytes:
        host = f"{self.address[0]}:{self.address[1]}"
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", *self.headers]
        payload = self.body.replace("{n}", str(n)).encode() if self.body is not None else b""
        if self.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    def run(self, rate: float, seconds: float) -> dict[str, object]:
        interval = 1.0 / rate
        total = int(rate * seconds)
        start = time.perf_counter() + 0.05
        waiting: deque[tuple[int, float]] = deque()  # due but no free connection yet: still on their clock
        next_n = 0
        while next_n < total or waiting or len(self.idle) < self._pool_size():
            now = time.perf_counter()
            while next_n < total and start + next_n * interval <= now:
                waiting.append((next_n, start + next_n * interval))
                next_n += 1
            while waiting and self.idle:
                n, due = waiting.popleft()
                self._send(self.idle.popleft(), n, due)
            if now > start + seconds + 30:
                break  # a server that stopped answering: what never came back counts as errors below
            timeout = max(0.0, start + next_n * interval - time.perf_counter()) if next_n < total else 0.05
            for key, _events in self.selector.select(timeout):
                self._receive(key.data)
        unfinished = self._pool_size() - len(self.idle) + len(waiting) + (total - next_n)
        elapsed = time.perf_counter() - start
        return self._summary(rate, total, elapsed, unfinished)

    def _pool_size(self) -> int:
        return len(self.selector.get_map())  # every connection, idle or busy, stays registered

    def _send(self, conn: Connection, n: int, due: float) -> None:
        conn.due = due
        conn.sock.sendall(self._request(n))

    def _receive(self, conn: Connection) -> None:
        if not conn.due:  # an idle connection the server closed: replaced, nothing was asked on it
            self.idle.remove(conn)
            self._replace(conn)
            return
        if not conn.read():  # closed before the whole answer came: an error, and a new connection in its place
            self.errors += 1
            self.latencies.append(time.perf_counter() - conn.due)
            self._replace(conn)
            return
        if not conn.answer_complete():
            return
        self.latencies.append(time.perf_counter() - conn.due)
        head = conn.head or ""
        conn.next_answer()
        status = int(head.split(" ", 2)[1])
        if not 200 <= status < 400:
            self.errors += 1
        if "\r\nconnection: close" in head.lower():
            self._replace(conn)  # a server that won't keep the connection open (the development server)
            return
        self.idle.append(conn)

    def _replace(self, conn: Connection) -> None:
        self.selector.unregister(conn.sock)
        conn.sock.close()
        self.idle.append(self._connect())

    def _summary(self, rate: float, total: int, elapsed: float, unfinished: int) -> dict[str, object]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2) if ordered else None

        return {
            "offered_rps": rate,
            "requests": total,
            "completed": len(ordered),
            "achieved_rps": round(len(ordered) / elapsed, 1),
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": round(1000 * ordered[-1], 2) if ordered else None,
            "errors": self.errors + unfinished,
        }


def _content_length(head: str) -> int:
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value.strip())
        if name.strip().lower() == "transfer-encoding":
            raise ValueError("chunked responses are not supported by this load client")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body")
    args = parser.parse_args()
    load = OpenLoop(args.url, method=args.method, headers=args.header, body=args.body, connections=args.connections)
    print(json.dumps(load.run(args.rate, args.seconds)))


if __name__ == "__main__":
    main()
