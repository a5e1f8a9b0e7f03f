"""Scale-out under load: Socket.IO fan-out across processes on a Redis queue, and pages on PostgreSQL vs SQLite.

Part 1, chat fan-out (issue 7). Servers are gunicorn with deploy/gunicorn.conf.py (one gevent worker per
process) on one PostgreSQL schema. CLIENTS Socket.IO clients (raw WebSocket clients on one epoll loop in each
of two load-generator processes, bench/cluster_loadgen.py) join one room; a sender posts bursts of MESSAGES
chat messages through the full write path and every client records when each arrived. Three set-ups in the same run:
  - one process, in-memory queue (the baseline),
  - one process on the Redis queue (same clients, same process count: the difference is what Redis adds),
  - two processes on the Redis queue, clients split across them (the scale-out set-up).
Target: Redis adds <= 2 ms to the median delivery latency.

Part 2, pages: thread page (50 posts shown, signed in) and replies through the API on PostgreSQL next to SQLite,
with bench_forum's server (deploy/gunicorn.conf.py, 2 gevent workers) and wrk.

Usage: python -m bench.bench_cluster [--runs 5] [--clients 1000] [--messages 20] [--seconds 5] [--skip-pages]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import redis
import socketio

from bench.bench_forum import (
    REPLY_SCRIPT,
    THREAD_PAGE,
    USER_AGENT,
    prepare_database,
    server_env,
    session_cookie,
    start_server,
    wrk,
)
from bench.common import ROOT, median, wait_for_health, write_result

POSTGRES = os.environ.get("FORUM_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FORUM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
ROOM = "board-introductions"
USERS = 50  # receivers share 50 accounts: presence events go out per person, deliveries per socket
LOADGENS = 2


# --- databases --------------------------------------------------------------------------------------


def postgres_schema(name: str) -> str:
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{name}"')
    return f"{POSTGRES}?options=-csearch_path%3D{name}"


def drop_schema(name: str) -> None:
    """Best effort: a cleanup that fails (a lock held by another session) must not lose the measurements."""
    for attempt in range(3):
        try:
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            return
        except psycopg.Error as error:
            print(f"could not drop schema {name} (attempt {attempt + 1}): {error}", file=sys.stderr)
            time.sleep(2)


def prepare_chat(url: str) -> tuple[list[str], str]:
    """Receivers' tokens and the sender's (trusted, so the new-account chat limit does not apply)."""
    from forum import create_app
    from forum.extensions import db
    from forum.seeding import seed_boards
    from forum.services import accounts
    from forum.services.transaction import write_transaction

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "ARGON2_PROFILE": "CHEAPEST"})
    with app.app_context():
        db.create_all()
        seed_boards()
        tokens = [accounts.issue_token(accounts.register(f"listener_{n}", "bench password 123")) for n in range(USERS)]
        sender = accounts.register("bench_sender", "bench password 123")
        with write_transaction():
            sender.trusted = True
        return tokens, accounts.issue_token(sender)


# --- servers and clients ----------------------------------------------------------------------------


def start_socket_server(database_url: str, port: int, redis_url: str | None, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HEARTH_BIND": f"127.0.0.1:{port}",
        "HEARTH_LOG_LEVEL": "warning",
        "FORUM_DATABASE_URL": database_url,
        "FORUM_SECRET_KEY": "bench",
        "FORUM_RATELIMIT_ENABLED": "0",
        "FORUM_ARGON2_PROFILE": "CHEAPEST",
        # python-socketio's websocket client sends the server's own address as its Origin.
        "FORUM_CORS_ALLOWED_ORIGINS": json.dumps([f"http://127.0.0.1:{port}"]),
    }
    env.pop("FORUM_REDIS_URL", None)
    if redis_url:
        env["FORUM_REDIS_URL"] = redis_url
    command = [str(ROOT / ".venv/bin/gunicorn"), "--config", str(ROOT / "deploy/gunicorn.conf.py"), "wsgi:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_for_health(process, f"http://127.0.0.1:{port}/healthz", log)
    return process


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


class LoadGen:
    def __init__(self, workdir: Path, index: int, urls: list[str], tokens: list[str], clients: int) -> None:
        config = workdir / f"loadgen-{index}.json"
        config.write_text(
            json.dumps({"urls": urls, "tokens": tokens, "clients": clients, "room": ROOM, "offset": index})
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.cluster_loadgen", str(config)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(workdir / f"loadgen-{index}.log").open("wb"),
            text=True,
        )

    def wait_ready(self, timeout: float = 240) -> tuple[int, int]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise RuntimeError("load generator did not connect its clients in time")
        _, connected, errors = self.process.stdout.readline().split()
        return int(connected), int(errors)

    def report(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("report\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def quit(self) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


def send_burst(sender: socketio.Client, messages: int, burst: int) -> float:
    """Send `messages` bench messages, each after the previous one's ack; returns the first send time."""
    first = time.time()
    for n in range(messages):
        number = burst * 1000 + n
        # A fresh client id per send: a repeated one would be an idempotent replay, stored and sent once.
        client_id = f"b-{uuid.uuid4().hex}"
        ack = sender.call(
            "send",
            {"room": ROOM, "body": f"bench {number} {time.time():.6f}", "client_id": client_id},
            namespace="/chat",
            timeout=30,
        )
        if not ack.get("ok"):
            raise RuntimeError(f"send refused: {ack}")
    return first


