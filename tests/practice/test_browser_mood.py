"""A person back-fills a week of moods in headless Chromium and reads the chart's summary."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support.browser import new_page, register_in_browser
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Oldest first; the last three days the person saw someone.
WEEK = [3, 4, 5, 6, 7, 8, 9]


def test_a_week_of_moods_is_summed_up_next_to_the_chart(browser, live_server: LiveServer) -> None:
    page = new_page(browser, live_server.url)
    register_in_browser(page, "wren")
    page.goto("/me/mood")
    today = date.fromisoformat(page.evaluate("() => document.querySelector('[data-local-today]').value"))

    for days_ago, score in zip(range(6, -1, -1), WEEK):
        page.get_by_label("Day", exact=True).fill((today - timedelta(days=days_ago)).isoformat())
        if score >= 7:
            page.get_by_role("checkbox", name="Saw someone").check()
        page.get_by_role("button", name=f"Mood {score} of 10").click()
        page.wait_for_selector(".flash-success")

    summary = page.get_by_test_id("mood-summary-30").inner_text()
    assert "you logged your mood on 7 days" in summary
    assert "Your average was 6.0 out of 10, lowest 3, highest 9." in summary
    assert "On the 3 days you saw someone your average was 8.0; on the 4 days without, 4.5." in summary
    chart = page.locator("svg#mood-30")
    assert chart.get_attribute("role") == "img"
    assert chart.locator("circle").count() == 7
    assert page.get_by_test_id("today-mood").inner_text().startswith("Today you logged 9")

    # A second tap the same day replaces the first, and the page says so.
    page.get_by_role("button", name="Mood 5 of 10").click()
    assert "replaced the earlier one" in page.locator(".flash-success").inner_text()
    assert "highest 8" in page.get_by_test_id("mood-summary-30").inner_text()
    assert page.errors == []
