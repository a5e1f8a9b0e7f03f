"""Shared presence in a storm of joins: what each join costs in Redis work as a room fills (no server, the real Redis).

A join does what forum.realtime.chat.Presence.add and .page do through forum.realtime.cluster.PresenceMirror:
write this person, ask whether they are already here through another process, list who else is. N people join
one room in turn, split over P mirrors (standing for P server processes). Reported: microseconds of presence
work per join, for rooms of growing size; the baseline, measured in the same run, is one Redis PING through
the same client (a join makes three round trips, so three PINGs is the floor).

Usage: python -m bench.bench_presence [--runs 5] [--redis redis://127.0.0.1:6379/5]
Writes bench/results/presence-<date>.md. The Redis database given is flushed before and after.
"""

from __future__ import annotations

import argparse
import time
import uuid

import redis

from bench.common import add_no_record, median, publish
from forum.realtime.cluster import PresenceMirror

STORMS = [(1000, 1), (1000, 2), (3000, 2)]  # (people joining, processes they are split over)
PINGS = 2000


def storm(url: str, people: int, processes: int) -> float:
    """Seconds of presence work for `people` joins into one new room, round-robin over `processes` mirrors."""
    mirrors = [PresenceMirror(url, run_in_background=lambda _loop: None) for _ in range(processes)]
    room = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    for user_id in range(1, people + 1):
        mirror = mirrors[user_id % processes]
        mirror.share(room, user_id, f"person{user_id}", room_empty=False)
        mirror.is_elsewhere(room, user_id)
        mirror.elsewhere(room)
    return time.perf_counter() - started


def ping_us(url: str) -> float:
    client = redis.Redis.from_url(url)
    started = time.perf_counter()
    for _ in range(PINGS):
        client.ping()
    return (time.perf_counter() - started) / PINGS * 1e6


def run(args: argparse.Namespace) -> str:
    store = redis.Redis.from_url(args.redis)
    store.flushdb()
    pings: list[float] = []
    joins: dict[tuple[int, int], list[float]] = {shape: [] for shape in STORMS}
    try:
        for _ in range(args.runs):
            pings.append(ping_us(args.redis))
            for people, processes in STORMS:
                joins[(people, processes)].append(storm(args.redis, people, processes) / people * 1e6)
    finally:
        store.flushdb()
    ping = median(pings)
    lines = [
        f"Redis at {args.redis}; {args.runs} runs, medians; redis-py with hiredis.",
        "",
        "| storm | us of presence work per join (median) | runs | vs one PING |",
        "|---|---|---|---|",
        f"| baseline: one Redis PING | {ping:.0f} | {', '.join(f'{v:.0f}' for v in pings)} | 1.0 |",
    ]
    for (people, processes), values in joins.items():
        per_join = median(values)
        lines.append(
            f"| {people:,} joins over {processes} process{'es' if processes > 1 else ''} | {per_join:.0f} | "
            f"{', '.join(f'{v:.0f}' for v in values)} | {per_join / ping:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    add_no_record(parser)
    args = parser.parse_args()
    publish("presence", "Shared presence in a storm of joins", run(args), record=not args.no_record)


if __name__ == "__main__":
    main()
