"""Small defects a reviewer found in a real browser, checked in headless Chromium at 360 px: long words,
the draft check-in button, the mood form's ticks on another day, the edit form's screening, the site icon."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from forum.services import accounts, posting, profiles
from forum.services.practice import mood
from tests.chat.support import PASSWORD, make_member
from tests.support.browser import login_in_browser, new_page, register_in_browser, signed_in_page
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CRISIS = "I have the pills saved up and I'm going to kill myself tonight."
LONG_URL = "https://example.com/" + "averylongpathsegment" * 6  # 140 characters, nowhere to break
LONG_WORD = "unbreakable" * 10


def _arrange_long_words(server: LiveServer) -> dict[str, Any]:
    make_member(server, "sam")
    with server.app.app_context():
        sam = accounts.find_user("sam")
        profiles.update_profile(sam, bio=f"About me: {LONG_WORD}", pronouns="")
        board = posting.get_board("small-wins")
        thread = posting.create_thread(
            sam, board, title=LONG_URL, body="A small win with my garden today.", content_note=LONG_WORD
        ).thread
        return {"thread": thread.id, "board": board.slug}


def test_long_words_from_members_never_make_a_page_wider_than_360_px(browser: Any, live_server: LiveServer) -> None:
    arranged = _arrange_long_words(live_server)
    page = new_page(browser, live_server.url)
    shown_on = {
        f"/t/{arranged['thread']}": [LONG_URL, LONG_WORD],  # the title (h1) and the content note's summary
        f"/b/{arranged['board']}": [LONG_URL],  # the board's row for the thread
        "/": [LONG_URL],  # latest activity
        "/search?q=garden": [LONG_URL, LONG_WORD],  # the result's title and its content note
        "/u/sam": [LONG_WORD],  # the bio
    }
    too_wide = []
    for path, words in shown_on.items():
        response = page.goto(path)
        assert response is not None and response.ok, path
        text = page.inner_text("main")
        assert all(word in text for word in words), f"{path} does not show the long words it should"
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            too_wide.append(f"{path}: {width} px")
    assert too_wide == [], "\n".join(too_wide)


def _draft_crisis_words(page: Any) -> Any:
    page.locator("textarea[name=body]").fill(CRISIS)
    button = page.get_by_role("button", name="Ask a moderator to check in with me")
    button.wait_for()
    return button


def test_a_refused_check_in_request_keeps_its_button_and_says_when_to_try_again(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/b/grief-and-loss/new")
    button = _draft_crisis_words(page)
    status = page.locator(".suggestions [role=status]")

    refusal = {"error": {"code": "rate_limited", "message": "Wait.", "fields": {}, "retry_after": 90}}
    page.route("**/api/v1/check-ins", lambda route: route.fulfill(status=429, json=refusal))
    button.click()
    expect(status).to_contain_text("Wait. You can ask again in 2 minutes")
    expect(button).to_be_enabled()

    page.unroute("**/api/v1/check-ins")
    page.route("**/api/v1/check-ins", lambda route: route.abort())
    button.click()
    expect(status).to_contain_text("the connection failed. Please try again")  # a lost connection is said too
    expect(button).to_be_enabled()

    page.unroute("**/api/v1/check-ins")
    button.click()
    expect(status).to_contain_text("Thank you for asking")
    assert page.errors == []


def test_the_edit_form_offers_the_crisis_lines_while_the_draft_is_changed(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    with live_server.app.app_context():
        board = posting.get_board("small-wins")
        post = posting.create_thread(accounts.find_user("sam"), board, title="A small win", body="I went out.").post
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto(f"/p/{post.id}/edit")
    _draft_crisis_words(page)
    expect(page.locator(".suggestions ul.resources li").first).to_be_visible()  # the lines, before anything is saved
    assert page.errors == []


def test_the_draft_suggestions_are_not_rebuilt_while_what_they_say_stays_the_same(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/b/grief-and-loss/new")
    display = page.eval_on_selector("[data-suggestions]", "box => getComputedStyle(box).display")
    assert display != "none", "the empty live region stays in the page, ready to speak"
    _draft_crisis_words(page)
    page.eval_on_selector(".suggestions ul.resources", "list => { list.dataset.first = 'yes'; }")
    with page.expect_response("**/api/v1/screen"):
        page.locator("textarea[name=body]").press_sequentially(" I mean it.")
    page.wait_for_timeout(300)
    # The same answer: the region was left alone, so a screen reader does not read it all out again.
    assert page.eval_on_selector(".suggestions ul.resources", "list => list.dataset.first") == "yes"


def _saved(page: Any) -> None:
    """The save's page has come back with its scripts running: the flash is in the HTML before the deferred
    scripts wire the day field, and a day chosen in between would tick nothing (seen on a loaded machine)."""
    page.wait_for_selector(".flash-success")
    page.wait_for_load_state("load")


def _ticked(page: Any) -> set[str]:
    return set(page.eval_on_selector_all(".mood-tags input:checked", "boxes => boxes.map(box => box.name)"))


def test_choosing_an_earlier_day_clears_todays_ticks_and_choosing_today_puts_them_back(
    browser: Any, live_server: LiveServer
) -> None:
    page = new_page(browser, live_server.url)
    register_in_browser(page, "wren")
    page.goto("/me/mood")
    today = date.fromisoformat(page.evaluate("() => document.querySelector('[data-local-today]').value"))
    page.get_by_role("checkbox", name="Saw someone").check()
    page.get_by_role("checkbox", name="Went outside").check()
    page.get_by_role("button", name="Mood 6 of 10").click()
    _saved(page)
    assert _ticked(page) == {"saw_someone", "went_outside"}, "today's ticks come back, as before"

    day = page.get_by_label("Day", exact=True)
    day.fill((today - timedelta(days=1)).isoformat())
    assert _ticked(page) == set()
    day.fill(today.isoformat())
    assert _ticked(page) == {"saw_someone", "went_outside"}

    day.fill((today - timedelta(days=1)).isoformat())
    page.get_by_role("checkbox", name="Slept well").check()
    page.get_by_role("button", name="Mood 4 of 10").click()
    _saved(page)
    with live_server.app.app_context():
        wren = accounts.find_user("wren")
        assert mood.entry_for(wren, today - timedelta(days=1)).tags == ["slept_well"]
        assert mood.entry_for(wren, today).tags == ["saw_someone", "went_outside"]
    assert page.errors == []


def test_correcting_an_earlier_days_number_keeps_the_tags_saved_for_it(browser: Any, live_server: LiveServer) -> None:
    """Choosing a day ticks what was saved for that day, so a corrected number does not wipe its tags."""
    page = new_page(browser, live_server.url)
    register_in_browser(page, "wren")
    page.goto("/me/mood")
    today = date.fromisoformat(page.evaluate("() => document.querySelector('[data-local-today]').value"))
    earlier = (today - timedelta(days=2)).isoformat()
    page.get_by_label("Day", exact=True).fill(earlier)
    page.get_by_role("checkbox", name="Slept well").check()
    page.get_by_role("button", name="Mood 3 of 10").click()
    _saved(page)
    page.get_by_label("Day", exact=True).fill(earlier)
    assert _ticked(page) == {"slept_well"}, "the day's own tags, ticked again"
    page.get_by_role("button", name="Mood 5 of 10").click()
    _saved(page)
    with live_server.app.app_context():
        entry = mood.entry_for(accounts.find_user("wren"), date.fromisoformat(earlier))
        assert (entry.mood, entry.tags) == (5, ["slept_well"])
    assert page.errors == []


def test_a_page_load_fetches_the_sites_own_icon(browser: Any, live_server: LiveServer) -> None:
    page = new_page(browser, live_server.url)
    with page.expect_response(lambda response: "favicon" in response.url, timeout=10_000) as icon:
        page.goto("/")
    assert icon.value.status == 200 and icon.value.url.endswith("/static/favicon.svg")


def test_a_keyboard_user_jumps_from_the_top_of_a_long_thread_to_the_reply_box(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    with live_server.app.app_context():
        sam = accounts.find_user("sam")
        thread = posting.create_thread(sam, posting.get_board("small-wins"), title="A long one", body="Start.").thread
        for n in range(15):
            posting.create_reply(sam, thread, body=f"Reply number {n} with [a link](https://example.com/{n}).")
        thread_id = thread.id
    page = signed_in_page(browser, live_server.url, "sam")
    page.goto(f"/t/{thread_id}")
    jump = page.get_by_role("link", name="Write a reply")
    jump.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Your reply", exact=False)).to_be_focused()
    assert page.errors == []


def test_the_people_here_are_read_out_by_name_alone(browser: Any, live_server: LiveServer) -> None:
    from tests.chat.support import open_room_in_browser

    make_member(live_server, "amber")
    page = open_room_in_browser(browser, live_server, "amber")
    present = page.locator("[data-chat-present]")
    expect(present.get_by_role("listitem")).to_have_count(1, timeout=10_000)
    expect(present).to_match_aria_snapshot("- list:\n  - listitem: amber")  # no bullet character read first
    assert page.errors == []


def test_a_long_helpline_link_in_a_private_message_stays_within_320_px_with_wide_text_spacing(
    browser: Any, live_server: LiveServer
) -> None:
    from forum.services import moderation_actions
    from tests.moderation_queue.helpers import item_for

    make_member(live_server, "sam")
    make_member(live_server, "mod_maya", role="moderator")
    with live_server.app.app_context():
        post = posting.create_thread(accounts.find_user("sam"), posting.get_board("grief-and-loss"), title="Tonight",
                                     body=CRISIS).post  # fmt: skip
        item = item_for(post)
        moderator = accounts.find_user("mod_maya")
        moderation_actions.act(moderator, item.id, action="reach_out", note="Thinking of you.", version=item.version)
    # A reader's own style sheet is not bound by the site's CSP; bypass_csp lets the test add one.
    page = browser.new_context(
        base_url=live_server.url, viewport={"width": 320, "height": 800}, bypass_csp=True
    ).new_page()
    login_in_browser(page, "sam")
    page.goto("/messages")
    # WCAG 1.4.12's text spacing, as a reader's own style sheet would set it.
    page.add_style_tag(
        content="* { line-height: 1.5 !important; letter-spacing: .12em !important; word-spacing: .16em !important; }"
    )
    expect(page.locator(".message-resources .resources li").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_a_paste_longer_than_the_box_says_what_was_left_out(browser: Any, live_server: LiveServer) -> None:
    make_member(live_server, "sam")
    page = signed_in_page(browser, live_server.url, "sam")
    page.goto("/me/journal/new")
    box = page.get_by_label("Your entry")
    limit = int(box.get_attribute("maxlength"))
    page.evaluate(
        """([selector, n]) => {
            const box = document.querySelector(selector);
            const data = new DataTransfer();
            data.setData("text/plain", "x".repeat(n));
            box.focus();
            box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
        }""",
        ["textarea[name=body]", limit + 250],
    )
    note = page.locator("[data-cut-note]")
    expect(note).to_have_text(
        f"This box holds {limit:,} characters: the last 250 of what you pasted did not fit and were left out."
    )
    assert page.errors == []
