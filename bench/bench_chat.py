"""Benchmark live chat: one gevent server process (`gunicorn -c deploy/gunicorn.conf.py -w 1 wsgi:app`), separate
load processes.

Run: .venv/bin/python -m bench.bench_chat [--runs 5] [--clients 500] [--reconnect-clients 1000] [--load-procs 2]
     [--scenarios inbound,fanout,...] (a subset prints its rows and writes no report)
Writes bench/results/chat-<date>.md. Not a test: the numbers depend on the machine and on what else runs on it.

The load processes use bench/wsclient.py (raw WebSocket clients speaking Engine.IO/Socket.IO on one epoll
loop), not the python-socketio client, whose per-event cost made the load generator the bottleneck.
Latency is receive time minus a send time on the same clock: for messages the sender writes `t=<time>` into
the body; for the bare relay the k-th typing event a client receives is the k-th one sent.

Scenarios (each repeated --runs times; medians reported):
  fanout     N clients in one room (split across --load-procs processes); one sender posts at a fixed rate
             through the full write path; deliveries/s received, p50/p99 latency, messages lost.
  inbound    20 clients send as fast as their acks come back: messages/s through the full path (validate,
             sanitise, screen, store, emit). The senders do not join the room, so this measures the
             write path, not the fan-out of every message to every sender (fan-out has its own scenario).
             Also reports the server worker's CPU time per message, steadier than messages/s when the
             machine is shared.
  reconnect  M clients drop their connections at once, reconnect and rejoin with `after`: time until all are back,
             and the server worker's CPU time for the whole load process.
  memory     server RSS growth per idle connected client (joined to the room); again on a fresh server
             with clients that offer permessage-deflate, as browsers do.
Baselines measured in the same run: screening alone (moderation.screen per second, in process), and a
bare Socket.IO relay (typing events, which the server relays without touching the database) for the fan-out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine, result_path

sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
ROOM = "board-introductions"


# --- the load processes ------------------------------------------------------------------------------


def load_main(args: argparse.Namespace) -> None:
    from bench import wsclient

    tokens: list[str] = json.loads(Path(args.tokens).read_text())
    loop = wsclient.Loop()
    scenarios = {"fanout": fanout, "inbound": inbound, "reconnect": reconnect, "idle": idle}
    result = scenarios[args.scenario](args, loop, tokens)
    print(json.dumps(result), flush=True)
    os._exit(0)  # don't spend time closing hundreds of sockets politely


def _joined(args: argparse.Namespace, loop: Any, tokens: list[str]) -> tuple[list[Any], list[Any]]:
    """Connect and join this process's share of clients; returns (clients, join acks)."""
    from bench import wsclient

    clients = wsclient.connect_all(loop, args.url, tokens, deflate=args.deflate)
    acks = wsclient.call_all(loop, clients, "join", lambda _i: {"room": ROOM, "after": None})
    failed = [c.error for c, ack in zip(clients, acks) if not (ack or {}).get("ok")]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(clients)} clients could not join: {failed[:3]}")
    return clients, acks


def _wait_for_go(loop: Any) -> None:
    """Tell the parent we're ready, then keep answering pings until it says go."""
    print("ready", flush=True)
    go = [False]

    def on_stdin() -> None:
        os.read(sys.stdin.fileno(), 64)
        go[0] = True

    loop.watch(sys.stdin.fileno(), on_stdin)
    loop.run_until(lambda: go[0], 600)


def fanout(args: argparse.Namespace, loop: Any, tokens: list[str]) -> dict[str, Any]:
    """Listeners (this process's share); process 0 also sends. Reports raw receive data for the parent."""
    mine = tokens[args.first : args.first + args.clients]
    listeners, _ = _joined(args, loop, mine)
    event = "typing" if args.bare else "message"
    latencies: list[float] = []
    received: dict[int, int] = {}
    arrivals: list[list[float]] = [[] for _ in listeners]
    index = {id(c): i for i, c in enumerate(listeners)}
    last = [0.0]

    def on_event(client: Any, name: str, data: Any, now: float) -> None:
        if name != event:
            return
        last[0] = now
        if args.bare:
            arrivals[index[id(client)]].append(now)
            return
        body = data["body_html"]
        latencies.append(now - float(body.split("t=")[1].split("<")[0].split()[0]))
        received[data["id"]] = received.get(data["id"], 0) + 1

    for client in listeners:
        client.on_event = on_event
    sender = listeners[0] if args.sender else None
    _wait_for_go(loop)
    sent_at: list[float] = []
    expected_ids: list[int] = []
    acked = [0]
    start = time.time()
    if sender is not None:

        def on_ack(answer: Any, _now: float) -> None:
            acked[0] += 1
            if answer and answer.get("ok"):
                expected_ids.append(answer["message"]["id"])

        for n in range(args.messages):
            loop.run_until(lambda: False, max(0.0, start + n / args.rate - time.time()))
            sent_at.append(time.time())
            if args.bare:
                sender.emit("typing", {"room": ROOM, "typing": True})
            else:
                body = f"Message number {n} from me t={time.time():.6f}"
                sender.emit("send", {"room": ROOM, "body": body, "client_id": f"f{os.getpid()}-{n}"}, ack=on_ack)
        loop.run_until(lambda: args.bare or acked[0] >= args.messages, 30)
    # The server doesn't echo typing to its sender.
    want = (len(listeners) - (1 if args.bare and sender is not None else 0)) * args.messages

    def all_in() -> bool:
        return sum(len(a) for a in arrivals) >= want if args.bare else sum(received.values()) >= want

    loop.run_until(all_in, args.messages / args.rate + 15)
    return {
        "listeners": len(listeners),
        "latencies": latencies,
        "received": received,
        "arrivals": arrivals,
        "sent_at": sent_at,
        "expected_ids": expected_ids,
        "start": start,
        "last": last[0],
    }


