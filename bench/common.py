"""Shared by the benchmarks: the machine's description, an in-process app, timing, medians, writing a result file."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load average at start": " ".join(f"{x:.2f}" for x in load),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
    }


def _git_commit() -> str:
    """The commit measured, and whether the code differed from it (a record must say what it measured)."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    count = len(changed.splitlines())
    return f"{commit} with uncommitted changes to {count} files" if count else commit


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()


def wait_for_health(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60.0) -> None:
    """Return once url answers; kill the process and raise with its log if it never does."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start: " + log.read_text()[-2000:])


@contextmanager
def in_process_app() -> Iterator[Flask]:
    """The forum on a throwaway SQLite file with its tables and boards, for driving with the Flask test client.

    Cheapest password hashing, no CSRF and no rate limits: these benchmarks time pages, not those.
    """
    from forum import create_app
    from forum.extensions import db
    from forum.seeding import seed_boards

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "SECRET_KEY": "bench",
                "ARGON2_PROFILE": "CHEAPEST",
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            seed_boards()
        yield app


def per_request_ms(action: Callable[[], object], count: int) -> float:
    """Milliseconds per call of `action`, averaged over `count` calls in a row."""
    started = time.perf_counter()
    for _ in range(count):
        action()
    return (time.perf_counter() - started) * 1000 / count


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def add_no_record(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-record", action="store_true", help="print the results without rewriting bench/results/")


def publish(name: str, title: str, body: str, *, record: bool) -> None:
    """Print a bench's report and, unless told not to (--no-record), write it to bench/results/."""
    print(body)
    if record:
        print(f"\nwritten to {write_result(name, title, body)}")


def result_path(name: str, folder: Path = RESULTS, now: dt.datetime | None = None) -> Path:
    """Where a new report goes: `<name>-<date>.md`, or, when the day already has one, `<name>-<date>-<HHMM>.md`.

    A second run on the same day is a second record, kept next to the first, never written over it: a
    run on a quiet machine is worth keeping when the next one finds it busy.
    """
    now = now or dt.datetime.now()
    folder.mkdir(parents=True, exist_ok=True)
    day = now.date().isoformat()
    for stamp in (day, f"{day}-{now:%H%M}", f"{day}-{now:%H%M%S}"):
        path = folder / f"{name}-{stamp}.md"
        if not path.exists():
            return path
    raise FileExistsError(f"{name}: a report for {now:%Y-%m-%d %H:%M:%S} is already written")


def write_result(name: str, title: str, body: str) -> Path:
    path = result_path(name)
    info = "\n".join(f"- {key}: {value}" for key, value in machine().items())
    path.write_text(f"# {title}\n\n## Machine\n{info}\n\n{body}\n", encoding="utf-8")
    return path
