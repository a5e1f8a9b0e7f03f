"""A bounded soak: N minutes of mixed reading, posting and chatting against a real server on loopback.

    .venv/bin/python bench/soak.py                 # 10 minutes, SQLite in a temporary directory
    .venv/bin/python bench/soak.py --minutes 2 --database-url postgresql://postgres@127.0.0.1:5432/test

Reports every error, request latencies, and the server's resident memory (RSS) after a warm-up and at the
end: the target is no error and at most 10% growth. Writes bench/results/soak-<date>.md and exits non-zero
when a target is missed. tests/security/test_soak.py runs a one-minute version.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio  # noqa: E402

from bench.common import result_path  # noqa: E402
from tests.support.live import LiveServer  # noqa: E402

PASSWORD = "correct horse battery"
RSS_GROWTH_TARGET = 0.10


@dataclass
class SoakReport:
    seconds: float
    requests: int = 0
    posts: int = 0
    chat_messages: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    rss_samples_kib: list[tuple[float, int]] = field(default_factory=list)
    rss_baseline_kib: int = 0
    rss_final_kib: int = 0

    @property
    def rss_growth(self) -> float:
        return (self.rss_final_kib - self.rss_baseline_kib) / self.rss_baseline_kib if self.rss_baseline_kib else 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and self.rss_growth <= RSS_GROWTH_TARGET

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Soak:
    def __init__(self, server: LiveServer, seconds: float, pace: float) -> None:
        self.server = server
        self.report = SoakReport(seconds=seconds)
        self.deadline = time.monotonic() + seconds
        self.pace = pace  # seconds each worker waits between actions
        self.lock = threading.Lock()
        self.tokens: list[str] = []
        self.thread_ids: list[int] = []
        self.room = ""

    # --- arranging --------------------------------------------------------------------------------

    def arrange(self, people: int = 4) -> None:
        from forum.services import accounts, chat, posting

        with self.server.app.app_context():
            for n in range(people):
                user = accounts.register(f"soaker{n}", PASSWORD)
                self.tokens.append(accounts.issue_token(user))
                board = posting.get_board("small-wins")
                self.thread_ids.append(posting.create_thread(user, board, title=f"Soak {n}", body="Hello.").thread.id)
            chat.ensure_board_rooms()
            self.room = chat.board_rooms()[0].key

    # --- one request, timed and checked --------------------------------------------------------------

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            response = requests.request(method, self.server.url + path, timeout=30, **kwargs)
        except requests.RequestException as error:
            self.fail(f"{method} {path.split('?')[0]}: {type(error).__name__}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.report.requests += 1
            self.report.latencies_ms.append(elapsed)
        if response.status_code != expect:
            self.fail(f"{method} {path.split('?')[0]}: {response.status_code}")
        return response

    def fail(self, what: str) -> None:
        with self.lock:
            self.report.errors[what] += 1

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    # --- workers -------------------------------------------------------------------------------------

    def reader(self, n: int) -> None:
        pages = ["/", "/b/small-wins", "/guides/", "/api/v1/boards", "/search?q=hello"]
        i = 0
        while self.running():
            thread_id = self.thread_ids[i % len(self.thread_ids)]
            for path in (pages[i % len(pages)], f"/t/{thread_id}", f"/api/v1/threads/{thread_id}"):
                self.call("GET", path)
            i += 1
            time.sleep(self.pace)

    def poster(self, n: int) -> None:
        token = self.tokens[n % len(self.tokens)]
        i = 0
        while self.running():
            thread_id = self.thread_ids[i % len(self.thread_ids)]
            response = self.call(
                "POST",
                f"/api/v1/threads/{thread_id}/posts",
                expect=201,
                json={"body": f"Soak reply {i} from worker {n}.", "idempotency_key": uuid.uuid4().hex},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response is not None and response.status_code == 201:
                with self.lock:
                    self.report.posts += 1
            i += 1
            time.sleep(self.pace * 2)

    def chatter(self, n: int) -> None:
        sock = socketio.Client(reconnection=False)
        try:
            sock.connect(
                self.server.url,
                namespaces=["/chat"],
                auth={"token": self.tokens[n % len(self.tokens)]},
                transports=["websocket"],
                wait_timeout=10,
            )
            sock.call("join", {"room": self.room}, namespace="/chat", timeout=30)
        except Exception as error:
            self.fail(f"chat connect: {type(error).__name__}")
            return
        i = 0
        while self.running():
            started = time.perf_counter()
            try:
                ack = sock.call(
                    "send",
                    {"room": self.room, "body": f"Soak chat {i} from {n}", "client_id": uuid.uuid4().hex},
                    namespace="/chat",
                    timeout=30,
                )
            except Exception as error:
                self.fail(f"chat send: {type(error).__name__}")
                break
            with self.lock:
                self.report.requests += 1
                self.report.latencies_ms.append((time.perf_counter() - started) * 1000)
                if ack.get("ok"):
                    self.report.chat_messages += 1
            if not ack.get("ok"):
                self.fail(f"chat send: {ack.get('error', {}).get('code')}")
            i += 1
            time.sleep(self.pace * 2)
        sock.disconnect()

    # --- the run -------------------------------------------------------------------------------------

    def run(self, readers: int = 3, posters: int = 2, chatters: int = 2) -> SoakReport:
        assert self.server.process is not None
        pid = self.server.process.pid
        workers = [threading.Thread(target=self.reader, args=(n,)) for n in range(readers)]
        workers += [threading.Thread(target=self.poster, args=(n,)) for n in range(posters)]
        workers += [threading.Thread(target=self.chatter, args=(n,)) for n in range(chatters)]
        started = time.monotonic()
        warm_up = max(15.0, self.report.seconds * 0.2)  # caches, the screening model and pools fill up first
        for worker in workers:
            worker.start()
        while any(worker.is_alive() for worker in workers):
            time.sleep(2)
            elapsed = time.monotonic() - started
            self.report.rss_samples_kib.append((elapsed, rss_kib(pid)))
            if not self.report.rss_baseline_kib and elapsed >= warm_up:
                self.report.rss_baseline_kib = rss_kib(pid)
        for worker in workers:
            worker.join()
        tail = [kib for _, kib in self.report.rss_samples_kib[-3:]]
        self.report.rss_final_kib = int(statistics.median(tail)) if tail else rss_kib(pid)
        return self.report


def run_soak(seconds: float, database_url: str | None = None, pace: float = 0.05) -> SoakReport:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/soak.db"
        server = LiveServer(url, env={"FORUM_RATELIMIT_ENABLED": "0"})
        server.start()
        try:
            soak = Soak(server, seconds, pace)
            soak.arrange()
            return soak.run()
        finally:
            server.stop()


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def render(report: SoakReport, database: str) -> str:
    errors = "\n".join(f"- {what}: {count}" for what, count in report.errors.most_common()) or "- none"
    p50, p95, p99 = (report.percentile(f) for f in (0.5, 0.95, 0.99))
    before, after = report.rss_baseline_kib / 1024, report.rss_final_kib / 1024
    return f"""# Soak: {report.seconds / 60:.1f} minutes of mixed load on loopback

- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC
- Machine: {machine()}
- Database: {database}
- Load: 3 readers, 2 API posters, 2 chat senders (7 concurrent clients), short pauses between actions
- Requests and chat sends: {report.requests} ({report.requests / report.seconds:.1f}/s)
- Posts created: {report.posts}; chat messages: {report.chat_messages}
- Latency: median {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms
- Server RSS: {before:.1f} MiB after warm-up -> {after:.1f} MiB at the end \
({report.rss_growth:+.1%}; target <= {RSS_GROWTH_TARGET:.0%})
- Errors:
{errors}
- Verdict: {"PASS" if report.ok else "FAIL"}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between one worker's actions")
    args = parser.parse_args()
    report = run_soak(args.minutes * 60, args.database_url, args.pace)
    text = render(report, "PostgreSQL" if args.database_url else "SQLite (WAL)")
    print(text)
    out = result_path("soak")
    out.write_text(text + f"\nCommit: {_commit()}\n")
    print(f"written to {out.relative_to(ROOT)}")
    return 0 if report.ok else 1


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
