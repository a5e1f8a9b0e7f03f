"""Two people chat in Chromium; one writes in crisis; only they see the support panel; a moderator is alerted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.chat.support import CRISIS_TEXT, make_member, open_room_in_browser
from tests.support.browser import login_in_browser, new_page
from tests.support.live import LiveServer

CONCERN_TEXT = "I feel worthless and like a burden to everyone, I just want to disappear for a while."

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_two_people_chat_and_only_the_one_in_crisis_sees_support_while_a_moderator_is_alerted(
    browser, live_server: LiveServer
) -> None:
    for name, role in (("amber", "member"), ("basil", "member"), ("mod_maya", "moderator")):
        make_member(live_server, name, role=role)
    amber = open_room_in_browser(browser, live_server, "amber")
    basil = open_room_in_browser(browser, live_server, "basil")
    moderator = open_room_in_browser(browser, live_server, "mod_maya")
    expect(moderator.locator("[data-mod-alerts-status]")).to_have_text(re.compile(r"^Listening"), timeout=20_000)

    amber.get_by_label("Message", exact=True).fill("Message number 1 from me")
    amber.keyboard.press("Enter")
    basil.locator(".chat-log .chat-body", has_text="Message number 1 from me").wait_for()
    assert "Message number 1 from me" in basil.locator("[data-chat-announce]").inner_text()

    basil.get_by_label("Message", exact=True).fill(CRISIS_TEXT)
    basil.get_by_role("button", name="Send").click()

    basil.get_by_test_id("support-panel").wait_for(state="visible")
    assert "People you can reach right now" in basil.get_by_test_id("support-panel").inner_text()
    amber.locator(".chat-log .chat-body", has_text="pills saved up").wait_for()
    assert amber.get_by_test_id("support-panel").is_hidden()
    amber.get_by_label("Message", exact=True).fill(CONCERN_TEXT)
    amber.keyboard.press("Enter")
    amber.get_by_test_id("support-panel").wait_for(state="visible")
    concern_panel = amber.get_by_test_id("support-panel").inner_text()
    assert "People you can talk to" in concern_panel and "findahelpline" in concern_panel
    alert = moderator.get_by_test_id("mod-alert").first
    alert.wait_for()
    assert "pills saved up" in alert.inner_text() and "Message number 1 from me" in alert.inner_text()
    for page in (amber, basil, moderator):
        assert page.errors == []
        page.context.close()


def test_someone_early_for_a_check_in_without_a_place_is_offered_one_when_the_host_opens_it(
    browser, live_server: LiveServer
) -> None:
    """The page learns by itself that the check-in opened (here without a live event: it asks again now and
    then). Looking in takes no place, so it offers one; taking it lets them into the conversation."""
    from datetime import timedelta

    from forum.models import utcnow
    from forum.services import accounts, checkins

    make_member(live_server, "mod_maya", role="moderator")
    make_member(live_server, "amber")
    with live_server.app.app_context():
        host = accounts.find_user("mod_maya")
        checkin = checkins.schedule(
            host, title="Evening check-in", area="grief", starts_at=utcnow() + timedelta(minutes=5),
            length_minutes=60, capacity=4,
        )  # fmt: skip
        checkin_id, room_key = checkin.id, checkin.room.key
    page = new_page(browser, live_server.url)
    login_in_browser(page, "amber")
    page.goto(f"/chat/{room_key}")
    expect(page.locator("[data-chat-status]")).to_have_text(re.compile("hasn't opened yet"), timeout=20_000)
    assert page.get_by_label("Message", exact=True).is_hidden()
    with live_server.app.app_context():
        from forum.extensions import db
        from forum.models.chat import CheckIn

        checkins.advance(accounts.find_user("mod_maya"), db.session.get(CheckIn, checkin_id), "open")
    expect(page.locator("[data-chat-status]")).to_have_text(
        "This check-in has started. Take part to join the conversation.", timeout=20_000
    )
    assert page.get_by_label("Message", exact=True).is_hidden()
    page.get_by_role("button", name="Take part").click()
    expect(page.locator("[data-chat-status]")).to_have_text(re.compile(r"^Live"), timeout=20_000)
    expect(page.get_by_label("Message", exact=True)).to_be_visible()
    assert page.errors == []
    page.context.close()


@pytest.mark.browser
def test_a_moderator_following_a_flagged_message_opens_the_room_at_it(browser, live_database_url: str) -> None:
    """The review item links to the message itself: the room opens marked and focused on it. A message older
    than the history a join sends is not on the page, and the page says so instead of pointing nowhere."""
    from forum.extensions import db
    from forum.models import ReviewItem
    from forum.services import accounts, chat
    from tests.chat.support import ROOM

    with LiveServer(live_database_url, env={"FORUM_CHAT_HISTORY": "3"}) as server:
        make_member(server, "amber")
        make_member(server, "mod_maya", role="moderator")
        with server.app.app_context():
            amber = accounts.find_user("amber")
            texts = [CRISIS_TEXT, "Message 1", "Message 2", "I just want to disappear for good, I can't do this"]
            ids = [chat.send_to_room(amber, ROOM, body=t, client_id=f"c{n}").payload["id"] for n, t in enumerate(texts)]
            items = {
                item.target_id: item.id
                for item in db.session.query(ReviewItem).filter(ReviewItem.target_type == "chat_message")
            }
        assert ids[0] in items and ids[3] in items, "both are flagged for review"
        page = new_page(browser, server.url)
        login_in_browser(page, "mod_maya")

        page.goto(f"/moderation/items/{items[ids[3]]}")
        page.get_by_role("link", name="Open the room at this message").click()
        linked = page.locator(f"#m{ids[3]}")
        expect(linked).to_have_class(re.compile(r"\bchat-linked\b"), timeout=20_000)
        expect(linked).to_be_focused()

        page.goto(f"/moderation/items/{items[ids[0]]}")
        page.get_by_role("link", name="Open the room at this message").click()
        expect(page.get_by_text("not among the recent messages shown here", exact=False).first).to_be_visible(
            timeout=20_000
        )
        assert page.locator(f"#m{ids[0]}").count() == 0
        assert page.errors == []
        page.context.close()
