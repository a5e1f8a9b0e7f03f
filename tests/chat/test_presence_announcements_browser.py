"""What a screen reader hears of people coming and going: someone who reloads their page (a host moving a
check-in on does, at every step) is not announced as leaving and joining; someone who goes is, once."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.chat.support import ROOM, ChatClient, make_member, open_room_in_browser
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _heard(page: Any) -> list[str]:
    return page.eval_on_selector_all("[data-chat-announce] p", "lines => lines.map(line => line.textContent)")


def test_a_reload_is_not_announced_as_leaving_and_a_real_leave_is(browser: Any, live_server: LiveServer) -> None:
    make_member(live_server, "amber")
    _id, basil_token = make_member(live_server, "basil")
    page = open_room_in_browser(browser, live_server, "amber", ROOM)

    basil = ChatClient(live_server, token=basil_token).connect()
    basil.join(ROOM)
    expect(page.locator("[data-chat-present]")).to_contain_text("basil")
    assert _heard(page) == ["basil joined."]

    basil.close()  # a reload: gone, and back within a moment
    basil = ChatClient(live_server, token=basil_token).connect()
    basil.join(ROOM)
    page.wait_for_timeout(5000)  # longer than LEFT_AFTER_MS in chat.js
    assert _heard(page) == ["basil joined."], "the reload was not read out"
    expect(page.locator("[data-chat-present]")).to_contain_text("basil")

    basil.close()  # gone for good
    expect(page.locator("[data-chat-announce]")).to_contain_text("basil left.", timeout=10_000)
    assert _heard(page) == ["basil joined.", "basil left."]
    expect(page.locator("[data-chat-present]")).not_to_contain_text("basil")
    assert page.errors == []
