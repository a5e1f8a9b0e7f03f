"""How long the machine keeps a process that is ready to run from running: the stalls a bench run sat through.

A p99 over ten seconds is the 1% slowest requests, so one pause of the whole machine (the host running
someone else's work on our cores) shows in it: at 400 requests a second per worker, a 20 ms pause leaves
eight requests waiting and the ones queued behind them later still. Such a pause is invisible from inside
the server. This probe wakes every PERIOD_MS and records each time it woke late by more than
--threshold-ms. It asks for real-time scheduling (SCHED_FIFO, root only), so that no process of ours can
keep it waiting: a late wake then means the machine itself was not running it. Without that permission it
runs at normal priority and says so, and its figures then include waiting behind the server it measures.

Run as a separate process for as long as a measurement:
  python -m bench.stalls --seconds 10 [--threshold-ms 5]
Prints one JSON line: {"realtime": bool, "stalls": N, "longest_ms": x, "stalled_ms": total late time}.
"""

from __future__ import annotations

import argparse
import json
import os
import time

PERIOD_MS = 2.0  # 500 wakes a second: a small fraction of a core


def realtime() -> bool:
    """Run this process ahead of every normal one, if the system lets it."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (AttributeError, OSError):
        return False
    return True


def watch(seconds: float, threshold_ms: float) -> dict[str, float]:
    """Sleep PERIOD_MS at a time for `seconds`; each wake later than threshold_ms past its time is a stall."""
    period, threshold = PERIOD_MS / 1000, threshold_ms / 1000
    late: list[float] = []
    now = time.perf_counter()
    end = now + seconds
    while now < end:
        time.sleep(period)
        woke = time.perf_counter()
        overdue = woke - now - period
        if overdue > threshold:
            late.append(overdue)
        now = woke
    return {"stalls": len(late), "longest_ms": round(max(late, default=0) * 1000, 1),
            "stalled_ms": round(sum(late) * 1000, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--threshold-ms", type=float, default=5.0)
    args = parser.parse_args()
    is_realtime = realtime()
    print(json.dumps({"realtime": is_realtime, **watch(args.seconds, args.threshold_ms)}), flush=True)


if __name__ == "__main__":
    main()
