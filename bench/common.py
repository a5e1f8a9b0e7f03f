"""Shared by the benchmarks: the machine's description, medians, and writing a result file."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


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
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def wait_for_health(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60.0) -> None:
    """Return once url answers; kill the process and raise with its log if it never does."""
    import time
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


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def write_result(name: str, title: str, body: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{dt.date.today().isoformat()}.md"
    info = "\n".join(f"- {key}: {value}" for key, value in machine().items())
    path.write_text(f"# {title}\n\n## Machine\n{info}\n\n{body}\n", encoding="utf-8")
    return path
