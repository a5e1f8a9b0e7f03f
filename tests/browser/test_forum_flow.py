"""A person uses the forum end to end in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import new_page, register_in_browser
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_register_start_a_thread_reply_and_see_both_rendered(browser, live_server: LiveServer) -> None:
    page = new_page(browser, live_server.url)
    register_in_browser(page, "river")

    start_thread(page, "Retiring after thirty years", "Who am I **without** the job?")
    assert page.locator("h1#thread-title").inner_text().startswith("Retiring after thirty years")
    assert page.locator(".post-body strong").first.inner_text() == "without"

    page.get_by_label("Your reply").fill("Still *you*, just with more time.")
    page.get_by_role("button", name="Post reply").click()
    page.wait_for_selector(".post-body em")
    bodies = page.locator(".post-body").all_inner_texts()
    assert len(bodies) == 2
    assert "Still you, just with more time." in bodies[1]
    assert page.errors == []


def test_a_reader_reports_a_post_on_its_own_page_and_returns_to_it(browser, live_server: LiveServer) -> None:
    writer = new_page(browser, live_server.url)
    register_in_browser(writer, "robin")
    start_thread(writer, "A quiet week at home", "I haven't spoken to anyone since Monday.")
    thread_url = writer.url

    reader = new_page(browser, live_server.url)
    register_in_browser(reader, "alex")
    reader.goto(thread_url)
    reader.get_by_role("link", name="Report", exact=True).click()
    assert "I haven't spoken to anyone since Monday." in reader.get_by_test_id("reported-post").inner_text()
    reader.get_by_label("I'm worried about this person").check()
    reader.get_by_label("Anything they should know?").fill("They sound very alone.")
    reader.get_by_role("button", name="Send to the moderators").click()
    reader.wait_for_selector("text=Your report is private.")
    assert reader.url.startswith(thread_url.split("?")[0]) and "#p" in reader.url
    assert reader.errors == [] and writer.errors == []


def test_a_draft_in_crisis_shows_the_crisis_lines_and_guide_titles_before_it_is_sent(
    browser, live_server: LiveServer
) -> None:
    page = new_page(browser, live_server.url)
    register_in_browser(page, "wren")
    page.get_by_role("link", name="Grief and loss", exact=False).first.click()
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("What would you like to say?").fill(
        "Since mum died I can't see a way forward. I have the pills saved up and I'm going to kill myself tonight."
    )
    suggestions = page.locator("[data-suggestions]")
    suggestions.locator(".resources li").first.wait_for()
    text = suggestions.inner_text()
    assert "People you can call or text any time" in text and "findahelpline" in text
    assert suggestions.get_by_role("button", name="Ask a moderator to check in with me").is_visible()
    guide_names = suggestions.locator("a[target=_blank]").all_inner_texts()
    assert guide_names and all("-" not in name and name[0].isupper() for name in guide_names), guide_names
    for link in suggestions.locator("a[target=_blank]").all():  # a new tab keeps the draft; it is said aloud
        expect(link).to_have_accessible_name(re.compile(r"\(opens in a new tab\)$"))
    assert page.errors == []


def start_thread(page, title: str, body: str) -> None:
    """On the role transitions board, and wait for the new thread's page."""
    page.get_by_role("link", name="Role transitions", exact=False).first.click()
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("What would you like to say?").fill(body)
    page.get_by_role("button", name="Post thread").click()
    page.wait_for_selector("h1#thread-title")
