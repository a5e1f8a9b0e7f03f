"""WholeFrameSocket on a real socket pair: whole frames, and a reader that stops for good cannot hold a sender."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from forum.realtime.whole_frames import WholeFrameSocket

FRAME = b"x" * 4_000_000  # far more than a socket pair's buffers hold


def test_a_frame_larger_than_the_buffers_arrives_whole_once_the_reader_reads() -> None:
    server, client = socket.socketpair()
    wrapped = WholeFrameSocket(server, stalled_after=10)
    received = bytearray()

    def read_later() -> None:
        time.sleep(0.3)  # the buffers fill meanwhile: a plain send() would have written only part
        while len(received) < 2 * len(FRAME):
            received.extend(client.recv(1 << 20))

    reader = threading.Thread(target=read_later)
    reader.start()
    assert wrapped.send(FRAME) == len(FRAME)
    assert wrapped.send(FRAME) == len(FRAME)
    reader.join(timeout=10)
    assert bytes(received) == FRAME + FRAME
    server.close()
    client.close()


def test_a_reader_that_never_reads_makes_the_send_fail_instead_of_hanging() -> None:
    server, client = socket.socketpair()
    wrapped = WholeFrameSocket(server, stalled_after=0.5)
    started = time.monotonic()
    with pytest.raises(OSError):
        wrapped.send(FRAME)
    assert time.monotonic() - started < 5, "the send gave up after the stall limit"
    server.close()
    client.close()