def inbound(args: argparse.Namespace, loop: Any, tokens: list[str]) -> dict[str, Any]:
    from bench import wsclient

    senders = wsclient.connect_all(loop, args.url, tokens[: args.clients])
    counts = [0] * len(senders)
    errors = [0]
    sent = [0]
    stop_at = time.time() + args.seconds

    def pump(index: int, n: int) -> None:
        if time.time() >= stop_at:
            return

        def on_ack(answer: Any, _now: float) -> None:
            if answer and answer.get("ok"):
                counts[index] += 1
            else:
                errors[0] += 1
            pump(index, n + 1)

        body = {"room": ROOM, "body": f"Message number {n} from me", "client_id": f"i{os.getpid()}-{index}-{n}"}
        sent[0] += 1
        senders[index].emit("send", body, ack=on_ack)

    start = time.time()
    for i in range(len(senders)):
        pump(i, 0)
    # A message counts when its ack arrives, however late: wait for the last sends' acks too.
    loop.run_until(lambda: time.time() >= stop_at and sum(counts) + errors[0] >= sent[0], args.seconds + 60)
    elapsed = time.time() - start
    return {"messages": sum(counts), "errors": errors[0], "elapsed_s": elapsed, "messages_per_s": sum(counts) / elapsed}


def reconnect(args: argparse.Namespace, loop: Any, tokens: list[str]) -> dict[str, Any]:
    from bench import wsclient

    mine = tokens[: args.clients]
    clients, acks = _joined(args, loop, mine)
    last_ids = [max([m["id"] for m in ack["history"]] or [0]) for ack in acks]
    for client in clients:
        client.close()  # every connection drops at once
    start = time.time()
    again = wsclient.connect_all(loop, args.url, mine)
    answers = wsclient.call_all(loop, again, "join", lambda i: {"room": ROOM, "after": last_ids[i]})
    elapsed = time.time() - start
    failed = [client for client, answer in zip(again, answers) if not (answer or {}).get("ok")]
    reasons = sorted({client.error or "no ack" for client in failed})[:3]
    return {"clients": len(clients), "errors": len(failed), "error_reasons": reasons, "all_back_s": elapsed}


def idle(args: argparse.Namespace, loop: Any, tokens: list[str]) -> dict[str, Any]:
    clients, _ = _joined(args, loop, tokens[: args.clients])
    _wait_for_go(loop)  # held open (answering pings) until the parent has measured the server
    return {"connected": len(clients)}


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
                # The deployed settings (the collector's among them); the options below override the rest.
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
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
    from forum.services.accounts import token_hash

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
                ApiToken(user_id=user.id, token_hash=token_hash(token), session_version=user.session_version)
            )
        db.session.commit()
    token_file.write_text(json.dumps(tokens))


def load_command(server: Server, token_file: Path, scenario: str, **options: Any) -> list[str]:
    command = [PYTHON, "-m", "bench.bench_chat", "--load", "--url", server.url, "--tokens", str(token_file)]
    command += ["--scenario", scenario]
    for key, value in options.items():
        if value is True:
            command.append(f"--{key}")
        elif value is not False:
            command += [f"--{key.replace('_', '-')}", str(value)]
    return command


