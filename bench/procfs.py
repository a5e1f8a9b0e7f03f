"""Which gunicorn worker holds which connection, read from Linux's /proc.

The server's end of each TCP connection is a socket inode in /proc/net/tcp, and each process's open files
(/proc/PID/fd) name the inodes it holds. bench_forum records the split of the load client's keep-alive
connections between the two workers in every open-loop run (each connection carries an equal share of
the load, so the split is each worker's share of it); tests/test_serving.py checks a burst is spread.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

ESTABLISHED = "01"


def available() -> bool:
    return Path("/proc/net/tcp").exists()


def children(parent: int, *, expected: int, timeout: float = 30.0) -> list[int]:
    """The pids of `parent`'s children, once there are `expected` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in _pids() if _parent_of(pid) == parent]
        if len(found) == expected:
            return sorted(found)
        time.sleep(0.1)
    raise RuntimeError(f"{parent} did not have {expected} children within {timeout}s")


def connections_held(workers: list[int], port: int) -> Counter[int]:
    """worker pid -> established connections it holds on `port` (IPv4)."""
    owner = {inode: pid for pid in workers for inode in _socket_inodes(pid)}
    held: Counter[int] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        if local_port == port and state == ESTABLISHED and inode in owner:
            held[owner[inode]] += 1
    return held


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state; the name may hold spaces


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while listed
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes
