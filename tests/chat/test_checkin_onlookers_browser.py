"""Check-ins in Chromium for the people outside their talk: someone looking in without a place, someone who
opens one whose places are all taken, and someone waiting for one to open. Their page follows the check-in's
state and places live, says plainly when it has ended, and shows no heading with nothing under it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from forum.services import accounts, privacy
from tests.chat.support import PASSWORD, make_member, open_room_in_browser
from tests.chat.test_checkin_browser import LOOKING_IN, _check_in, _done, _host_moves
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALL_TAKEN = "This check-in has started, and all its places are taken."
ENDED = "This check-in has ended."


def _hosted_and_open(server: LiveServer, *, capacity: int, places_for: tuple[str, ...]) -> tuple[str, str]:
    """mod_maya hosts a check-in she has opened, `places_for` holding places: (her token, its room's key)."""
    _id, host_token = make_member(server, "mod_maya", role="moderator")
    for name in (*places_for, "basil"):
        make_member(server, name)
    _checkin_id, room = _check_in(server, capacity=capacity, places_for=places_for)
    _host_moves(server, host_token, room, "open")
    return host_token, room


def test_someone_looking_in_follows_the_state_and_is_told_when_it_ends(browser, live_server: LiveServer) -> None:
    host_token, room = _hosted_and_open(live_server, capacity=3, places_for=("amber",))
    page = open_room_in_browser(browser, live_server, "basil", room, status=LOOKING_IN)
    state, status = page.locator("[data-checkin-state]"), page.locator("[data-chat-status]")
    expect(state).to_have_text("open")
    # Nothing of the talk is theirs to see, so no heading stands over an empty list.
    expect(page.get_by_role("heading", name="The round")).to_have_count(0)
    expect(page.get_by_role("heading", name="Here now")).to_have_count(0)

    for new_state, shown in (("mood_round", "mood round"), ("open_talk", "open talk")):
        _host_moves(live_server, host_token, room, new_state)
        expect(state).to_have_text(shown)
        expect(status).to_have_text(LOOKING_IN)
        expect(page.get_by_role("button", name="Take part")).to_be_visible()

    _host_moves(live_server, host_token, room, "closed")

    expect(status).to_have_text(ENDED)
    expect(state).to_have_text("closed")
    expect(page.get_by_role("button", name="Take part")).to_have_count(0)
    expect(page.get_by_test_id("places")).to_be_hidden()
    _done(page)


def test_someone_who_opens_a_full_check_in_follows_it_until_it_ends(browser, live_server: LiveServer) -> None:
    host_token, room = _hosted_and_open(live_server, capacity=2, places_for=("amber", "cedar"))
    page = open_room_in_browser(browser, live_server, "basil", room, status=re.escape(ALL_TAKEN))
    state, status = page.locator("[data-checkin-state]"), page.locator("[data-chat-status]")
    # Shown as someone looking in is: the check-in's places, not an empty conversation that reads as nobody there.
    expect(page.get_by_test_id("places")).to_have_text("2 of 2 places taken")
    expect(page.get_by_test_id("places-full")).to_have_text("All places are taken.")
    expect(page.get_by_test_id("save-place")).to_be_hidden()
    expect(page.locator(".chat-log")).to_be_hidden()
    expect(page.get_by_role("heading", name="Here now")).to_have_count(0)
    expect(page.get_by_role("heading", name="The round")).to_have_count(0)

    _host_moves(live_server, host_token, room, "mood_round")
    expect(state).to_have_text("mood round")
    expect(status).to_have_text(ALL_TAKEN)
    expect(page.get_by_test_id("places-full")).to_be_visible()

    _host_moves(live_server, host_token, room, "closed")

    expect(status).to_have_text(ENDED)
    expect(state).to_have_text("closed")
    expect(page.get_by_test_id("places-full")).to_be_hidden()
    _done(page)


def test_someone_shut_out_of_a_full_check_in_is_offered_a_place_that_frees_up(browser, live_server: LiveServer) -> None:
    host_token, room = _hosted_and_open(live_server, capacity=2, places_for=("amber", "cedar"))
    page = open_room_in_browser(browser, live_server, "basil", room, status=re.escape(ALL_TAKEN))
    with live_server.app.app_context():  # a deleted account's place is free again
        privacy.delete_account(accounts.find_user("amber"), password=PASSWORD, posts="keep")

    _host_moves(live_server, host_token, room, "mood_round")  # the next change says the places as they are

    expect(page.get_by_test_id("places")).to_have_text("1 of 2 places taken")
    expect(page.locator("[data-chat-status]")).to_have_text(LOOKING_IN)
    expect(page.get_by_test_id("places-full")).to_be_hidden()
    page.get_by_role("button", name="Take part").click()
    expect(page.locator("[data-chat-status]")).to_have_text(re.compile(r"^Live"), timeout=20_000)
    expect(page.get_by_label("Message", exact=True)).to_be_visible()
    expect(page.get_by_test_id("places")).to_contain_text("2 of 2 places taken")
    _done(page)


def test_no_empty_headings_while_waiting_for_a_check_in_to_open(browser, live_server: LiveServer) -> None:
    _id, host_token = make_member(live_server, "mod_maya", role="moderator")
    make_member(live_server, "amber")
    make_member(live_server, "basil")
    _checkin_id, room = _check_in(live_server, capacity=3, places_for=("amber",))
    waiting = open_room_in_browser(browser, live_server, "amber", room, status="You have a place")
    without_place = open_room_in_browser(browser, live_server, "basil", room, status="hasn't opened yet")

    # With a place: who is here already (herself at least), but no round before one has begun.
    expect(waiting.get_by_role("heading", name="Here now")).to_be_visible()
    expect(waiting.locator("[data-chat-present]")).to_have_text("amber")
    expect(waiting.get_by_role("heading", name="The round")).to_have_count(0)
    # Without one: none of the talk is theirs, and nothing stands empty in its place.
    expect(without_place.get_by_role("heading", name="Here now")).to_have_count(0)
    expect(without_place.get_by_role("heading", name="The round")).to_have_count(0)
    expect(without_place.locator(".chat-log")).to_be_hidden()
    expect(without_place.get_by_test_id("save-place")).to_have_text("Save me a place")

    _host_moves(live_server, host_token, room, "open")
    _host_moves(live_server, host_token, room, "mood_round")
    waiting.get_by_label("One word").fill("steady")
    waiting.get_by_role("button", name="Share").click()

    # The round's heading comes with its first share.
    expect(waiting.get_by_role("heading", name="The round")).to_be_visible()
    expect(waiting.locator("[data-checkin-round]")).to_have_text("amber: 5/10 · steady")
    expect(without_place.locator("[data-chat-status]")).to_have_text(LOOKING_IN)
    expect(without_place.get_by_role("heading", name="The round")).to_have_count(0)
    _done(waiting, without_place)


def test_waiting_for_a_check_in_to_open_does_not_repeat_itself_to_a_screen_reader(
    browser, live_server: LiveServer
) -> None:
    """The page asks every few seconds whether the check-in has opened; the status line is a live region, so
    it keeps its words through those asks instead of flickering to "Joining…" and back."""
    make_member(live_server, "mod_maya", role="moderator")
    make_member(live_server, "basil")
    _checkin_id, room = _check_in(live_server, capacity=3)
    page = open_room_in_browser(browser, live_server, "basil", room, status="hasn't opened yet")
    page.evaluate(
        """() => {
            window.statusChanges = [];
            const status = document.querySelector("[data-chat-status]");
            new MutationObserver(() => window.statusChanges.push(status.textContent))
                .observe(status, { childList: true, characterData: true, subtree: true });
        }"""
    )
    page.wait_for_timeout(6500)  # longer than the page's 5-second ask (NOT_OPEN_RETRY_MS in chat.js)
    assert page.evaluate("() => window.statusChanges") == []
    expect(page.locator("[data-chat-status]")).to_contain_text("hasn't opened yet")
    _done(page)


def test_someone_opening_a_check_in_full_before_it_opens_is_not_told_to_save_a_place(
    browser, live_server: LiveServer
) -> None:
    make_member(live_server, "mod_maya", role="moderator")
    for name in ("amber", "cedar", "basil"):
        make_member(live_server, name)
    _checkin_id, room = _check_in(live_server, capacity=2, places_for=("amber", "cedar"))
    page = open_room_in_browser(browser, live_server, "basil", room, status="hasn't opened yet")

    expect(page.locator("[data-chat-status]")).to_have_text(
        "This check-in hasn't opened yet, and all its places are taken."
    )
    expect(page.get_by_test_id("save-place")).to_be_hidden()
    _done(page)