def run_load(server: Server, token_file: Path, scenario: str, **options: Any) -> dict[str, Any]:
    command = load_command(server, token_file, scenario, **options)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"load process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def start_ready(commands: list[list[str]], timeout: float = 240) -> list[subprocess.Popen[str]]:
    """Start load processes and wait until each has printed "ready" (connected and joined)."""
    procs = [
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        for command in commands
    ]
    deadline = time.time() + timeout
    for proc in procs:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.time()))
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            for other in procs:
                other.kill()
            error = proc.stderr.read()[-3000:] if proc.stderr else ""
            raise RuntimeError(f"load process not ready ({line!r}):\n{error}")
    return procs


def finish(procs: list[subprocess.Popen[str]], timeout: float = 300) -> list[dict[str, Any]]:
    """Say go to every ready load process and collect the JSON line each prints at the end."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"load process failed ({proc.returncode}):\n{err[-3000:]}")
        results.append(json.loads(lines[-1]))
    return results


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (utime and stime in /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_inbound(server: Server, token_file: Path, *, seconds: float) -> dict[str, Any]:
    """The inbound scenario, plus the server worker's CPU time per acknowledged message.

    CPU time is steadier than messages/s on a shared machine: other work steals wall time, not CPU time.
    """
    assert server.process is not None
    pid = worker_pid(server.process.pid)
    before = cpu_seconds(pid)
    row = run_load(server, token_file, "inbound", clients=20, seconds=seconds)
    row["server_cpu_ms_per_msg"] = 1000 * (cpu_seconds(pid) - before) / max(1, row["messages"])
    return row


def run_reconnect(server: Server, token_file: Path, *, clients: int) -> dict[str, Any]:
    """The reconnect scenario, plus the server worker's CPU time for the whole load process (first join,
    drop, reconnect, rejoin): steadier than the wall time on a shared machine."""
    assert server.process is not None
    pid = worker_pid(server.process.pid)
    before = cpu_seconds(pid)
    row = run_load(server, token_file, "reconnect", clients=clients)
    row["server_cpu_s"] = cpu_seconds(pid) - before
    return row


def run_fanout(
    server: Server, token_file: Path, *, clients: int, messages: int, rate: float, bare: bool, procs: int
) -> dict[str, Any]:
    """Listeners split across `procs` load processes; the first process's first client sends."""
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    firsts = [sum(shares[:i]) for i in range(procs)]
    common = {"messages": messages, "rate": rate, "bare": bare}
    commands = [
        load_command(server, token_file, "fanout", clients=share, first=first, sender=(i == 0), **common)
        for i, (share, first) in enumerate(zip(shares, firsts))
    ]
    parts = finish(start_ready(commands))
    return summarise_fanout(parts, messages, bare)


def summarise_fanout(parts: list[dict[str, Any]], messages: int, bare: bool) -> dict[str, Any]:
    sender = parts[0]
    listeners = sum(part["listeners"] for part in parts)
    if bare:
        sent_at = sender["sent_at"]
        latencies = [at - sent_at[k] for part in parts for seen in part["arrivals"] for k, at in enumerate(seen)]
        want = (listeners - 1) * messages
        lost = want - len(latencies)
    else:
        latencies = [value for part in parts for value in part["latencies"]]
        want = listeners * messages
        counts: dict[str, int] = {}
        for part in parts:
            for key, count in part["received"].items():
                counts[key] = counts.get(key, 0) + count
        lost = sum(listeners - counts.get(str(i), 0) for i in sender["expected_ids"])
        lost += listeners * (messages - len(sender["expected_ids"]))  # sends that were never acknowledged
    last = max(part["last"] for part in parts)
    elapsed = max(last - sender["start"], 1e-9)
    latencies.sort()
    return {
        "listeners": listeners,
        "deliveries": len(latencies),
        "expected": want,
        "lost": lost,
        "elapsed_s": elapsed,
        "deliveries_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else None,
    }


def measure_idle_memory(server: Server, token_file: Path, clients: int, *, deflate: bool = False) -> dict[str, Any]:
    """RSS growth per idle client joined to the room. With `deflate` the clients offer WebSocket compression
    (permessage-deflate) as browsers do, so the figure includes whatever the server keeps for it."""
    assert server.process is not None
    pid = worker_pid(server.process.pid)
    time.sleep(1)
    before = rss_kib(pid)
    procs = start_ready([load_command(server, token_file, "idle", clients=clients, deflate=deflate)])
    time.sleep(2)
    after = rss_kib(pid)
    finish(procs)
    return {
        "clients": clients,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_client": (after - before) / clients,
    }


def idle_memory_on_own_server(database_url: str, token_file: Path, clients: int) -> dict[str, Any]:
    """Browser-like idle clients on a fresh server: memory freed by earlier clients would be reused and hide growth."""
    from tests.support.live import free_port

    server = Server(database_url, free_port())
    server.start()
    try:
        return measure_idle_memory(server, token_file, clients, deflate=True)
    finally:
        server.stop()


