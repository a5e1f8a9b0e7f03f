"""Times on every page are printed in UTC (readable without script, and the same page for everyone) and said
in the reader's own time zone once site.js runs, with the UTC wording kept as the title."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from forum.services import accounts, posting
from tests.support.browser import login_in_browser
from tests.support.live import LiveServer

# Half an hour off whole hours: a time shown in it is never UTC's by chance.
ZONE = "Asia/Kolkata"


def _page_in_zone(browser: Any, server: LiveServer) -> Any:
    # en-GB: a 24-hour clock, so the check reads the same on any machine.
    context = browser.new_context(
        base_url=server.url, viewport={"width": 360, "height": 800}, timezone_id=ZONE, locale="en-GB"
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def _shown_in_zone(time: Any) -> None:
    """The <time> says its moment on the reader's clock, and keeps the UTC wording as its title."""
    moment = datetime.fromisoformat(time.get_attribute("datetime"))
    assert time.get_attribute("title") == moment.strftime("%d %b %Y, %H:%M UTC")
    local = moment.astimezone(ZoneInfo(ZONE))
    shown = time.text_content()
    assert local.strftime("%H:%M") in shown, f"{shown!r} is not {local:%H:%M} on the reader's clock"
    assert "UTC" not in shown


def test_post_thread_and_home_times_are_shown_on_the_readers_clock(browser: Any, live_server: LiveServer) -> None:
    with live_server.app.app_context():
        accounts.register("wren", "correct horse battery")
        wren = accounts.find_user("wren")
        thread = posting.create_thread(
            wren, posting.get_board("small-wins"), title="A walk at dawn", body="Out before the rain."
        ).thread
        thread_id = thread.id
    page = _page_in_zone(browser, live_server)
    login_in_browser(page, "wren")

    for path, where in ((f"/t/{thread_id}", ".post time"), ("/b/small-wins", ".meta time"), ("/", ".meta time")):
        page.goto(path)
        times = page.locator(where)
        assert times.count() >= 1, f"no time on {path}"
        _shown_in_zone(times.first)
    assert page.errors == []
