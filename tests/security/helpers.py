"""Small clients for live servers: a signed-in requests session (with CSRF) and Socket.IO connections."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import requests

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(session: requests.Session, base_url: str, path: str = "/login") -> str:
    page = session.get(base_url + path, timeout=10).text
    match = CSRF_META.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def signed_in_session(base_url: str, username: str, password: str = "correct horse battery") -> requests.Session:
    session = requests.Session()
    token = csrf_token(session, base_url)
    response = session.post(
        base_url + "/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers={"Referer": base_url + "/login"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:300]
    return session


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def api_token(base_url: str, username: str, password: str = "correct horse battery") -> str:
    response = requests.post(base_url + "/api/v1/tokens", json={"username": username, "password": password}, timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])
