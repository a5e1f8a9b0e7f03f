"""In Chromium: download your data, delete your account, and watch the unread count change live."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import requests
from playwright.sync_api import expect

from forum.services import accounts, posting
from tests.support.browser import login_in_browser, new_page
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_export_downloads_a_zip_and_deletion_leaves_kept_posts_to_a_former_member(
    browser, live_server: LiveServer
) -> None:
    with live_server.app.app_context():
        river = accounts.register("river", "correct horse battery")
        wren = accounts.register("wren", "correct horse battery")
        thread = posting.create_thread(
            river, posting.get_board("role-transitions"), title="Finding my feet", body="Moving *cities* at forty."
        ).thread
        posting.create_reply(wren, thread, body="Welcome, @river.")
        thread_id = thread.id

    page = new_page(browser, live_server.url)
    login_in_browser(page, "river")
    page.goto("/me/data")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    download = download_info.value
    assert download.suggested_filename.startswith("hearth-export-river-")
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
        names = {name.split("/", 1)[1]: name for name in archive.namelist()}
        posts = json.loads(archive.read(names["posts.json"]))["posts"]
        assert [p["body_markdown"] for p in posts] == ["Moving *cities* at forty."]
        assert json.loads(archive.read(names["profile.json"]))["username"] == "river"
        assert any(name.startswith("markdown/posts/") for name in names)

    page.get_by_label("Keep them, shown as written by").check()
    page.get_by_label("Your password, to confirm").fill("correct horse battery")
    page.get_by_role("button", name="Delete my account").click()
    page.wait_for_url(f"{live_server.url}/")
    assert "Your account is deleted" in page.locator(".flashes").inner_text()

    page.goto("/login")
    page.get_by_label("Pseudonym").fill("river")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    assert "don't match an account" in page.locator("main").inner_text()

    page.goto(f"/t/{thread_id}")
    authors = page.locator(".post .author").all_inner_texts()
    assert authors == ["a former member", "wren"]
    assert "Moving cities at forty." in page.locator(".post-body").first.inner_text()
    assert page.errors == []


def test_the_unread_badge_updates_without_a_reload(browser, live_server: LiveServer) -> None:
    with live_server.app.app_context():
        sam = accounts.register("sam", "correct horse battery")
        wren = accounts.register("wren", "correct horse battery")
        thread_id = posting.create_thread(
            sam, posting.get_board("grief-and-loss"), title="Hard days", body="x"
        ).thread.id
        wren_token = accounts.issue_token(wren)

    page = new_page(browser, live_server.url)
    login_in_browser(page, "sam")
    badge = page.locator("[data-unread-count]")
    link = page.locator("[data-notifications-link]")
    assert badge.is_hidden()
    assert link.get_attribute("aria-label") is None and "unread" not in link.inner_text()
    response = requests.post(
        f"{live_server.url}/api/v1/threads/{thread_id}/posts",
        json={"body": "Thinking of you."},
        headers={"Authorization": f"Bearer {wren_token}"},
        timeout=120,  # the server's first screening may train the moderation model
    )
    assert response.status_code == 201
    # expect() polls from Playwright's side: a string predicate would be eval'd in the page, which our CSP forbids.
    expect(page.locator("[data-unread-count]")).to_have_text("1", timeout=10_000)
    assert badge.is_visible()
    assert "1 unread" in link.inner_text().replace("\n", " ")
    assert page.title().startswith("(1) ")
    assert page.errors == []
