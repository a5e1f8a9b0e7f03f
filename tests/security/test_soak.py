"""A one-minute soak against a real server: mixed reading, posting and chatting with no error and flat memory.

bench/soak.py runs the same load for ten minutes (the issue's target) and records the numbers.
"""

from __future__ import annotations

import pytest

from bench.soak import RSS_GROWTH_TARGET, run_soak

pytestmark = pytest.mark.slow


@pytest.mark.timeout(240)
def test_a_one_minute_soak_has_no_errors_and_flat_memory(live_database_url: str) -> None:
    report = run_soak(60, live_database_url)
    assert dict(report.errors) == {}
    assert report.posts > 0 and report.chat_messages > 0 and report.requests > 100
    assert report.rss_growth <= RSS_GROWTH_TARGET, (report.rss_baseline_kib, report.rss_final_kib)
