"""Every WebSocket frame leaves whole, or not at all.

simple-websocket (the server side of our sockets) writes each frame with one `socket.send()` and ignores
the count it returns. Under gevent that send writes what fits in the socket's buffer and returns: the
rest of the frame was dropped, and every byte after it on that connection was garbage to the client. A
phone on a slow network falls behind exactly like that, and a reconnect's history (up to 500 messages,
about 2 MB) overflowed even a fast client's buffer once it paused: measured against the gevent server,
a client stopped for four seconds while eight such acks were sent got one of them, then nothing.

The server's socket is wrapped before simple-websocket sees it: `send` becomes `sendall`, which under
gevent waits (cooperatively) until the buffer takes the rest, and a lock keeps two frames (a delivery
from the writer, a pong from the reader) from interleaving while one of them waits.

That wait is bounded: a client that stops reading for good (alive, but its window shut) would otherwise
hold its writer, and the close that waits for the writer's lock, forever. The socket gets a timeout of
STALLED_SECONDS for every send and receive. A healthy client is never silent that long: Engine.IO pings
every 25 s and expects the pong within 20 s, so a socket idle past 45 s is already being closed.
"""

from __future__ import annotations

import threading
from typing import Any

# Where simple-websocket looks for the connection's socket, per server (gunicorn; werkzeug in development).
_SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")
STALLED_SECONDS = 60.0


class WholeFrameSocket:
    """A socket whose send() sends everything it is given; every other attribute is the socket's own."""

    __slots__ = ("_lock", "_sock")

    def __init__(self, sock: Any, *, stalled_after: float = STALLED_SECONDS) -> None:
        sock.settimeout(stalled_after)  # a send or receive stuck this long raises (socket.timeout)
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data: bytes, flags: int = 0) -> int:
        with self._lock:
            self._sock.sendall(data, flags)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def send_whole_frames(environ: dict[str, Any]) -> None:
    """For a WebSocket upgrade request: make the socket simple-websocket will take send whole frames."""
    if (environ.get("HTTP_UPGRADE") or "").lower() != "websocket":
        return
    for key in _SOCKET_KEYS:
        sock = environ.get(key)
        if sock is not None and not isinstance(sock, WholeFrameSocket):
            environ[key] = WholeFrameSocket(sock)
