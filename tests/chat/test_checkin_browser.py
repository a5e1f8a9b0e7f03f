"""Check-ins in Chromium: places counted live, someone looking in taking part with the button, the people
waiting told when the host opens, and start times in the reader's own time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from forum.models import utcnow
from forum.services import accounts, chat, checkins
from tests.chat.support import (
    ChatClient,
    browser_session,
    make_member,
    open_room_in_browser,
    press_place_button,
)
from tests.support.browser import login_in_browser, new_page
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OPENED = "The host has opened the check-in. You can send messages now."
LOOKING_IN = "This check-in has started. Take part to join the conversation."
# Half an hour off whole hours and no summer time: a time shown in it can't be UTC's by chance.
ZONE = "Asia/Kolkata"


def _check_in(
    server: LiveServer, *, capacity: int, starts_at: datetime | None = None, places_for: tuple[str, ...] = ()
):
    """A check-in hosted by mod_maya (who must exist), not yet open: (its id, its room's key)."""
    with server.app.app_context():
        host = accounts.find_user("mod_maya")
        checkin = checkins.schedule(
            host,
            title="Evening check-in",
            area="grief",
            starts_at=starts_at or utcnow() + timedelta(minutes=5),
            length_minutes=60,
            capacity=capacity,
        )
        for name in places_for:
            checkins.save_place(accounts.find_user(name), checkin)
        return checkin.id, checkin.room.key


def _host_moves(server: LiveServer, host_token: str, room: str, state: str) -> None:
    host = ChatClient(server, token=host_token).connect()
    try:
        assert host.call("advance", {"room": room, "state": state})["ok"]
    finally:
        host.close()


def _page_in_zone(browser: Any, server: LiveServer, username: str) -> Any:
    """A signed-in page whose clock is in ZONE (and reads dates the British way, for a steady format)."""
    context = browser.new_context(
        base_url=server.url, viewport={"width": 360, "height": 800}, timezone_id=ZONE, locale="en-GB"
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    login_in_browser(page, username)
    return page


def _done(*pages: Any) -> None:
    for page in pages:
        assert page.errors == []
        page.context.close()


def test_the_list_counts_places_live_and_says_when_they_are_all_taken(browser, live_server: LiveServer) -> None:
    _id, host_token = make_member(live_server, "mod_maya", role="moderator")
    for name in ("amber", "ash", "birch"):
        make_member(live_server, name)
    checkin_id, room = _check_in(live_server, capacity=2)
    page = new_page(browser, live_server.url)
    login_in_browser(page, "amber")
    page.goto("/chat/")
    card = page.locator(f"#checkin-{checkin_id}")
    expect(card.get_by_test_id("places")).to_have_text("0 of 2 places taken")
    ash, birch = browser_session(live_server, "ash"), browser_session(live_server, "birch")

    press_place_button(ash, live_server, f"/chat/check-ins/{checkin_id}/place")
    expect(card.get_by_test_id("places")).to_have_text("1 of 2 places taken")
    press_place_button(birch, live_server, f"/chat/check-ins/{checkin_id}/place")
    expect(card.get_by_test_id("places")).to_have_text("2 of 2 places taken")
    expect(card.get_by_test_id("save-place")).to_be_hidden()
    expect(card.get_by_test_id("places-full")).to_have_text("All places are taken.")

    press_place_button(ash, live_server, f"/chat/check-ins/{checkin_id}/place/give-up")
    expect(card.get_by_test_id("places")).to_have_text("1 of 2 places taken")
    expect(card.get_by_test_id("places-full")).to_be_hidden()
    _host_moves(live_server, host_token, room, "open")
    expect(card.locator(f'[data-places-state="{checkin_id}"]')).to_have_text("open")
    card.get_by_role("button", name="Take part").click()  # the count was live, so the button still works

    expect(page.locator("[data-chat-status]")).to_have_text(re.compile(r"^Live"), timeout=20_000)
    expect(page.get_by_test_id("places")).to_contain_text("2 of 2 places taken")
    _done(page)


def test_someone_looking_in_sees_none_of_the_talk_until_they_take_part(browser, live_server: LiveServer) -> None:
    _id, host_token = make_member(live_server, "mod_maya", role="moderator")
    _id, amber_token = make_member(live_server, "amber")
    make_member(live_server, "basil")
    make_member(live_server, "cedar")
    checkin_id, room = _check_in(live_server, capacity=2, places_for=("amber",))
    _host_moves(live_server, host_token, room, "open")
    amber = ChatClient(live_server, token=amber_token).connect()
    try:
        amber.join(room)
        assert amber.send("I'm glad to be here tonight", "amber-1", room=room)["ok"]
    finally:
        amber.close()

    cedar = open_room_in_browser(browser, live_server, "cedar", room, status=LOOKING_IN)
    basil = open_room_in_browser(browser, live_server, "basil", room, status=LOOKING_IN)
    for page in (basil, cedar):
        expect(page.locator(".chat-log")).to_be_hidden()
        expect(page.get_by_text("I'm glad to be here tonight")).to_have_count(0)
        expect(page.get_by_test_id("places")).to_have_text("1 of 2 places taken")  # looking in took none

    basil.get_by_role("button", name="Take part").click()

    expect(basil.locator("[data-chat-status]")).to_have_text(re.compile(r"^Live"), timeout=20_000)
    expect(basil.locator(".chat-message", has_text="I'm glad to be here tonight")).to_be_visible()
    expect(cedar.get_by_test_id("places")).to_have_text("2 of 2 places taken")
    expect(cedar.locator("[data-chat-status]")).to_have_text("This check-in has started, and all its places are taken.")
    expect(cedar.get_by_test_id("save-place")).to_be_hidden()
    with live_server.app.app_context():
        assert chat.participant_count(checkins.get_checkin(checkin_id)) == 2
    _done(basil, cedar)


def test_someone_waiting_is_told_plainly_when_the_host_opens_and_can_send(browser, live_server: LiveServer) -> None:
    _id, host_token = make_member(live_server, "mod_maya", role="moderator")
    make_member(live_server, "amber")
    _checkin_id, room = _check_in(live_server, capacity=3, places_for=("amber",))
    page = open_room_in_browser(browser, live_server, "amber", room, status="You have a place")
    box = page.get_by_label("Message", exact=True)
    box.fill("Hello, I came early")
    box.press("Enter")  # Enter waits for the host as the Send button does
    expect(page.locator("[data-chat-error]")).to_contain_text("once the host opens the check-in")
    expect(box).to_have_value("Hello, I came early")
    expect(page.locator(".chat-message")).to_have_count(0)

    _host_moves(live_server, host_token, room, "open")

    expect(page.locator("[data-chat-status]")).to_have_text(OPENED)
    expect(page.locator("[data-chat-announce]")).to_contain_text(OPENED)
    expect(page.locator("[data-chat-error]")).to_have_text("")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".chat-message[data-id]", has_text="Hello, I came early")).to_be_visible()
    _done(page)


