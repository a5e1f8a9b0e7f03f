"""Many Socket.IO clients in one process, cheaply: raw WebSocket connections on one epoll loop.

The python-socketio client costs a few hundred microseconds of Python per event it receives (a
reader thread, a queue and a handler greenlet per client), so a load process built on it saturates
long before a server does, and the benchmark then measures the load generator. These clients speak
just enough of Engine.IO 4 / Socket.IO 5 over WebSocket for the benchmarks: connect to a namespace
with `auth`, emit events with or without an ack, answer pings, and hand every server event to a
callback with the receive time. No threads, no greenlets: one `selectors` loop per process.

Frames from the server are unmasked and never fragmented by python-engineio; frames we send are
masked (the protocol requires it) with a zero key, which makes masking a no-op.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import socket
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

EventHandler = Callable[["Client", str, Any, float], None]
AckHandler = Callable[[Any, float], None]

_ZERO_MASK = b"\x00\x00\x00\x00"


def _frame(text: str) -> bytes:
    """One masked text frame (client to server)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    return header + _ZERO_MASK + payload


class Client:
    """One Socket.IO connection on one namespace."""

    def __init__(
        self, loop: Loop, url: str, namespace: str, auth: dict[str, Any] | None, *, deflate: bool = False
    ) -> None:
        self.loop = loop
        # Offer permessage-deflate as browsers do; frames the server compresses are inflated here.
        self.deflate = deflate
        self._inflater: Any = None
        self.namespace = namespace
        self.auth = auth
        self.connected = False  # the namespace accepted us
        self.closed = False
        self.error: str | None = None
        self.on_event: EventHandler | None = None
        self.on_connect: Callable[[Client], None] | None = None
        self._acks: dict[int, AckHandler] = {}
        self._next_ack = 0
        self._buffer = bytearray()
        self._upgraded = False
        self._prefix = "" if namespace == "/" else namespace + ","
        parsed = urlparse(url)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 80
        self._origin = f"{parsed.scheme}://{parsed.netloc}"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.sock.connect_ex((self._host, self._port))
        loop.selector.register(self.sock, selectors.EVENT_WRITE, self)

    # --- sending ---------------------------------------------------------------------------------

    def emit(self, event: str, data: Any, ack: AckHandler | None = None) -> None:
        ack_id = ""
        if ack is not None:
            self._next_ack += 1
            self._acks[self._next_ack] = ack
            ack_id = str(self._next_ack)
        self._send("42" + self._prefix + ack_id + json.dumps([event, data], separators=(",", ":")))

    def _send(self, text: str) -> None:
        try:
            self.sock.sendall(_frame(text))
        except BlockingIOError:  # a full send buffer: rare for these small frames; wait it out
            self.sock.setblocking(True)
            self.sock.sendall(_frame(text))
            self.sock.setblocking(False)
        except OSError as error:
            self._fail(repr(error))

    def close(self) -> None:
        """Drop the connection without a goodbye, as a lost network would."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(KeyError, ValueError):
            self.loop.selector.unregister(self.sock)
        self.sock.close()
        self.loop.clients.discard(self)

    def _fail(self, reason: str) -> None:
        self.error = self.error or reason
        self.close()
        waiting, self._acks = self._acks, {}
        for handler in waiting.values():  # no answer will come: let whoever waits count a failure
            handler(None, time.time())

    # --- receiving -------------------------------------------------------------------------------

    def _writable(self) -> None:
        """The TCP connect finished: ask for the WebSocket upgrade."""
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            self._fail(os.strerror(error))
            return
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {self._origin}\r\n"
            + ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if self.deflate else "")
            + "\r\n"
        )
        self.sock.sendall(request.encode())
        self.loop.selector.modify(self.sock, selectors.EVENT_READ, self)

    def _readable(self, now: float) -> None:
        try:
            chunk = self.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError as error:
            self._fail(repr(error))
            return
        if not chunk:
            self._fail("closed by server")
            return
        self._buffer += chunk
        if not self._upgraded and not self._read_upgrade():
            return
        self._read_frames(now)

    def _read_upgrade(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        status = bytes(self._buffer[: self._buffer.find(b"\r\n")])
        if b" 101 " not in status:
            self._fail(status.decode(errors="replace"))
            return False
        if b"permessage-deflate" in bytes(self._buffer[:end]).lower():
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        del self._buffer[: end + 4]
        self._upgraded = True
        return True

    def _read_frames(self, now: float) -> None:
        buffer = self._buffer
        start = 0
        while len(buffer) - start >= 2:
            opcode = buffer[start] & 0x0F
            size = buffer[start + 1] & 0x7F
            offset = start + 2
            if size == 126:
                if len(buffer) - start < 4:
                    break
                size = struct.unpack_from("!H", buffer, offset)[0]
                offset += 2
            elif size == 127:
                if len(buffer) - start < 10:
                    break
                size = struct.unpack_from("!Q", buffer, offset)[0]
                offset += 8
            if len(buffer) < offset + size:
                break
            payload = bytes(buffer[offset : offset + size])
            if buffer[start] & 0x40 and self._inflater is not None:  # RSV1: a compressed message
                payload = self._inflater.decompress(payload + b"\x00\x00\xff\xff")
            start = offset + size
            if opcode == 0x1:
                self._packet(payload.decode(), now)
            elif opcode == 0x8:
                self._fail("closed by server")
                return
        del buffer[:start]

    def _packet(self, text: str, now: float) -> None:
        kind = text[0]
        if kind == "2":  # Engine.IO ping: answer or the server hangs up
            self._send("3")
        elif kind == "0":  # Engine.IO open: now join the namespace
            self._send("40" + self._prefix + (json.dumps(self.auth) if self.auth else ""))
        elif kind == "4":
            self._socketio(text[1:], now)

    def _socketio(self, text: str, now: float) -> None:
        kind = text[0]
        body = text[1 + len(self._prefix) :] if text[1:].startswith(self._prefix) else text[1:]
        if kind == "2":
            event, *args = json.loads(body[body.index("[") :])
            if self.on_event is not None:
                self.on_event(self, event, args[0] if args else None, now)
        elif kind == "3":
            bracket = body.index("[")
            handler = self._acks.pop(int(body[:bracket]), None)
            if handler is not None:
                args = json.loads(body[bracket:])
                handler(args[0] if args else None, now)
        elif kind == "0":
            self.connected = True
            if self.on_connect is not None:
                self.on_connect(self)
        elif kind in "14":  # disconnect, or connect refused
            self._fail("refused: " + body if kind == "4" else "disconnected by server")


class Loop:
    """The selector every client of this process shares."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.clients: set[Client] = set()
        self.extra: dict[int, Callable[[], None]] = {}

    def open(
        self, url: str, namespace: str = "/chat", auth: dict[str, Any] | None = None, *, deflate: bool = False
    ) -> Client:
        client = Client(self, url, namespace, auth, deflate=deflate)
        self.clients.add(client)
        return client

    def watch(self, fd: int, callback: Callable[[], None]) -> None:
        """Call `callback` when `fd` (a pipe, stdin) is readable."""
        self.extra[fd] = callback
        self.selector.register(fd, selectors.EVENT_READ, None)

    def run_once(self, timeout: float) -> None:
        for key, events in self.selector.select(timeout):
            client = key.data
            if client is None:
                self.extra[key.fd]()
            elif events & selectors.EVENT_WRITE:
                client._writable()
            else:
                client._readable(time.time())

    def run_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Serve every client until done() or the timeout; returns done()."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.run_once(min(left, 0.05))
        return True

    def run_for(self, seconds: float) -> None:
        self.run_until(lambda: False, seconds)


def connect_all(
    loop: Loop, url: str, tokens: list[str], *, timeout: float = 120, deflate: bool = False
) -> list[Client]:
    """Open one client per token and wait until every one is connected to /chat (or failed)."""
    clients = [loop.open(url, auth={"token": token}, deflate=deflate) for token in tokens]
    loop.run_until(lambda: all(c.connected or c.closed for c in clients), timeout)
    return clients


def call_all(
    loop: Loop, clients: list[Client], event: str, data: Callable[[int], Any], *, timeout: float = 120
) -> list[Any]:
    """Emit `event` from every client at once and wait for every ack (None where none came)."""
    answers: list[Any] = [None] * len(clients)
    pending = [0]

    def answer(index: int) -> AckHandler:
        def handle(value: Any, _now: float) -> None:
            answers[index] = value
            pending[0] -= 1

        return handle

    for index, client in enumerate(clients):
        if client.connected and not client.closed:
            pending[0] += 1
            client.emit(event, data(index), ack=answer(index))
    loop.run_until(lambda: pending[0] <= 0, timeout)
    return answers
