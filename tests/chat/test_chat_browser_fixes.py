"""The chat page in Chromium when sending stops or is refused, and when a check-in's places close."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from forum.models import utcnow
from forum.services import accounts, chat, checkins
from forum.services.transaction import write_transaction
from tests.chat.support import (
    ROOM,
    ChatClient,
    browser_session,
    csrf_from,
    make_member,
    open_room_in_browser,
    schedule_check_in,
)
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENDED = "You're no longer connected to chat. Reload the page to continue."
SUSPENDED = "Your account has been suspended, so chat has stopped. Reload the page to see why."


def _sign_out_elsewhere(server: LiveServer, username: str) -> None:
    """Sign in on another device and sign out there: logout ends every session of that person."""
    http = browser_session(server, username)
    token = csrf_from(http, server.url + "/chat/")
    response = http.post(
        server.url + "/logout",
        data={"csrf_token": token},
        headers={"Referer": server.url + "/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302


def test_a_dropped_connection_sends_what_was_typed_on_reconnect_but_a_sign_out_elsewhere_stops_sending(
    browser, live_server: LiveServer
) -> None:
    make_member(live_server, "amber")
    page = open_room_in_browser(browser, live_server, "amber")
    box = page.get_by_label("Message", exact=True)

    live_server.stop()  # the transport drops; the page keeps trying to reconnect
    expect(page.locator("[data-chat-status]")).to_have_text(re.compile("reconnecting|retrying"), timeout=10_000)
    box.fill("Typed while the connection was down")
    box.press("Enter")
    expect(page.locator(".chat-message.pending")).to_have_count(1)
    live_server.start()
    page.locator(".chat-message[data-id] .chat-body", has_text="Typed while the connection was down").wait_for(
        timeout=20_000
    )
    expect(page.locator(".chat-message.pending")).to_have_count(0)

    box.fill("Words I had not sent yet")
    _sign_out_elsewhere(live_server, "amber")
    expect(page.locator("[data-chat-status]")).to_have_text(ENDED, timeout=10_000)
    box.press("Enter")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    expect(box).to_have_value("Words I had not sent yet")
    expect(page.locator(".chat-message.pending, .chat-message.not-sent")).to_have_count(0)
    assert page.errors == []
    page.context.close()


def test_a_reconnect_the_server_refuses_ends_the_page_and_keeps_what_was_typed_while_away(
    browser, live_server: LiveServer
) -> None:
    make_member(live_server, "amber")
    page = open_room_in_browser(browser, live_server, "amber")
    box = page.get_by_label("Message", exact=True)
    live_server.stop()
    expect(page.locator("[data-chat-status]")).to_have_text(re.compile("reconnecting|retrying"), timeout=10_000)
    box.fill("Typed while away")
    box.press("Enter")
    with live_server.app.app_context():
        accounts.end_sessions(accounts.find_user("amber"))  # signed out elsewhere while this page was away

    live_server.start()
    expect(page.locator("[data-chat-status]")).to_have_text(ENDED, timeout=20_000)
    unsent = page.locator(".chat-message.not-sent")
    expect(unsent.locator(".chat-body")).to_have_text("Typed while away")
    expect(unsent.locator(".meta")).to_have_text("Not confirmed as sent")
    expect(page.locator(".chat-message.pending")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    assert page.errors == []
    page.context.close()


def test_a_member_suspended_while_chatting_keeps_their_words_and_is_told_of_the_suspension(
    browser, live_server: LiveServer
) -> None:
    make_member(live_server, "amber")
    page = open_room_in_browser(browser, live_server, "amber")
    with live_server.app.app_context():
        member = accounts.find_user("amber")
        with write_transaction():
            member.suspended_until = utcnow() + timedelta(hours=24)
        accounts.end_sessions(member)  # this process has no sockets: the server learns of it on the next event

    box = page.get_by_label("Message", exact=True)
    box.fill("Is anyone still here?")
    box.press("Enter")

    expect(page.locator("[data-chat-status]")).to_have_text(SUSPENDED, timeout=10_000)
    expect(box).to_have_value("Is anyone still here?")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    expect(page.locator(".chat-message.pending")).to_have_count(0)
    assert page.errors == []
    page.context.close()


def test_words_refused_by_slow_mode_stay_as_not_sent_while_the_next_message_is_being_typed(
    browser, live_server: LiveServer
) -> None:
    make_member(live_server, "amber")
    make_member(live_server, "mod_maya", role="moderator")
    with live_server.app.app_context():
        chat.set_slow_mode(accounts.find_user("mod_maya"), chat.get_room(ROOM), 60)
    page = open_room_in_browser(browser, live_server, "amber")
    box = page.get_by_label("Message", exact=True)
    box.fill("My first message")
    box.press("Enter")
    page.locator(".chat-message[data-id] .chat-body", has_text="My first message").wait_for()

    # Send, then start the next message before the refusal can arrive (it is handled after this script).
    page.evaluate(
        """() => {
          const box = document.querySelector("#chat-body");
          box.value = "The words slow mode refuses";
          box.form.requestSubmit();
          box.value = "Already typing the next one";
        }"""
    )

    unsent = page.locator(".chat-message.not-sent")
    expect(unsent).to_have_count(1)
    expect(unsent.locator(".meta")).to_have_text("Not sent")
    expect(unsent.locator(".chat-body")).to_have_text("The words slow mode refuses")
    expect(page.locator("[data-chat-error]")).to_contain_text("Slow mode")
    expect(box).to_have_value("Already typing the next one")
    unsent.get_by_role("button", name="Put back in the box").click()
    expect(box).to_have_value("The words slow mode refuses\nAlready typing the next one")
    expect(unsent).to_have_count(0)
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("new_state", ["open", "closed"])
def test_the_place_buttons_leave_the_room_page_when_the_host_opens_or_ends_the_check_in(
    browser, live_server: LiveServer, new_state: str
) -> None:
    _host_id, host_token = make_member(live_server, "mod_maya", role="moderator")
    make_member(live_server, "amber")
    make_member(live_server, "basil")
    with live_server.app.app_context():
        checkin = schedule_check_in(accounts.find_user("mod_maya"))
        checkins.save_place(accounts.find_user("amber"), checkin)
        room = checkin.room.key
    with_place = open_room_in_browser(
        browser, live_server, "amber", room, status="You have a place"
    )  # a saved place lets her in before it opens
    without_place = open_room_in_browser(browser, live_server, "basil", room, status="hasn't opened yet")
    expect(with_place.get_by_test_id("give-up-place")).to_be_visible()
    expect(without_place.get_by_test_id("save-place")).to_be_visible()

    host = ChatClient(live_server, token=host_token).connect()
    try:
        host.join(room)
        assert host.call("advance", {"room": room, "state": new_state})["ok"]
    finally:
        host.close()

    # Both hear the new state live (she in the room, he through its places). Once it runs, looking in takes no
    # place: he is offered to take part, which is what holds one now, until it ends.
    expect(with_place.get_by_test_id("give-up-place")).to_be_hidden()
    if new_state == "closed":
        expect(without_place.get_by_test_id("save-place")).to_be_hidden()
    else:
        expect(without_place.get_by_test_id("save-place")).to_have_text("Take part")
        expect(without_place.locator("[data-chat-status]")).to_have_text(
            "This check-in has started. Take part to join the conversation."
        )
    for page in (with_place, without_place):
        assert page.errors == []
        page.context.close()


def test_editing_a_message_starts_from_its_markdown_after_sending_editing_and_reloading(
    browser, live_server: LiveServer
) -> None:
    first = "Some **bold** words\n\n- one\n- [a link](https://example.org/help)"
    second = "Now *only* [this link](https://example.org/x)"
    make_member(live_server, "amber")
    page = open_room_in_browser(browser, live_server, "amber")
    page.get_by_label("Message", exact=True).fill(first)
    page.get_by_role("button", name="Send").click()
    sent = page.locator(".chat-message[data-id]", has_text="bold words")
    sent.wait_for()
    mine = page.locator("#m" + sent.get_attribute("data-id"))  # by id: the edit changes its words

    mine.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Edit your message")).to_have_value(first)
    page.get_by_label("Edit your message").fill(second)
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".chat-body em")).to_have_text("only")
    mine.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Edit your message")).to_have_value(second)

    page.reload()
    expect(page.locator("[data-chat-status]")).to_have_text(re.compile(r"^Live"), timeout=20_000)
    mine.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Edit your message")).to_have_value(second)
    assert page.errors == []
    page.context.close()


def _check_in_with_a_place_for_amber(server: LiveServer) -> tuple[str, str]:
    """A check-in hosted by mod_maya, with a place saved for amber: (the host's API token, the room's key)."""
    _host_id, host_token = make_member(server, "mod_maya", role="moderator")
    make_member(server, "amber")
    with server.app.app_context():
        checkin = schedule_check_in(accounts.find_user("mod_maya"))
        checkins.save_place(accounts.find_user("amber"), checkin)
        return host_token, checkin.room.key


def test_words_being_typed_survive_the_host_moving_the_check_in_on_and_ending_it(
    browser, live_server: LiveServer
) -> None:
    """A member in before the host opens is told to wait, with Send held until it opens. The host's controls
    reload the page, and their half-typed message comes back; a member typing when the check-in ends keeps
    their words on screen, read-only, with why they were not sent."""
    host_token, room = _check_in_with_a_place_for_amber(live_server)
    host = open_room_in_browser(browser, live_server, "mod_maya", room)
    member = open_room_in_browser(browser, live_server, "amber", room, status="You have a place")
    expect(member.get_by_role("button", name="Send")).to_be_disabled()  # until the host opens it
    host_box = host.get_by_label("Message", exact=True)
    host_box.fill("Welcome, everyone. Tonight we")
    host.get_by_role("button", name="Open the room").click()
    host.get_by_role("button", name="Start the mood round").wait_for()
    expect(host.get_by_label("Message", exact=True)).to_have_value("Welcome, everyone. Tonight we")
    expect(member.locator("[data-chat-status]")).to_have_text(
        "The host has opened the check-in. You can send messages now."
    )
    expect(member.get_by_role("button", name="Send")).to_be_enabled()

    member_box = member.get_by_label("Message", exact=True)
    member_box.fill("I wanted to say that I")
    client = ChatClient(live_server, token=host_token).connect()
    try:
        client.join(room)
        assert client.call("advance", {"room": room, "state": "closed"})["ok"]
    finally:
        client.close()
    expect(member.locator("[data-chat-error]")).to_have_text(re.compile("Not sent: the room closed"))
    expect(member_box).to_be_visible()
    expect(member_box).to_have_value("I wanted to say that I")
    expect(member.get_by_role("button", name="Send")).to_be_disabled()
    for page in (host, member):
        assert page.errors == []
        page.context.close()


def test_after_sharing_a_mood_the_form_stays_gone_for_the_round_and_the_host_has_none(
    browser, live_server: LiveServer
) -> None:
    host_token, room = _check_in_with_a_place_for_amber(live_server)
    client = ChatClient(live_server, token=host_token).connect()
    try:
        client.join(room)
        assert client.call("advance", {"room": room, "state": "open"})["ok"]
        assert client.call("advance", {"room": room, "state": "mood_round"})["ok"]
        member = open_room_in_browser(browser, live_server, "amber", room)
        form = member.locator("[data-mood-form]")
        expect(form).to_be_visible()
        form.get_by_label("One word").fill("steady")
        form.get_by_role("button", name="Share").click()
        expect(member.locator("[data-checkin-round]")).to_contain_text("amber: 5/10 · steady")
        expect(form).to_be_hidden()
        member.reload()
        expect(member.locator("[data-checkin-round]")).to_contain_text("amber: 5/10 · steady", timeout=20_000)
        expect(member.locator("[data-mood-form]")).to_be_hidden()
        assert client.call("advance", {"room": room, "state": "open_talk"})["ok"]
        assert client.call("advance", {"room": room, "state": "closing_round"})["ok"]
        expect(member.locator("[data-mood-form]")).to_be_visible()  # a new round: a new share
        host = open_room_in_browser(browser, live_server, "mod_maya", room)
        assert host.locator("[data-mood-form]").count() == 0
    finally:
        client.close()
    for page in (member, host):
        assert page.errors == []
        page.context.close()
