"""Long writing survives a session that ended while it was being written (static/js/drafts.js), checked in
headless Chromium against a real server: the words are kept in the tab, come back in their form after signing in
again, go once the server has saved them, and never stay behind for the next person on a shared computer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from forum.models import JournalEntry, Post, User
from forum.services import accounts, posting
from forum.services.practice import homework, journal
from tests.chat.support import PASSWORD, make_member
from tests.support.browser import login_in_browser, new_page, signed_in_page
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENTRY = (
    "Today was the anniversary. I sat in the car outside her house for an hour and couldn't go in.\n\n"
    "I keep thinking that if I had called more often, she wouldn't have been so alone at the end."
)
REPLY = "The same happened to me after my brother died. You are not the only one who sits outside the door."
NEW_PASSWORD = "a different long passphrase"

KEPT_IN_STORAGE = """() => Object.keys(sessionStorage).filter((key) => key.startsWith("hearth-draft"))"""
KEPT_ANYWHERE = """() => Object.keys(localStorage).filter((key) => key.startsWith("hearth-draft"))"""


def end_every_session_from_another_device(browser: Any, server: LiveServer, username: str) -> None:
    """The person signs out on another device: the app ends every one of their sessions, this one too."""
    elsewhere = new_page(browser, server.url)
    login_in_browser(elsewhere, username, PASSWORD)
    elsewhere.get_by_role("button", name="Sign out").click()
    expect(elsewhere.get_by_text("You're signed out. Take care.")).to_be_visible()
    elsewhere.context.close()


def sign_in_here(page: Any, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Pseudonym").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def kept_note(page: Any) -> Any:
    return page.locator("[data-draft-kept]")


def test_a_journal_entry_sent_after_the_session_ended_elsewhere_comes_back_and_goes_once_saved(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/me/journal/new")
    page.get_by_label("Title (optional)").fill("The anniversary")
    page.get_by_label("Your entry").fill(ENTRY)

    end_every_session_from_another_device(browser, live_server, "sam")
    page.get_by_role("button", name="Save entry").click()

    # Sent to sign in, told the words are kept (not saved), and they are, in this tab's storage only.
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(kept_note(page)).to_contain_text("What you wrote was kept in this tab, but not saved.")
    assert len(page.evaluate(KEPT_IN_STORAGE)) == 1
    assert page.evaluate(KEPT_ANYWHERE) == []

    sign_in_here(page, "sam")
    page.wait_for_url(re.compile(r"/me/journal/new$"))
    expect(page.get_by_label("Your entry")).to_have_value(ENTRY)
    expect(page.get_by_label("Title (optional)")).to_have_value("The anniversary")
    expect(kept_note(page)).to_contain_text("no answer came to say it was saved")

    page.get_by_role("button", name="Save entry").click()
    page.wait_for_url(re.compile(r"/me/journal/\d+$"))
    expect(page.locator("main")).to_contain_text("I sat in the car outside her house")
    assert page.evaluate(KEPT_IN_STORAGE) == []

    # Coming back to the form after the save: a fresh page, nothing put back, no note.
    page.goto("/me/journal/new")
    expect(page.get_by_label("Your entry")).to_have_value("")
    expect(kept_note(page)).to_have_count(0)
    with live_server.app.app_context():
        assert db.session.query(JournalEntry).count() == 1
    assert page.errors == []


def test_a_reply_sent_after_a_password_change_elsewhere_comes_back_in_the_reply_box(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "robin")
    sam_id, _token = make_member(live_server, "sam")
    with live_server.app.app_context():
        robin = accounts.find_user("robin")
        thread = posting.create_thread(
            robin, posting.get_board("grief-and-loss"), title="Sitting outside the door", body="Does anyone else?"
        ).thread
        thread_id = thread.id

    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto(f"/t/{thread_id}")
    page.get_by_label("Your reply").fill(REPLY)
    page.get_by_label("Reply as \u201ca member\u201d").check()

    # The password is changed elsewhere (the account service, as any other device would reach it): every
    # session of this person ends, this tab's too.
    with live_server.app.app_context():
        accounts.change_password(db.session.get(User, sam_id), PASSWORD, NEW_PASSWORD)
    page.get_by_role("button", name="Post reply").click()

    page.wait_for_url(re.compile(r"/login\?next="))
    expect(kept_note(page)).to_be_visible()
    sign_in_here(page, "sam", NEW_PASSWORD)

    page.wait_for_url(re.compile(rf"/t/{thread_id}(\?page=\d+)?#reply$"))
    expect(page.get_by_label("Your reply")).to_have_value(REPLY)
    # The choice to reply as "a member" comes back with the words: sent under their name, it would out them.
    expect(page.get_by_label("Reply as \u201ca member\u201d")).to_be_checked()
    expect(kept_note(page)).to_be_visible()

    page.get_by_role("button", name="Post reply").click()
    expect(page.locator(".post-body").nth(1)).to_contain_text("You are not the only one")
    expect(page.get_by_label("Your reply")).to_have_value("")
    expect(kept_note(page)).to_have_count(0)
    assert page.evaluate(KEPT_IN_STORAGE) == []
    with live_server.app.app_context():
        replies = db.session.query(Post).filter(Post.thread_id == thread_id, Post.number > 1).all()
        assert [(p.body_md, p.is_anonymous) for p in replies] == [(REPLY, True)]
    assert page.errors == []


def test_signing_out_leaves_no_draft_in_the_tab_for_the_next_person(browser: Any, live_server: LiveServer) -> None:
    make_member(live_server, "sam")
    make_member(live_server, "alex")
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/me/journal/new")
    page.get_by_label("Your entry").fill(ENTRY)
    end_every_session_from_another_device(browser, live_server, "sam")
    page.get_by_role("button", name="Save entry").click()
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in_here(page, "sam")
    expect(page.get_by_label("Your entry")).to_have_value(ENTRY)  # kept while it was theirs to come back to

    # A chat box's words as chat.js keeps them across a reload (written here as it writes them): they go too.
    page.evaluate("""() => sessionStorage.setItem("hearth-chat-draft:board-introductions", "half a message")""")

    # Sam leaves without saving, and signs out on purpose.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You're signed out. Take care.")).to_be_visible()
    assert page.evaluate("""() => Object.keys(sessionStorage).filter((key) => key.startsWith("hearth"))""") == []

    # The next person on this computer, in this same tab, finds nothing of it.
    login_in_browser(page, "alex", PASSWORD)
    page.goto("/me/journal/new")
    expect(page.get_by_label("Your entry")).to_have_value("")
    expect(kept_note(page)).to_have_count(0)
    assert ENTRY not in page.content()
    assert page.errors == []


def test_another_person_signing_in_on_the_tab_never_sees_a_draft_left_there(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    make_member(live_server, "alex")
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/me/journal/new")
    page.get_by_label("Your entry").fill(ENTRY)
    end_every_session_from_another_device(browser, live_server, "sam")
    page.get_by_role("button", name="Save entry").click()
    page.wait_for_url(re.compile(r"/login\?next="))

    # Chat words sam left in the tab, as chat.js keeps them across a reload (under no one's name).
    page.evaluate("""() => sessionStorage.setItem("hearth-chat-draft:board-introductions", "half a message")""")

    # Sam walks away from the sign-in page; someone else signs in on it and is taken to the same form.
    sign_in_here(page, "alex")
    page.wait_for_url(re.compile(r"/me/journal/new$"))
    expect(page.get_by_label("Your entry")).to_have_value("")
    expect(kept_note(page)).to_have_count(0)
    # Sam's words left the tab when alex's first page opened.
    assert page.evaluate("""() => Object.keys(sessionStorage).filter((key) => key.includes("draft"))""") == []
    assert page.errors == []


def test_a_new_thread_refused_as_expired_after_signing_out_in_another_tab_is_kept_with_a_way_back(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/b/grief-and-loss/new")
    page.get_by_label("Title").fill("The first winter without him")
    page.get_by_label("What would you like to say?").fill(ENTRY)

    # Signed out in another tab of this browser: the session, and the form's CSRF token with it, is gone.
    other_tab = page.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()
    expect(other_tab.get_by_text("You're signed out. Take care.")).to_be_visible()
    other_tab.close()

    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Post thread").click()
    assert sent.value.status == 400
    expect(page.locator("main")).to_contain_text("This form expired")
    expect(kept_note(page)).to_contain_text("What you wrote was kept in this tab, but not saved: you were signed out.")

    kept_note(page).get_by_role("link", name="Sign in again to go back to it").click()
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(kept_note(page)).to_be_visible()
    sign_in_here(page, "sam")
    page.wait_for_url(re.compile(r"/b/grief-and-loss/new$"))
    expect(page.get_by_label("Title")).to_have_value("The first winter without him")
    expect(page.get_by_label("What would you like to say?")).to_have_value(ENTRY)

    page.get_by_role("button", name="Post thread").click()
    page.wait_for_url(re.compile(r"/t/\d+"))
    expect(page.locator("h1#thread-title")).to_contain_text("The first winter without him")
    assert page.evaluate(KEPT_IN_STORAGE) == []
    assert page.errors == []


def test_a_journal_edit_sent_after_the_session_ended_still_asks_before_replacing_a_change_made_elsewhere(
    browser: Any, live_server: LiveServer
) -> None:
    """The kept draft carries the version the form was opened on: put back into a fresh form, it is still a
    question (409) when the entry changed meanwhile, never a silent overwrite; refused, the draft stays."""
    sam_id, _token = make_member(live_server, "sam")
    with live_server.app.app_context():
        entry_id = journal.write_entry(db.session.get(User, sam_id), body="First words.").entry.id

    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto(f"/me/journal/{entry_id}/edit")
    page.get_by_label("Your entry").fill(ENTRY)

    end_every_session_from_another_device(browser, live_server, "sam")
    with live_server.app.app_context():  # and, on that device, a change to the same entry
        entry = journal.get_entry(entry_id)
        journal.edit_entry(db.session.get(User, sam_id), entry, body="Words from my phone.")
    # A private page answers a stranger as if it did not exist (tests/security/matrix.py own_private_page): the
    # note under that answer says what happened, and signing in from it leads back to the form.
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="Save changes").click()
    assert refused.value.status == 404
    expect(kept_note(page)).to_contain_text("kept in this tab, but not saved: you were signed out")
    kept_note(page).get_by_role("link", name="Sign in again to go back to it").click()
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in_here(page, "sam")
    page.wait_for_url(re.compile(rf"/me/journal/{entry_id}/edit$"))
    expect(page.get_by_label("Your entry")).to_have_value(ENTRY)

    with page.expect_navigation() as first:
        page.get_by_role("button", name="Save changes").click()
    assert first.value.status == 409
    expect(page.get_by_label("Your entry")).to_have_value(ENTRY)
    assert len(page.evaluate(KEPT_IN_STORAGE)) == 1  # refused: not saved, so still kept

    page.get_by_role("button", name="Save changes").click()  # knowingly, this time
    page.wait_for_url(re.compile(rf"/me/journal/{entry_id}$"))
    expect(page.locator("main")).to_contain_text("I sat in the car outside her house")
    assert page.evaluate(KEPT_IN_STORAGE) == []
    assert page.errors == []


def test_a_homework_reflection_sent_after_the_session_ended_comes_back_under_its_practice(
    browser: Any, live_server: LiveServer
) -> None:
    sam_id, _token = make_member(live_server, "sam")
    with live_server.app.app_context():
        item_id = homework.add_practice(db.session.get(User, sam_id), "homework").id

    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/me/homework")
    page.get_by_text("Mark as done").click()
    page.get_by_label("How did it go?").fill(REPLY)

    end_every_session_from_another_device(browser, live_server, "sam")
    page.get_by_role("button", name=re.compile("^Check off")).click()
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in_here(page, "sam")
    page.wait_for_url(re.compile(rf"/me/homework#h{item_id}$"))
    expect(page.get_by_label("How did it go?")).to_have_value(REPLY)  # its folded form opened to show it
    expect(kept_note(page)).to_be_visible()

    page.get_by_role("button", name=re.compile("^Check off")).click()
    expect(page.get_by_text("Checked off. Well done for trying it.")).to_be_visible()
    assert page.evaluate(KEPT_IN_STORAGE) == []
    assert page.errors == []


def test_a_relapse_plan_sent_after_the_session_ended_comes_back_in_every_box(
    browser: Any, live_server: LiveServer
) -> None:
    make_member(live_server, "sam")
    page = signed_in_page(browser, live_server.url, "sam", PASSWORD)
    page.goto("/me/plan")
    boxes = page.locator("form.plan-form textarea")
    written = [f"Line I wrote for box {n}" for n in range(boxes.count())]
    for n, words in enumerate(written):
        boxes.nth(n).fill(words)

    end_every_session_from_another_device(browser, live_server, "sam")
    page.get_by_role("button", name="Save my plan").click()
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in_here(page, "sam")
    page.wait_for_url(re.compile(r"/me/plan$"))
    assert [boxes.nth(n).input_value() for n in range(boxes.count())] == written

    page.get_by_role("button", name="Save my plan").click()
    expect(page.get_by_text("Your plan is saved.")).to_be_visible()
    assert page.evaluate(KEPT_IN_STORAGE) == []
    expect(kept_note(page)).to_have_count(0)
    assert page.errors == []
