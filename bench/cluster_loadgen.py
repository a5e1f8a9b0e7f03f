"""Load generator for bench_cluster: many Socket.IO clients in one process, on one epoll loop (bench/wsclient.py).

    python -m bench.cluster_loadgen CONFIG.json

CONFIG: {"urls": [...], "tokens": [...], "clients": N, "room": "...", "offset": K}. Client i connects to
urls[(offset + i) % len(urls)] with tokens[(offset + i) % len(tokens)] and joins the room. Then it prints
"ready <connected> <errors>" and obeys stdin lines: "report" prints one JSON line with what arrived
since the last report (per bench message: receive latencies), "quit" exits.

Bench messages carry their send time in the body ("bench <n> <unix time>"); sender and receivers share
this machine's clock, so receive time minus that is the delivery latency.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from bench import wsclient

BENCH_BODY = re.compile(r"bench (\d+) ([\d.]+)")
# Connect in waves: a thousand handshakes at once only measure the listen backlog.
WAVE = 100


class Receivers:
    def __init__(self) -> None:
        self.latencies: dict[int, list[float]] = {}
        self.first: float | None = None
        self.last: float | None = None

    def on_event(self, _client: wsclient.Client, event: str, data: Any, now: float) -> None:
        if event != "message" or not isinstance(data, dict):
            return
        match = BENCH_BODY.search(str(data.get("body_html", "")))
        if not match:
            return
        self.latencies.setdefault(int(match.group(1)), []).append(now - float(match.group(2)))
        self.first = now if self.first is None else self.first
        self.last = now

    def report(self) -> dict[str, Any]:
        body = {"latencies": self.latencies, "first": self.first, "last": self.last}
        self.latencies, self.first, self.last = {}, None, None
        return body


def connect_and_join(loop: wsclient.Loop, config: dict[str, Any], receivers: Receivers) -> tuple[int, int]:
    """Every client connected and joined, in waves; returns (joined, errors)."""
    joined = errors = 0
    for start in range(0, config["clients"], WAVE):
        wave: dict[str, list[wsclient.Client]] = {}
        for i in range(start, min(start + WAVE, config["clients"])):
            n = config["offset"] + i
            url, token = config["urls"][n % len(config["urls"])], config["tokens"][n % len(config["tokens"])]
            client = loop.open(url, auth={"token": token})
            client.on_event = receivers.on_event
            wave.setdefault(url, []).append(client)
        clients = [client for group in wave.values() for client in group]
        loop.run_until(lambda: all(c.connected or c.closed for c in clients), 60)  # noqa: B023
        acks = wsclient.call_all(loop, clients, "join", lambda _i: {"room": config["room"], "after": None}, timeout=60)
        for client, ack in zip(clients, acks):
            if (ack or {}).get("ok"):
                joined += 1
            else:
                errors += 1
                print(f"connect failed: {client.error or ack!r}", file=sys.stderr, flush=True)
    return joined, errors


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    loop = wsclient.Loop()
    receivers = Receivers()
    joined, errors = connect_and_join(loop, config, receivers)
    print(f"ready {joined} {errors}", flush=True)
    done = [False]
    pending = [b""]

    def on_stdin() -> None:
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            done[0] = True
            return
        pending[0] += chunk
        *lines, pending[0] = pending[0].split(b"\n")
        for line in lines:
            command = line.strip().decode()
            if command == "report":
                print(json.dumps(receivers.report()), flush=True)
            elif command == "quit":
                done[0] = True

    loop.watch(sys.stdin.fileno(), on_stdin)
    loop.run_until(lambda: done[0], 24 * 3600)
    os._exit(0)  # the sockets close with the process


if __name__ == "__main__":
    main()
