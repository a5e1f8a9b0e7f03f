"""The chat support panel, as a post's: a way to ask a moderator to check in, and the member's own plan."""

from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from forum.extensions import db
from forum.models import ReviewItem
from forum.services import accounts
from forum.services.practice import plan
from tests.chat.support import (
    CRISIS_TEXT,
    ROOM,
    ChatClient,
    browser_session,
    cookie_header,
    make_member,
    open_room_in_browser,
)
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow

ASK = "Ask a moderator to check in with me"
THANKS = "Thank you for asking. A moderator will send you a private message soon."
WARNING_SIGN = "I stop answering the phone to my sister"
WHAT_HELPS = "A walk round the reservoir with the dog"


def _save_plan(server: LiveServer, username: str) -> None:
    with server.app.app_context():
        plan.save_plan(accounts.find_user(username), warning_signs=WARNING_SIGN, what_helps=WHAT_HELPS)


def _send_crisis_words(page) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(CRISIS_TEXT)
    box.press("Enter")
    expect(page.get_by_test_id("support-panel")).to_be_visible(timeout=15_000)


def _check_in_requests_about(server: LiveServer, user_id: int) -> list[ReviewItem]:
    with server.app.app_context():
        return list(
            db.session.scalars(
                select(ReviewItem).where(ReviewItem.target_type == "user", ReviewItem.target_id == user_id)
            )
        )


@pytest.mark.browser
def test_crisis_words_in_chat_bring_the_check_in_button_and_the_members_own_plan(
    browser, live_server: LiveServer
) -> None:
    member_id, _token = make_member(live_server, "amber")
    _save_plan(live_server, "amber")
    page = open_room_in_browser(browser, live_server, "amber")

    _send_crisis_words(page)
    panel = page.get_by_test_id("support-panel")
    own_plan = panel.get_by_test_id("relapse-plan-in-panel")
    expect(own_plan).to_be_visible()
    expect(own_plan).to_contain_text(WARNING_SIGN)
    expect(own_plan).to_contain_text(WHAT_HELPS)
    assert _check_in_requests_about(live_server, member_id) == []

    box = page.get_by_label("Message", exact=True)
    box.fill("Half a message I am still writing")
    panel.get_by_role("button", name=ASK).click()

    expect(panel.get_by_role("status")).to_have_text(THANKS)
    expect(panel.get_by_role("button", name=ASK)).to_be_hidden()
    expect(box).to_have_value("Half a message I am still writing")
    [item] = _check_in_requests_about(live_server, member_id)
    assert item.priority == "urgent" and item.subject_user_id == member_id
    assert {"source": "check_in_request", "kind": "chat", "detail": ""} in item.reasons
    assert page.errors == []
    page.context.close()


@pytest.mark.browser
def test_a_refused_check_in_request_keeps_the_button_with_the_reason_and_when_to_ask_again(
    browser, live_database_url: str
) -> None:
    limits = {"check_in_request": {"per_account": "1/hour", "per_address": "100/hour"}}
    server = LiveServer(live_database_url, env={"FORUM_RATELIMIT_ENABLED": "1", "FORUM_RATELIMITS": json.dumps(limits)})
    with server:
        _id, token = make_member(server, "amber")
        earlier = requests.post(
            server.url + "/api/v1/check-ins",
            json={"source": "draft"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert earlier.status_code == 201  # the hour's one request is used up
        page = open_room_in_browser(browser, server, "amber")
        _send_crisis_words(page)
        panel = page.get_by_test_id("support-panel")
        box = page.get_by_label("Message", exact=True)
        box.fill("Words I have not sent")

        panel.get_by_role("button", name=ASK).click()

        status = panel.get_by_role("status")
        expect(status).to_contain_text("You're doing that a lot")
        expect(status).to_contain_text(re.compile(r"You can ask again in \d+ minutes"))
        expect(panel.get_by_role("button", name=ASK)).to_be_enabled()
        expect(box).to_have_value("Words I have not sent")
        assert page.errors == []
        page.context.close()


def test_a_members_plan_is_on_their_own_chat_page_and_never_reaches_another_member_in_the_room(
    live_server: LiveServer,
) -> None:
    make_member(live_server, "amber")
    make_member(live_server, "basil")
    _save_plan(live_server, "amber")
    amber_http, basil_http = browser_session(live_server, "amber"), browser_session(live_server, "basil")
    amber = ChatClient(live_server, cookies=cookie_header(amber_http)).connect()
    basil = ChatClient(live_server, cookies=cookie_header(basil_http)).connect()
    try:
        amber.join()
        basil.join()
        ack = amber.send(CRISIS_TEXT, "crisis-1")
        assert ack["ok"], ack
        amber.wait_for("support", lambda got: len(got) == 1)
        basil.wait_for("message", lambda got: any(m["id"] == ack["message"]["id"] for m in got))
    finally:
        amber.close()
        basil.close()

    assert WARNING_SIGN in amber_http.get(f"{live_server.url}/chat/{ROOM}", timeout=10).text
    assert WARNING_SIGN not in basil_http.get(f"{live_server.url}/chat/{ROOM}", timeout=10).text
    heard_by_basil = json.dumps(basil.events)
    assert "pills saved up" in heard_by_basil  # the broadcast reached him
    assert WARNING_SIGN not in heard_by_basil and WHAT_HELPS not in heard_by_basil
