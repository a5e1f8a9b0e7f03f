"""bench/openloop.py, the open-loop load client the forum benchmark reads its target-rate latencies from."""

from __future__ import annotations

import time

from bench.openloop import OpenLoop
from tests.support.live import LiveServer


def test_the_open_loop_client_offers_its_rate_and_times_every_request(live_server: LiveServer) -> None:
    load = OpenLoop(f"{live_server.url}/healthz", method="GET", headers=[], body=None, connections=4)
    started = time.perf_counter()
    result = load.run(rate=40, seconds=1.0)
    elapsed = time.perf_counter() - started
    assert result["requests"] == 40
    assert result["completed"] == 40
    assert result["errors"] == 0
    # Open loop: forty requests spread over a second, not sent back to back.
    assert elapsed >= 0.95
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]  # type: ignore[operator]


def test_the_open_loop_client_counts_error_statuses(live_server: LiveServer) -> None:
    load = OpenLoop(f"{live_server.url}/no-such-page", method="GET", headers=[], body=None, connections=2)
    result = load.run(rate=20, seconds=0.5)
    assert result["completed"] == 10
    assert result["errors"] == 10
