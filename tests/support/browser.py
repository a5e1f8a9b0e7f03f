"""Headless Chromium from Debian's package, driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM} (install Debian's `chromium` package)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + ": CI requires it", pytrace=False)
    pytest.skip(message + ": browser tests are skipped on this machine")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        yield instance
        instance.close()


def new_page(browser: Any, base_url: str) -> Any:
    """A fresh context (own cookies) and page, failing the test on any script error or dialog."""
    context = browser.new_context(base_url=base_url, viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return page


def register_in_browser(page: Any, username: str, password: str = "correct horse battery") -> None:
    page.goto("/register")
    page.get_by_label("Pseudonym").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Join").click()
    page.wait_for_url("**/")


def login_in_browser(page: Any, username: str, password: str = "correct horse battery") -> None:
    page.goto("/login")
    page.get_by_label("Pseudonym").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def signed_in_page(browser: Any, base_url: str, username: str, password: str = "correct horse battery") -> Any:
    """A fresh page (new_page) signed in through the real sign-in form."""
    page = new_page(browser, base_url)
    login_in_browser(page, username, password)
    return page