def screening_baseline(seconds: float = 3.0) -> float:
    import moderation

    moderation.screen("warm up")
    n, start = 0, time.time()
    while time.time() - start < seconds:
        moderation.screen(f"Message number {n} from me")
        n += 1
    return n / (time.time() - start)


def median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return statistics.median(values) if values else None


SCENARIOS = ("memory", "fanout_bare", "fanout", "inbound", "reconnect")


def orchestrate(args: argparse.Namespace) -> None:
    from tests.support.live import free_port

    started = time.time()
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    database_url = f"sqlite:///{work / 'bench.db'}"
    token_file = work / "tokens.json"
    prepare_database(database_url, max(args.clients, args.reconnect_clients), token_file)
    results: dict[str, list[dict[str, Any]]] = {"fanout": [], "fanout_bare": [], "inbound": [], "reconnect": []}
    chosen = set(args.scenarios.split(","))
    baseline_screen = screening_baseline()
    server = Server(database_url, free_port())
    server.start()
    try:
        memory: dict[str, Any] = {}
        if "memory" in chosen:
            memory = measure_idle_memory(server, token_file, args.reconnect_clients)
            memory["browser_like"] = idle_memory_on_own_server(database_url, token_file, args.reconnect_clients)
        print("memory", memory, flush=True)
        fan = {"clients": args.clients, "messages": args.messages, "rate": args.rate, "procs": args.load_procs}
        for run in range(args.runs):
            steps = {
                "fanout_bare": lambda: run_fanout(server, token_file, bare=True, **fan),
                "fanout": lambda: run_fanout(server, token_file, bare=False, **fan),
                "inbound": lambda: run_inbound(server, token_file, seconds=args.seconds),
                "reconnect": lambda: run_reconnect(server, token_file, clients=args.reconnect_clients),
            }
            for name, step in steps.items():
                if name not in chosen:
                    continue
                row = step()
                results[name].append(row)
                print(run, name, row, flush=True)
                time.sleep(1)  # let the server close the finished process's sockets before the next scenario
    finally:
        server.stop()
    if chosen >= set(SCENARIOS):
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
    out = result_path("chat")

    def fmt(value: float | None, digits: int = 1) -> str:
        return "n/a" if value is None else f"{value:,.{digits}f}"

    fan, bare, inb, rec = results["fanout"], results["fanout_bare"], results["inbound"], results["reconnect"]
    lines = [
        f"# Chat benchmark, {today}",
        "",
        f"Machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}; load average at start "
        f"{info['load average at start']} (a shared machine: the load average is the context for every figure).",
        f"Measured {info['date']}, commit {info['commit']}.",
        "Server: one `gunicorn -c deploy/gunicorn.conf.py -k gevent -w 1 wsgi:app` process, SQLite (WAL, "
        "synchronous=FULL), no Redis.",
        f"Load: {args.load_procs} separate processes of raw WebSocket clients (bench/wsclient.py, one epoll loop "
        "each).",
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
        f"| Inbound, full path (20 senders outside the room), messages/s | >= 1,000 | "
        f"{fmt(median(inb, 'messages_per_s'))} | "
        f"{', '.join(fmt(r['messages_per_s']) for r in inb)} |",
        f"| Inbound: server worker CPU per message, ms | | {fmt(median(inb, 'server_cpu_ms_per_msg'), 2)} | "
        f"{', '.join(fmt(r['server_cpu_ms_per_msg'], 2) for r in inb)} |",
        f"| Baseline: moderation.screen alone, in process, per s | | {fmt(baseline_screen)} | 1 |",
        f"| Reconnect + rejoin of {args.reconnect_clients} clients, s | <= 2 | {fmt(median(rec, 'all_back_s'), 2)} | "
        f"{', '.join(fmt(r['all_back_s'], 2) for r in rec)} |",
        f"| Reconnect errors | 0 | {fmt(median(rec, 'errors'), 0)} | {', '.join(str(r['errors']) for r in rec)} |",
        f"| Reconnect: server worker CPU (join, drop, rejoin), s | | {fmt(median(rec, 'server_cpu_s'), 2)} | "
        f"{', '.join(fmt(r['server_cpu_s'], 2) for r in rec)} |",
        f"| Memory per idle client, KiB ({memory['clients']} clients) | <= 100 | {fmt(memory['kib_per_client'])} | 1 |",
        f"| Memory per idle client offering permessage-deflate as browsers do, KiB | | "
        f"{fmt(memory['browser_like']['kib_per_client'])} | 1 |",
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
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    # A subset (e.g. --scenarios inbound) prints its rows and writes no report.
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--reconnect-clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--sender", action="store_true")
    args = parser.parse_args()
    if args.load:
        load_main(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
