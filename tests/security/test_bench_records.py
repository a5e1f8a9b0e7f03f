"""bench/common.py's result files: a second run on the same day is kept next to the first, never written over it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.common import result_path


def test_the_days_first_report_is_named_by_the_date(tmp_path: Path) -> None:
    when = dt.datetime(2026, 11, 27, 11, 13, 5)
    assert result_path("forum", tmp_path, when) == tmp_path / "forum-2026-11-27.md"


def test_a_later_report_of_the_day_gets_its_time_and_leaves_the_first_alone(tmp_path: Path) -> None:
    first = tmp_path / "forum-2026-11-27.md"
    first.write_text("the quiet morning's run", encoding="utf-8")
    later = result_path("forum", tmp_path, dt.datetime(2026, 11, 27, 11, 19, 40))
    assert later == tmp_path / "forum-2026-11-27-1119.md"
    later.write_text("the next run", encoding="utf-8")
    assert first.read_text(encoding="utf-8") == "the quiet morning's run"
    # Two in the same minute: the seconds tell them apart.
    same_minute = result_path("forum", tmp_path, dt.datetime(2026, 11, 27, 11, 19, 52))
    assert same_minute == tmp_path / "forum-2026-11-27-111952.md"


def test_another_bench_on_the_same_day_keeps_its_own_first_name(tmp_path: Path) -> None:
    (tmp_path / "forum-2026-11-27.md").write_text("forum", encoding="utf-8")
    assert result_path("chat", tmp_path, dt.datetime(2026, 11, 27, 9, 0)) == tmp_path / "chat-2026-11-27.md"
