"""Benchmark live chat: one gevent server process (`gunicorn -k gevent -w 1 wsgi:app`), a separate load process.

Run: .venv/bin/python bench/bench_chat.py [--runs 5] [--clients 500] [--reconnect-clients 1000]
Writes bench/results/chat-<date>.md. Not a test: the numbers depend on the machine and on what else runs on it.

Scenarios (each repeated --runs times; medians reported):
  fanout     N clients in one room; paced senders; deliveries/s received, p99 latency, messages lost.
  inbound    20 clients send as fast as acks come back: messages/s through the full path
             (validate, sanitise, screen, store, deliver).
  reconnect  M clients drop their connections at once and reconnect + rejoin with `after`: time until all are back.
  memory     server RSS growth per idle connected client.
Baselines measured in the same run: screening alone (moderation.screen per second, in process), and a
bare Socket.IO broadcast (an event the server relays without touching the database) for the fan-out.
"""

from __future__ import annotations

import sys

if "--load" in sys.argv:  # the load process: patch before anything imports socket or threading
    from gevent import monkey

    monkey.patch_all()

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
ROOM = "board-introductions"


# --- the load process --------------------------------------------------------------------------------


def load_main(args: argparse.Namespace) -> None:
    import gevent
    import socketio

    tokens: list[str] = json.loads(Path(args.tokens).read_text())
    url = args.url

    def connect(token: str) -> Any:
        client = socketio.Client(reconnection=False)
        client.connect(url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"], wait_timeout=30)
        return client

    def connect_many(count: int) -> list[Any]:
        jobs = [gevent.spawn(connect, tokens[i % len(tokens)]) for i in range(count)]
        gevent.joinall(jobs, raise_error=True)
        return [job.value for job in jobs]

    def join(client: Any, after: int | None = None) -> dict[str, Any]:
        return client.call("join", {"room": ROOM, "after": after}, namespace="/chat", timeout=60)

    result: dict[str, Any] = {}
    if args.scenario == "fanout":
        result = fanout(args, connect_many, join, gevent)
    elif args.scenario == "inbound":
        result = inbound(args, connect_many, join, gevent)
    elif args.scenario == "reconnect":
        result = reconnect(args, connect_many, join, connect, gevent)
    elif args.scenario == "idle":
        clients = connect_many(args.clients)
        print(json.dumps({"connected": len(clients)}), flush=True)
        sys.stdin.readline()  # held open until the parent has measured the server
        result = {"connected": len(clients)}
    print(json.dumps(result), flush=True)
    os._exit(0)  # don't spend seconds closing hundreds of sockets politely


def fanout(args: argparse.Namespace, connect_many: Any, join: Any, gevent: Any) -> dict[str, Any]:
    listeners = connect_many(args.clients)
    latencies: list[float] = []
    received: dict[int, int] = {}
    expected_ids: set[int] = set()
    bare = args.bare
    event = "typing" if bare else "message"
    sent_at: list[float] = []
    for client in listeners:
        seen = [0]

        def on_event(data: Any, _seen: list[int] = seen) -> None:
            now = time.time()
            if bare:
                # The baseline: typing events are relayed without a database write; one sender, in order,
                # so the k-th one a client receives is the k-th one sent.
                key = _seen[0]
                _seen[0] += 1
                sent = sent_at[key] if key < len(sent_at) else now
            else:
                body = data["body_html"]
                sent = float(body.split("t=")[1].split("<")[0].split()[0])
                key = data["id"]
            latencies.append(now - sent)
            received[key] = received.get(key, 0) + 1

        client.on(event, on_event, namespace="/chat")
    gevent.joinall([gevent.spawn(join, c) for c in listeners], raise_error=True)
    sender = listeners[0]
    start = time.time()
    gap = 1.0 / args.rate
    for n in range(args.messages):
        body = f"Message number {n} from me t={time.time():.6f}"
        if bare:
            sent_at.append(time.time())
            sender.emit("typing", {"room": ROOM, "typing": True}, namespace="/chat")
        else:
            ack = sender.call(
                "send", {"room": ROOM, "body": body, "client_id": f"f{os.getpid()}-{n}"}, namespace="/chat", timeout=30
            )
            expected_ids.add(ack["message"]["id"])
        next_at = start + (n + 1) * gap
        gevent.sleep(max(0.0, next_at - time.time()))
    deadline = time.time() + 15
    # The server doesn't echo typing to its sender.
    want = (len(listeners) - (1 if bare else 0)) * args.messages
    while sum(received.values()) < want and time.time() < deadline:
        gevent.sleep(0.05)
    elapsed = max(time.time() - start, 1e-9)
    total = sum(received.values())
    lost = sum(len(listeners) - received.get(i, 0) for i in expected_ids) if not bare else want - total
    latencies.sort()
    return {
        "deliveries": total,
        "expected": want,
        "lost": lost,
        "elapsed_s": elapsed,
        "deliveries_per_s": total / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else None,
    }


def inbound(args: argparse.Namespace, connect_many: Any, join: Any, gevent: Any) -> dict[str, Any]:
    senders = connect_many(args.clients)
    gevent.joinall([gevent.spawn(join, c) for c in senders], raise_error=True)
    stop_at = time.time() + args.seconds
    counts = [0] * len(senders)
    errors = [0]

    def pump(index: int, client: Any) -> None:
        n = 0
        while time.time() < stop_at:
            ack = client.call(
                "send",
                {"room": ROOM, "body": f"Message number {n} from me", "client_id": f"i{os.getpid()}-{index}-{n}"},
                namespace="/chat",
                timeout=60,
            )
            n += 1
            if ack.get("ok"):
                counts[index] += 1
            else:
                errors[0] += 1

    start = time.time()
    gevent.joinall([gevent.spawn(pump, i, c) for i, c in enumerate(senders)], raise_error=True)
    elapsed = time.time() - start
    return {"messages": sum(counts), "errors": errors[0], "elapsed_s": elapsed, "messages_per_s": sum(counts) / elapsed}


def reconnect(args: argparse.Namespace, connect_many: Any, join: Any, connect: Any, gevent: Any) -> dict[str, Any]:
    tokens: list[str] = json.loads(Path(args.tokens).read_text())
    clients = connect_many(args.clients)
    acks = [None] * len(clients)
    jobs = [gevent.spawn(join, c) for c in clients]
    gevent.joinall(jobs, raise_error=True)
    last_ids = [max([m["id"] for m in job.value["history"]] or [0]) for job in jobs]
    for client in clients:
        client.eio.disconnect(abort=True)  # every connection drops at once
    errors = [0]

    def back(index: int) -> None:
        try:
            client = connect(tokens[index % len(tokens)])
            acks[index] = join(client, after=last_ids[index])
            if not acks[index]["ok"]:
                errors[0] += 1
        except Exception:
            errors[0] += 1

    start = time.time()
    gevent.joinall([gevent.spawn(back, i) for i in range(len(clients))])
    elapsed = time.time() - start
    return {"clients": len(clients), "errors": errors[0], "all_back_s": elapsed}


# --- the orchestrating process ------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    total = 0
    for candidate in [pid, *child_pids(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = max(total, int(line.split()[1]))
        except OSError:
            continue
    return total


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def worker_pid(master: int) -> int:
    children = child_pids(master)
    return children[0] if children else master


class Server:
    def __init__(self, database_url: str, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.env = {
            **os.environ,
            "FORUM_DATABASE_URL": database_url,
            "FORUM_SECRET_KEY": "bench-secret-key",
            "FORUM_RATELIMIT_ENABLED": "0",
            "FORUM_SOCKETIO_ASYNC_MODE": "gevent",
            "FORUM_CORS_ALLOWED_ORIGINS": json.dumps([self.url]),
            "FORUM_SEED_ON_START": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.gettempdir()) / f"bench-chat-{port}.log"

    def start(self) -> None:
        gunicorn = shutil.which("gunicorn", path=str(Path(PYTHON).parent)) or "gunicorn"
        self.process = subprocess.Popen(
            [
                gunicorn,
                "-k",
                "gevent",
                "-w",
                "1",
                "--worker-connections",
                "4000",
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def prepare_database(database_url: str, people: int, token_file: Path) -> None:
    from forum import create_app
    from forum.extensions import db
    from forum.models import ApiToken, User
    from forum.seeding import seed_boards
    from forum.services.accounts import _token_hash

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-secret-key", "ARGON2_PROFILE": "CHEAPEST"}
    )
    tokens = []
    with app.app_context():
        db.create_all()
        seed_boards()
        # Bulk rows, not the register service: argon2 for a thousand people would dominate the run.
        users = [
            User(username=f"bench{i}", username_key=f"bench{i}", password_hash="!")  # noqa: S106
            for i in range(people)
        ]
        db.session.add_all(users)
        db.session.flush()
        for i, user in enumerate(users):
            token = f"bench-token-{i}-{os.getpid()}"
            tokens.append(token)
            db.session.add(
                ApiToken(user_id=user.id, token_hash=_token_hash(token), session_version=user.session_version)
            )
        db.session.commit()
    token_file.write_text(json.dumps(tokens))


def run_load(server: Server, token_file: Path, scenario: str, **options: Any) -> dict[str, Any]:
    command = [
        PYTHON,
        str(Path(__file__).resolve()),
        "--load",
        "--url",
        server.url,
        "--tokens",
        str(token_file),
        "--scenario",
        scenario,
    ]
    for key, value in options.items():
        if value is True:
            command.append(f"--{key}")
        else:
            command += [f"--{key}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"load process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def measure_idle_memory(server: Server, token_file: Path, clients: int) -> dict[str, Any]:
    assert server.process is not None
    pid = worker_pid(server.process.pid)
    time.sleep(1)
    before = rss_kib(pid)
    load = subprocess.Popen(
        [
            PYTHON,
            str(Path(__file__).resolve()),
            "--load",
            "--url",
            server.url,
            "--tokens",
            str(token_file),
            "--scenario",
            "idle",
            "--clients",
            str(clients),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert load.stdout is not None and load.stdin is not None
    load.stdout.readline()
    time.sleep(2)
    after = rss_kib(pid)
    load.stdin.write("\n")
    load.stdin.flush()
    load.wait(timeout=60)
    return {
        "clients": clients,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_client": (after - before) / clients,
    }


def screening_baseline(seconds: float = 3.0) -> float:
    import moderation

    moderation.screen("warm up")
    n, start = 0, time.time()
    while time.time() - start < seconds:
        moderation.screen(f"Message number {n} from me")
        n += 1
    return n / (time.time() - start)


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = Path("/proc/loadavg").read_text().split()[:3]
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "loadavg_at_start": " ".join(load),
    }


def median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return statistics.median(values) if values else None


def orchestrate(args: argparse.Namespace) -> None:
    from tests.support.live import free_port

    started = time.time()
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    database_url = f"sqlite:///{work / 'bench.db'}"
    token_file = work / "tokens.json"
    prepare_database(database_url, max(args.clients, args.reconnect_clients), token_file)
    results: dict[str, list[dict[str, Any]]] = {"fanout": [], "fanout_bare": [], "inbound": [], "reconnect": []}
    baseline_screen = screening_baseline()
    server = Server(database_url, free_port())
    server.start()
    try:
        memory = measure_idle_memory(server, token_file, args.reconnect_clients)
        print("memory", memory, flush=True)
        for run in range(args.runs):
            for name, scenario, options in (
                (
                    "fanout_bare",
                    "fanout",
                    {"clients": args.clients, "messages": args.messages, "rate": args.rate, "bare": True},
                ),
                ("fanout", "fanout", {"clients": args.clients, "messages": args.messages, "rate": args.rate}),
                ("inbound", "inbound", {"clients": 20, "seconds": args.seconds}),
                ("reconnect", "reconnect", {"clients": args.reconnect_clients}),
            ):
                row = run_load(server, token_file, scenario, **options)
                results[name].append(row)
                print(run, name, row, flush=True)
    finally:
        server.stop()
    write_report(args, info, memory, results, baseline_screen, time.time() - started)
    shutil.rmtree(work, ignore_errors=True)


def write_report(
    args: argparse.Namespace,
    info: dict[str, str],
    memory: dict[str, Any],
    results: dict[str, list[dict[str, Any]]],
    baseline_screen: float,
    took: float,
) -> None:
    today = dt.date.today().isoformat()
    out = ROOT / "bench" / "results" / f"chat-{today}.md"

    def fmt(value: float | None, digits: int = 1) -> str:
        return "n/a" if value is None else f"{value:,.{digits}f}"

    fan, bare, inb, rec = results["fanout"], results["fanout_bare"], results["inbound"], results["reconnect"]
    lines = [
        f"# Chat benchmark, {today}",
        "",
        f"Machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}; load average at start "
        f"{info['loadavg_at_start']} (the machine is shared: other engineers' tests were running).",
        "Server: one `gunicorn -k gevent -w 1 wsgi:app` process, SQLite (WAL, synchronous=FULL), no Redis.",
        "Load: a separate process, python-socketio clients on gevent, WebSocket transport.",
        f"Runs per scenario: {args.runs}; medians below; whole run took {took:.0f} s.",
        "",
        "| Scenario | Target | Median | Runs |",
        "|---|---|---|---|",
        f"| Fan-out: deliveries/s to {args.clients} clients ({args.messages} messages at {args.rate}/s) | >= 15,000 | "
        f"{fmt(median(fan, 'deliveries_per_s'), 0)} | {', '.join(fmt(r['deliveries_per_s'], 0) for r in fan)} |",
        f"| Fan-out p99 latency, ms | <= 50 | {fmt(median(fan, 'p99_ms'))} | "
        f"{', '.join(fmt(r['p99_ms']) for r in fan)} |",
        f"| Fan-out p50 latency, ms | | {fmt(median(fan, 'p50_ms'))} | {', '.join(fmt(r['p50_ms']) for r in fan)} |",
        f"| Fan-out messages lost | 0 | {fmt(median(fan, 'lost'), 0)} | {', '.join(str(r['lost']) for r in fan)} |",
        f"| Baseline: bare relay (typing, no DB) deliveries/s | | {fmt(median(bare, 'deliveries_per_s'), 0)} | "
        f"{', '.join(fmt(r['deliveries_per_s'], 0) for r in bare)} |",
        f"| Inbound, full path (20 senders), messages/s | >= 1,000 | {fmt(median(inb, 'messages_per_s'))} | "
        f"{', '.join(fmt(r['messages_per_s']) for r in inb)} |",
        f"| Baseline: moderation.screen alone, in process, per s | | {fmt(baseline_screen)} | 1 |",
        f"| Reconnect + rejoin of {args.reconnect_clients} clients, s | <= 2 | {fmt(median(rec, 'all_back_s'), 2)} | "
        f"{', '.join(fmt(r['all_back_s'], 2) for r in rec)} |",
        f"| Reconnect errors | 0 | {fmt(median(rec, 'errors'), 0)} | {', '.join(str(r['errors']) for r in rec)} |",
        f"| Memory per idle client, KiB ({memory['clients']} clients) | <= 100 | {fmt(memory['kib_per_client'])} | 1 |",
        "",
        "Raw results:",
        "",
        "```json",
        json.dumps({"memory": memory, **results, "baseline_screen_per_s": baseline_screen}, indent=1),
        "```",
        "",
    ]
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


def raise_open_file_limit() -> None:
    # A thousand sockets on each side would pass the usual soft limit of 1024 descriptors.
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def main() -> None:
    raise_open_file_limit()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--tokens")
    parser.add_argument("--scenario")
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--reconnect-clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    if args.load:
        load_main(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