def measure_setup(
    name: str, ports: list[int], redis_url: str | None, database_url: str, tokens: list[str], sender_token: str,
    args: argparse.Namespace, workdir: Path,
) -> dict[str, Any]:  # fmt: skip
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    servers = [start_socket_server(database_url, port, redis_url, workdir / f"server-{port}.log") for port in ports]
    loadgens: list[LoadGen] = []
    sender = socketio.Client(reconnection=False)
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        started = time.monotonic()
        share = args.clients // LOADGENS
        loadgens = [LoadGen(workdir, i, urls, tokens, share) for i in range(LOADGENS)]
        connected = [lg.wait_ready() for lg in loadgens]
        connect_seconds = time.monotonic() - started
        clients = sum(c for c, _ in connected)
        sender.connect(urls[0], auth={"token": sender_token}, namespaces=["/chat"], transports=["websocket"])
        sender.call("join", {"room": ROOM, "after": None}, namespace="/chat", timeout=60)
        send_burst(sender, 2, 999)  # warm-up: the screening model loads on the first message
        time.sleep(2)
        for lg in loadgens:
            lg.report()
        bursts = [_burst(sender, loadgens, clients, args, n) for n in range(args.runs)]
    finally:
        if sender.connected:
            sender.disconnect()
        for lg in loadgens:
            lg.quit()
        for server in servers:
            stop(server)
    return {
        "setup": name,
        "processes": len(ports),
        "redis": bool(redis_url),
        "clients": clients,
        "connect_errors": sum(e for _, e in connected),
        "connect_seconds": round(connect_seconds, 1),
        "bursts": bursts,
    }


def _burst(sender: socketio.Client, loadgens: list[LoadGen], clients: int, args: argparse.Namespace, n: int) -> dict:
    first_send = send_burst(sender, args.messages, n)
    expected = clients * args.messages
    deadline = time.monotonic() + 30
    reports: list[dict[str, Any]] = []
    received: list[float] = []
    last = first_send
    # Wait for every delivery (or the deadline): collect reports until the counts stop growing.
    while time.monotonic() < deadline:
        time.sleep(1.0)
        reports = [lg.report() for lg in loadgens]
        for report in reports:
            for values in report["latencies"].values():
                received.extend(values)
            if report["last"]:
                last = max(last, report["last"])
        if len(received) >= expected:
            break
    received.sort()
    return {
        "deliveries": len(received),
        "lost": expected - len(received),
        "per_second": len(received) / max(last - first_send, 1e-6),
        "p50_ms": 1000 * statistics.median(received) if received else float("nan"),
        "p99_ms": 1000 * received[int(0.99 * (len(received) - 1))] if received else float("nan"),
    }


