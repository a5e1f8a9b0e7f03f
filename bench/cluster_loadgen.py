"""Load generator for bench_cluster: many Socket.IO clients in one process, as gevent greenlets.

    python -m bench.cluster_loadgen CONFIG.json

CONFIG: {"urls": [...], "tokens": [...], "clients": N, "room": "...", "offset": K}. Client i connects to
urls[(offset + i) % len(urls)] with tokens[(offset + i) % len(tokens)] and joins the room. Then it prints
"ready <connected> <errors>" and obeys stdin lines: "report" prints one JSON line with what arrived
since the last report (per bench message: receive latencies), "quit" exits.

Bench messages carry their send time in the body ("bench <n> <unix time>"); sender and receivers share
this machine's clock, so receive time minus that is the delivery latency.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import socketio  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402

BENCH_BODY = re.compile(r"bench (\d+) ([\d.]+)")


class Receivers:
    def __init__(self) -> None:
        self.latencies: dict[int, list[float]] = {}
        self.first: float | None = None
        self.last: float | None = None
        self.clients: list[socketio.Client] = []
        self.errors = 0
        self.dropped: dict[str, int] = {}

    def on_disconnect(self, reason: Any = "unknown") -> None:
        self.dropped[str(reason)] = self.dropped.get(str(reason), 0) + 1

    def on_message(self, data: Any) -> None:
        now = time.time()
        match = BENCH_BODY.search(str(data.get("body_html", ""))) if isinstance(data, dict) else None
        if not match:
            return
        self.latencies.setdefault(int(match.group(1)), []).append(now - float(match.group(2)))
        self.first = now if self.first is None else self.first
        self.last = now

    def connect(self, url: str, token: str, room: str) -> None:
        client = socketio.Client(reconnection=False)
        client.on("message", self.on_message, namespace="/chat")
        client.on("disconnect", self.on_disconnect, namespace="/chat")
        try:
            client.connect(url, auth={"token": token}, namespaces=["/chat"], transports=["websocket"], wait_timeout=60)
            ack = client.call("join", {"room": room, "after": None}, namespace="/chat", timeout=60)
            if not ack.get("ok"):
                raise RuntimeError(ack)
            self.clients.append(client)
        except Exception as error:
            self.errors += 1
            print(f"connect failed: {error!r}", file=sys.stderr, flush=True)

    def report(self) -> dict[str, Any]:
        body = {"latencies": self.latencies, "first": self.first, "last": self.last, "dropped": self.dropped}
        self.latencies, self.first, self.last = {}, None, None
        return body


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    receivers = Receivers()
    pool = gevent.pool.Pool(50)  # connect in waves: a thousand handshakes at once only measure the backlog
    for i in range(config["clients"]):
        n = config["offset"] + i
        url, token = config["urls"][n % len(config["urls"])], config["tokens"][n % len(config["tokens"])]
        pool.spawn(receivers.connect, url, token, config["room"])
    pool.join()
    print(f"ready {len(receivers.clients)} {receivers.errors}", flush=True)
    print(f"dropped while connecting: {receivers.dropped}", file=sys.stderr, flush=True)
    # A cooperative stdin: a plain blocking read would stall every client's greenlet while it waits.
    for line in FileObjectPosix(sys.stdin.fileno(), "r"):
        command = line.strip()
        if command == "report":
            print(json.dumps(receivers.report()), flush=True)
        elif command == "quit":
            break
    for client in receivers.clients:
        gevent.spawn(client.disconnect)
    gevent.sleep(0.5)


if __name__ == "__main__":
    main()