def test_start_times_show_in_the_readers_own_time_zone(browser, live_server: LiveServer) -> None:
    make_member(live_server, "mod_maya", role="moderator")
    make_member(live_server, "amber")
    start = (utcnow() + timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    _checkin_id, room = _check_in(live_server, capacity=3, starts_at=start)
    page = _page_in_zone(browser, live_server, "amber")

    for path in ("/chat/", f"/chat/{room}"):
        page.goto(path)
        shown = page.get_by_test_id("starts-at")
        expect(shown).to_have_text(re.compile(r"17:30"))  # 12:00 UTC is 17:30 in India
        assert shown.get_attribute("datetime") == start.isoformat()
        assert shown.get_attribute("title") == start.strftime("%d %b %Y, 12:00 UTC")
    _done(page)


def test_the_schedule_form_takes_the_start_on_the_hosts_own_clock(browser, live_server: LiveServer) -> None:
    make_member(live_server, "mod_maya", role="moderator")
    day = (utcnow() + timedelta(days=3)).date()
    page = _page_in_zone(browser, live_server, "mod_maya")
    page.goto("/chat/check-ins/new")
    own_clock = re.compile(r"^Enter the time on your own clock \(Asia/(Kolkata|Calcutta)\)\.$")  # either, by ICU
    expect(page.locator("#starts_at-hint")).to_have_text(own_clock)

    page.get_by_label("Title").fill("Morning check-in")
    page.get_by_label("Starts at").fill(f"{day.isoformat()}T18:30")
    page.get_by_role("button", name="Schedule").click()

    expect(page.get_by_test_id("starts-at")).to_have_text(re.compile(r"18:30"))
    with live_server.app.app_context():
        [scheduled] = checkins.upcoming()
        assert scheduled.starts_at == datetime(day.year, day.month, day.day, 13, 0, tzinfo=UTC)
    _done(page)
