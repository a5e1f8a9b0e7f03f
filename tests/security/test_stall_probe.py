"""bench/stalls.py, the probe the forum benchmark records the machine's own pauses with."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_pause_of_the_probes_process_is_counted_as_a_stall_of_its_length() -> None:
    probe = subprocess.Popen(
        [sys.executable, "-m", "bench.stalls", "--seconds", "3", "--threshold-ms", "20"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    time.sleep(1.0)  # started (a second is ample for its imports) and watching
    os.kill(probe.pid, signal.SIGSTOP)  # what the host does to a machine it stops running: nothing runs
    time.sleep(0.15)
    os.kill(probe.pid, signal.SIGCONT)
    out, _ = probe.communicate(timeout=30)

    result = json.loads(out)
    assert probe.returncode == 0
    assert result["stalls"] >= 1
    assert 120 <= result["longest_ms"] <= 1000
    assert result["stalled_ms"] >= result["longest_ms"]