def run_sockets(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    schema = f"hearth_bench_cluster_{os.getpid()}"
    database_url = postgres_schema(schema)
    try:
        tokens, sender_token = prepare_chat(database_url)
        setups = [
            ("one process, in-memory queue (baseline)", [5711], None),
            ("one process, Redis queue", [5712], REDIS_URL),
            ("two processes, Redis queue", [5713, 5714], REDIS_URL),
        ]
        return [
            measure_setup(name, ports, redis_url, database_url, tokens, sender_token, args, workdir)
            for name, ports, redis_url in setups
        ]
    finally:
        drop_schema(schema)


# --- pages on PostgreSQL and SQLite -----------------------------------------------------------------


def run_pages(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, list[dict]]]:
    script = workdir / "reply.lua"
    script.write_text(REPLY_SCRIPT)
    schema = f"hearth_bench_pages_{os.getpid()}"
    backends = {"SQLite": f"sqlite:///{workdir / 'pages.db'}", "PostgreSQL": postgres_schema(schema)}
    results: dict[str, dict[str, list[dict]]] = {}
    try:
        for port, (name, url) in enumerate(backends.items(), start=5721):
            setup = prepare_database(url)
            env = server_env(url)
            env.pop("FORUM_REDIS_URL", None)
            server = start_server(env, port, workdir / f"pages-{port}.log")
            base = f"http://127.0.0.1:{port}"
            runs: dict[str, list[dict]] = {THREAD_PAGE: [], "reply (API, full write path)": []}
            try:
                cookie = {"Cookie": session_cookie(port), "User-Agent": USER_AGENT}
                bearer = {"Authorization": f"Bearer {setup['token']}"}
                for _ in range(args.runs):
                    runs[THREAD_PAGE].append(
                        wrk(f"{base}/t/{setup['thread_id']}?page=1", args.seconds, args.connections, cookie)
                    )
                    runs["reply (API, full write path)"].append(
                        wrk(f"{base}/api/v1/threads/{setup['thread_id']}/posts", args.seconds, args.connections,
                            bearer, script)
                    )  # fmt: skip
            finally:
                stop(server)
            results[name] = runs
    finally:
        drop_schema(schema)
    return results


# --- the report -------------------------------------------------------------------------------------


def report(sockets: list[dict[str, Any]], pages: dict[str, dict[str, list[dict]]], args: argparse.Namespace) -> str:
    lines = [
        "## Chat fan-out across processes",
        "",
        f"{args.clients} Socket.IO clients (websocket, raw clients on one epoll loop per process, {LOADGENS} "
        f"load-generator processes on this machine) in one room; a sender posts {args.messages} messages per burst "
        "through the full write path (sanitise, screen, store, emit), each after the previous one's ack; "
        f"{args.runs} bursts per set-up; medians over bursts. Servers: gunicorn -c deploy/gunicorn.conf.py "
        "(gevent, 1 worker per process), PostgreSQL, Redis on 127.0.0.1. "
        "Latency = receive time - send time (one clock).",
        "",
        "| set-up | clients | connect s | deliveries/s | p50 ms | p99 ms | lost |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in sockets:
        bursts = result["bursts"]
        lines.append(
            f"| {result['setup']} | {result['clients']} ({result['connect_errors']} errors) | "
            f"{result['connect_seconds']} | {median([b['per_second'] for b in bursts]):.0f} | "
            f"{median([b['p50_ms'] for b in bursts]):.1f} | {median([b['p99_ms'] for b in bursts]):.1f} | "
            f"{sum(b['lost'] for b in bursts)} |"
        )
    base, with_redis = (median([b["p50_ms"] for b in r["bursts"]]) for r in sockets[:2])
    added = with_redis - base
    lines += [
        "",
        f"What the Redis queue adds to the median delivery (one process, same clients): {added:+.1f} ms "
        f"(target <= 2 ms: {'met' if added <= 2 else 'NOT met'}).",
        "",
    ]
    if pages:
        lines += [
            "## Pages: PostgreSQL next to SQLite",
            "",
            "bench_forum's server (gunicorn -c deploy/gunicorn.conf.py -w 2); "
            f"wrk -t2 -c{args.connections} -d{args.seconds}s; "
            f"{args.runs} runs, medians.",
            "",
            "| backend | path | req/s | p50 ms | p99 ms | non-2xx |",
            "|---|---|---|---|---|---|",
        ]
        for backend, paths in pages.items():
            for path, runs in paths.items():
                lines.append(
                    f"| {backend} | {path} | {median([r['rps'] for r in runs]):.0f} | "
                    f"{median([r['p50_ms'] for r in runs]):.1f} | {median([r['p99_ms'] for r in runs]):.1f} | "
                    f"{sum(r['non2xx'] for r in runs)} |"
                )
    lines += ["", "Raw:", "```", json.dumps({"sockets": sockets, "pages": pages}, indent=1), "```"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()
    if not args.skip_pages and shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (or pass --skip-pages)")
    workdir = Path(tempfile.mkdtemp(prefix="hearth-bench-cluster-"))
    sockets = run_sockets(args, workdir)
    (workdir / "sockets.json").write_text(json.dumps(sockets))  # kept even if the page part fails
    pages = {} if args.skip_pages else run_pages(args, workdir)
    body = report(sockets, pages, args)
    path = write_result("cluster", "Scale-out: chat across processes on Redis, pages on PostgreSQL and SQLite", body)
    print(body)
    print(f"\nwritten to {path} (server and load-generator logs in {workdir})")


if __name__ == "__main__":
    main()
