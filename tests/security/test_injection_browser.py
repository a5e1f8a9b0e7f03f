"""The XSS corpus in headless Chromium: every page that shows payloads opens without a dialog, a script error,
a CSP violation or a canary flag set by content.

The parser test (test_injection.py) proves the HTML is clean; this proves it in the engine people use,
including the chat log that client-side code fills from the socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from forum import create_app
from tests.conftest import SharedContextClient, make_config
from tests.security import fields
from tests.security.corpus import CANARY_FLAG, load_corpus
from tests.support.browser import login_in_browser, new_page
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BIG_PAGES = {"FORUM_POSTS_PER_PAGE": "1000", "FORUM_THREADS_PER_PAGE": "1000", "FORUM_CHAT_HISTORY": "500"}


@pytest.fixture
def big_page_server(live_database_url: str) -> Iterator[LiveServer]:
    if not live_database_url.startswith("sqlite"):
        # The stored HTML is made by the same services on either backend, and the parser test checks every page
        # on both; one browser pass (about 400 pages) is what the suite can afford.
        pytest.skip("the browser corpus pass runs once, on SQLite; test_injection.py covers PostgreSQL")
    server = LiveServer(live_database_url, env=BIG_PAGES)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def writer_app(big_page_server: LiveServer) -> Iterator[Flask]:
    """An in-process app on the live server's database: payloads go in through the real routes, in-process."""
    app = create_app(make_config(big_page_server.database_url, POSTS_PER_PAGE=1000, THREADS_PER_PAGE=1000))
    app.test_client_class = SharedContextClient
    with app.app_context():
        yield app


def _viewer(browser: Any, base_url: str, name: str | None) -> Any:
    page = new_page(browser, base_url)
    page.set_default_timeout(60_000)  # a cold server may be training the screening model on its first request
    page.csp_violations = []
    page.on(
        "console",
        lambda message: page.csp_violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    if name:
        login_in_browser(page, name, fields.PASSWORD)
    return page


def _open(page: Any, target: fields.Page) -> list[str]:
    response = page.goto(target.path, wait_until="load")
    if response is None or response.status != 200:
        return [f"answered {response.status if response else 'nothing'}"]
    if target.wait_for:
        page.wait_for_selector(target.wait_for, timeout=15_000)
    page.wait_for_timeout(20)  # let any injected timer fire
    problems = [*page.errors, *page.csp_violations]
    if page.evaluate(f"() => window.{CANARY_FLAG} !== undefined"):
        problems.append("a content script set the canary flag")
    page.errors.clear()
    page.csp_violations.clear()
    return problems


@pytest.mark.timeout(900)
def test_no_payload_runs_in_chromium_on_any_page_that_shows_it(
    browser: Any, big_page_server: LiveServer, writer_app: Flask
) -> None:
    corpus = load_corpus()
    writer = fields.prepare_writer(writer_app)
    pages: dict[str, list[fields.Page]] = {}
    for row in fields.FIELDS:
        if fields.missing_endpoint(writer_app, row):
            pytest.fail(f"field {row.name}: its route {row.needs_endpoint} is missing; update the row in fields.py")
        pages[row.name] = row.submit(writer, corpus).pages

    # The first screening in a fresh process may train the model: let that happen before the clock matters.
    requests.get(big_page_server.url + "/search?q=warming+up", timeout=600)
    viewers = {
        "anonymous": _viewer(browser, big_page_server.url, None),
        "author": _viewer(browser, big_page_server.url, fields.AUTHOR),
        "moderator": _viewer(browser, big_page_server.url, fields.MODERATOR),
    }
    failures: list[str] = []
    opened = 0
    for name, targets in pages.items():
        for target in targets:
            problems = _open(viewers[target.viewer], target)
            opened += 1
            if problems:
                failures.append(f"{name} at {target.path}: {problems[:3]}")
    assert failures == [], "\n".join(failures[:20])
    assert opened >= len(fields.FIELDS)
