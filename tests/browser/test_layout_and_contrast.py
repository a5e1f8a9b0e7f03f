"""Every main page at 360 px, in light and dark: nothing scrolls sideways and all text is readable (WCAG AA)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forum.extensions import db
from forum.models import ReviewItem
from forum.services import moderation_actions, posting
from tests.chat.support import PASSWORD, make_member
from tests.support.browser import login_in_browser
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CRISIS = "I have the pills saved up and I'm going to kill myself tonight."
CONCERN = "I feel worthless and like a burden to everyone, I just want to disappear for a while."

CONTRAST_FAILURES = (Path(__file__).parent / "contrast.js").read_text()


def _arrange(server: LiveServer) -> dict[str, Any]:
    make_member(server, "mod_maya", role="moderator")
    make_member(server, "sam")
    with server.app.app_context():
        from forum.services import accounts

        sam, maya = accounts.find_user("sam"), accounts.find_user("mod_maya")
        board = posting.get_board("grief-and-loss")
        thread = posting.create_thread(sam, board, title="A hard night", body=CRISIS).thread
        posting.create_reply(sam, thread, body=CONCERN, anonymous=False)
        item = db.session.query(ReviewItem).filter_by(target_type="post").order_by(ReviewItem.id).first()
        moderation_actions.act(maya, item.id, action="reach_out", note="Thinking of you.", version=item.version)
        return {"thread": thread.id, "item": item.id}


def _pages(arranged: dict[str, Any]) -> dict[str, list[str]]:
    shared = ["/", "/b/grief-and-loss", f"/t/{arranged['thread']}", "/guides", "/chat/", "/me/mood", "/me/data"]
    return {
        "mod_maya": [*shared, "/moderation/", "/moderation/dashboard", f"/moderation/items/{arranged['item']}"],
        "sam": [*shared, "/messages", "/me/journal", "/register"],
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_pages_fit_360_px_and_their_text_is_readable(browser: Any, live_server: LiveServer, scheme: str) -> None:
    arranged = _arrange(live_server)
    problems: list[str] = []
    for username, paths in _pages(arranged).items():
        viewport = {"width": 360, "height": 800}
        context = browser.new_context(base_url=live_server.url, viewport=viewport, color_scheme=scheme)
        page = context.new_page()
        login_in_browser(page, username, PASSWORD)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.ok, f"{username} {path}: {response and response.status}"
            assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                problems.append(f"{username} {path}: {width} px wide")
            problems += [f"{username} {path}: {failure}" for failure in page.evaluate(CONTRAST_FAILURES)]
        context.close()
    assert problems == [], "\n".join(problems)
