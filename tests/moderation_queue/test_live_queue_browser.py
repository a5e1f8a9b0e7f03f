"""Two people in two browsers: a member in crisis, and a moderator whose queue updates by itself."""

from __future__ import annotations

import pytest

import moderation
from forum.services import accounts
from tests.support.browser import login_in_browser, new_page, register_in_browser
from tests.support.live import LiveServer

from .helpers import CRISIS_TEXT

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_crisis_post_reaches_the_moderators_live_queue_and_is_handled_end_to_end(
    browser, live_server: LiveServer
) -> None:
    with live_server.app.app_context():
        accounts.register("mod_maya", "correct horse battery", role="moderator")
    # Build (or load) the model's cache file here first: a server that has to train it on its first post
    # would spend most of the click's timeout doing so on a busy machine.
    moderation.screen("warming up the screening model")

    moderator = new_page(browser, live_server.url)
    login_in_browser(moderator, "mod_maya")
    moderator.goto("/moderation/")
    moderator.wait_for_selector("[data-live-status]:has-text('Live')")
    assert moderator.get_by_test_id("queue-empty").is_visible()

    member = new_page(browser, live_server.url)
    register_in_browser(member, "river")
    member.goto("/b/grief-and-loss/new")
    member.get_by_label("Title").fill("I can't see a way through")
    member.get_by_label("What would you like to say?").fill(CRISIS_TEXT)
    member.get_by_role("button", name="Post thread").click(timeout=90_000)
    panel = member.get_by_test_id("support-panel")
    panel.wait_for()
    assert "You don't have to hold this alone" in panel.inner_text()
    assert member.get_by_role("button", name="Ask a moderator to check in with me").is_visible()

    # No reload: the socket says something changed and the page fetches the new list.
    link = moderator.locator("[data-queue]").get_by_role("link", name="I can't see a way through", exact=False)
    link.wait_for(timeout=15_000)
    assert "Urgent" in moderator.locator(".queue-item").first.inner_text()
    link.click()
    marked = moderator.locator("[data-testid=screened-text] mark").all_inner_texts()
    assert any(text.startswith("kill myself") and "(matched: active ideation)" in text for text in marked)

    moderator.get_by_role("button", name="Claim").click()
    moderator.wait_for_selector("[data-testid=item-claim]:has-text('mod_maya')")
    moderator.get_by_label("Message to river").fill("Hi river, I'm one of the moderators. I'm here with you tonight.")
    moderator.get_by_role("button", name="Send private message").click()
    moderator.wait_for_selector(".flash:has-text('Reach out privately')")
    moderator.get_by_role("button", name="Resolve").click()
    moderator.wait_for_selector("[data-testid=item-status]:has-text('resolved')")

    moderator.goto("/moderation/audit")
    rows = moderator.get_by_test_id("audit-table").locator("tbody tr").all_inner_texts()
    actions = [row.split("\t")[2].strip() if "\t" in row else row for row in rows]
    assert [a for a in ("resolve", "reach out", "claim") if any(a in row for row in rows)] == [
        "resolve",
        "reach out",
        "claim",
    ], actions
    assert all("mod_maya" in row for row in rows)

    member.goto("/messages")
    assert "I'm here with you tonight." in member.get_by_test_id("inbox").inner_text()
    assert moderator.errors == [] and member.errors == []
