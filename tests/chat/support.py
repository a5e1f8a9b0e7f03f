"""A real Socket.IO client for chat tests, and ways to arrange a live server's database."""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import requests
import socketio

from forum.extensions import db
from forum.models import Block, User
from forum.services import accounts
from forum.services.transaction import write_transaction
from tests.support.live import LiveServer

PASSWORD = "correct horse battery"
CRISIS_TEXT = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."
ROOM = "board-introductions"


def schedule_check_in(host: Any, capacity: int = 4, minutes_ahead: int = 5) -> Any:
    """A grief check-in of an hour, hosted by `host`, starting a few minutes from now."""
    from datetime import timedelta

    from forum.models import utcnow
    from forum.services import checkins

    return checkins.schedule(
        host,
        title="Evening check-in",
        area="grief",
        starts_at=utcnow() + timedelta(minutes=minutes_ahead),
        length_minutes=60,
        capacity=capacity,
    )


def open_room_in_browser(
    browser: Any, server: LiveServer, username: str, room: str = ROOM, status: str = r"^Live"
) -> Any:
    """A page signed in as `username`, in chat room `room`, once its status line reads `status`."""
    from playwright.sync_api import expect

    from tests.support.browser import login_in_browser, new_page

    page = new_page(browser, server.url)
    login_in_browser(page, username)
    page.goto(f"/chat/{room}")
    expect(page.locator("[data-chat-status]")).to_have_text(re.compile(status), timeout=20_000)
    return page


def calm(n: int) -> str:
    return f"Message number {n} from me"


class ChatClient:
    """socketio.Client on /chat that records every server event it receives, in order."""

    def __init__(
        self,
        server: LiveServer,
        *,
        token: str | None = None,
        cookies: str | None = None,
        places: object = None,
    ) -> None:
        self.server = server
        self.token = token
        self.cookies = cookies
        self.places = places  # the check-ins whose places it hears, named as it connects, as a page names them
        self.sio = socketio.Client(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._changed = threading.Condition()
        self.sio.on("*", self._record, namespace="/chat")

    def _record(self, event: str, data: Any = None) -> None:
        with self._changed:
            self.events[event].append(data)
            self._changed.notify_all()

    def connect(self, namespaces: tuple[str, ...] = ("/chat",)) -> ChatClient:
        auth: dict[str, Any] = {"token": self.token} if self.token else {}
        if self.places is not None:
            auth["places"] = self.places
        self.sio.connect(
            self.server.url,
            namespaces=list(namespaces),
            auth=auth or None,
            headers={"Cookie": self.cookies} if self.cookies else {},
            transports=["websocket"],
            wait_timeout=10,
        )
        return self

    def call(self, event: str, data: Any) -> Any:
        return self.sio.call(event, data, namespace="/chat", timeout=15)

    def join(self, room: str = ROOM, after: int | None = None) -> dict[str, Any]:
        ack = self.call("join", {"room": room, "after": after})
        assert ack["ok"], ack
        return ack

    def send(self, body: str, client_id: str, room: str = ROOM) -> dict[str, Any]:
        return self.call("send", {"room": room, "body": body, "client_id": client_id})

    def wait_for(self, event: str, predicate: Callable[[list[Any]], bool], timeout: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.events[event]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {event!r}; got {dict(self.events)}")
                self._changed.wait(remaining)
            return list(self.events[event])

    def ids(self, event: str = "message") -> list[int]:
        return [payload["id"] for payload in self.events[event]]

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def make_member(server: LiveServer, username: str, *, role: str = "member", trusted: bool = False) -> tuple[int, str]:
    """Register someone in the live server's database; returns (user id, API token)."""
    with server.app.app_context():
        user = accounts.register(username, PASSWORD, role=role)
        if trusted:
            with write_transaction():
                user.trusted = True
        token = accounts.issue_token(user)
        return user.id, token


def block(server: LiveServer, blocker_id: int, blocked_id: int, kind: str = "block") -> None:
    with server.app.app_context(), write_transaction() as session:
        session.add(Block(blocker_id=blocker_id, blocked_id=blocked_id, kind=kind))


def user_named(server: LiveServer, username: str) -> User:
    with server.app.app_context():
        user = accounts.find_user(username)
        assert user is not None
        db.session.expunge(user)
        return user


def browser_session(server: LiveServer, username: str) -> requests.Session:
    """Sign in through the real login form (CSRF and all), as a browser would."""
    http = requests.Session()
    page = http.get(server.url + "/login", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text) or re.search(
        r'name="csrf_token" value="([^"]+)"', page.text
    )
    assert token, "no CSRF token on the login page"
    response = http.post(
        server.url + "/login",
        data={"csrf_token": token.group(1), "username": username, "password": PASSWORD},
        headers={"Referer": server.url + "/login"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return http


def cookie_header(http: requests.Session) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in http.cookies)


def csrf_from(http: requests.Session, url: str) -> str:
    page = http.get(url, timeout=10)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match, "no CSRF meta tag"
    return match.group(1)


def press_place_button(http: requests.Session, server: LiveServer, path: str) -> None:
    """A check-in's place button (save, give up) pressed on the list of check-ins, as a browser sends it."""
    token = csrf_from(http, server.url + "/chat/")
    response = http.post(
        server.url + path,
        data={"csrf_token": token, "from": "list"},
        headers={"Referer": server.url + "/chat/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
