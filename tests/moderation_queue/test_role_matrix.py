"""Who may do what: every role against every queue endpoint and every action, through the real HTTP stack."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.models.moderation import ACTIONS
from tests.conftest import api_token, bearer, login

from .helpers import CRISIS_TEXT, item_for, silence, start_thread

ROLES = ("anonymous", "member", "moderator", "admin")
DENIED = {"anonymous": 401, "member": 403}


@pytest.fixture
def arranged(app: Flask, make_user: Any) -> dict[str, Any]:
    writer = make_user("writer")
    users = {"member": make_user("river"), "moderator": make_user("mod_maya", role="moderator")}
    users["admin"] = make_user("ada_admin", role="admin")
    post = start_thread(writer, CRISIS_TEXT)
    return {"item": item_for(post), "post": post, "users": users}


def _headers(client: FlaskClient, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    return bearer(api_token(client, {"member": "river", "moderator": "mod_maya", "admin": "ada_admin"}[role]))


def _expect(role: str, allowed: int) -> int:
    return DENIED.get(role, allowed)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_role_on_each_action(client: FlaskClient, arranged: dict[str, Any], role: str, action: str) -> None:
    item = arranged["item"]
    if action == "lift":  # something to lift
        silence(arranged["post"].author)
    seen = item.version
    body = {"action": action, "note": "a reason", "version": seen, "hours": 2}
    response = client.post(f"/api/v1/moderation/items/{item.id}/actions", json=body, headers=_headers(client, role))
    assert response.status_code == _expect(role, 200), response.json
    if response.status_code == 200:
        assert response.json["version"] == seen + 1
    else:
        assert "signals" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_the_queue_item_and_claim(client: FlaskClient, arranged: dict[str, Any], role: str) -> None:
    item = arranged["item"]
    headers = _headers(client, role)
    queue = client.get("/api/v1/moderation/queue", headers=headers)
    detail = client.get(f"/api/v1/moderation/items/{item.id}", headers=headers)
    claim = client.post(f"/api/v1/moderation/items/{item.id}/claim", json={"version": item.version}, headers=headers)
    assert (queue.status_code, detail.status_code, claim.status_code) == (
        _expect(role, 200),
        _expect(role, 200),
        _expect(role, 200),
    )
    if queue.status_code == 200:
        listed = queue.json["items"][0]
        assert listed["id"] == item.id and listed["signals"] and listed["score"] is not None
    else:
        assert "signals" not in queue.get_data(as_text=True)


PAGES = (
    "/moderation/",
    "/moderation/queue/list",
    "/moderation/dashboard",
    "/moderation/needs-reply",
    "/moderation/audit",
    "/moderation/resolved",
)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_the_moderation_pages(client: FlaskClient, arranged: dict[str, Any], role: str) -> None:
    if role != "anonymous":
        login(client, {"member": "river", "moderator": "mod_maya", "admin": "ada_admin"}[role])
    paths = [*PAGES, f"/moderation/items/{arranged['item'].id}"]
    statuses = {path: client.get(path).status_code for path in paths}
    expected = {"anonymous": 302, "member": 403}.get(role, 200)
    assert statuses == dict.fromkeys(paths, expected)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_reports_screening_and_check_ins(client: FlaskClient, arranged: dict[str, Any], role: str) -> None:
    headers = _headers(client, role)
    report = client.post(
        f"/api/v1/posts/{arranged['post'].id}/reports", json={"kind": "worried", "reason": ""}, headers=headers
    )
    screen = client.post("/api/v1/screen", json={"text": CRISIS_TEXT}, headers=headers)
    check_in = client.post("/api/v1/check-ins", json={"source": "draft"}, headers=headers)
    signed_in = {"anonymous": 401}
    assert report.status_code == signed_in.get(role, 201)
    assert screen.status_code == signed_in.get(role, 200)
    assert check_in.status_code == signed_in.get(role, 201)
    if screen.status_code == 200:
        # The writer learns the level and guides, never the scores or the matched phrases.
        assert set(screen.json) == {"level", "area", "guides", "guide_links", "support"}
        assert screen.json["level"] == "crisis"


def test_acting_on_an_item_that_does_not_exist_is_a_404_whatever_the_note(
    client: FlaskClient, arranged: dict[str, Any]
) -> None:
    headers = _headers(client, "moderator")
    for note in ("", "a note"):
        missing = client.post(
            "/api/v1/moderation/items/999999/actions",
            json={"action": "note", "note": note, "version": 1},
            headers=headers,
        )
        assert missing.status_code == 404, missing.json
    item = arranged["item"]
    empty = client.post(
        f"/api/v1/moderation/items/{item.id}/actions",
        json={"action": "note", "note": "", "version": item.version},
        headers=headers,
    )
    assert empty.status_code == 422 and "note" in empty.json["error"]["fields"]


def test_a_stale_version_gets_409_and_the_fresh_item(client: FlaskClient, arranged: dict[str, Any]) -> None:
    item = arranged["item"]
    seen = item.version
    headers = _headers(client, "moderator")
    first = client.post(
        f"/api/v1/moderation/items/{item.id}/actions",
        json={"action": "note", "note": "seen", "version": seen},
        headers=headers,
    )
    assert first.status_code == 200
    second = client.post(
        f"/api/v1/moderation/items/{item.id}/actions",
        json={"action": "mark_safe", "note": "", "version": seen},
        headers=headers,
    )
    assert second.status_code == 409
    fresh = second.json["error"]["item"]
    assert fresh["id"] == item.id and fresh["version"] == first.json["version"] and fresh["status"] == "open"


def test_a_stale_version_on_the_page_shows_the_fresh_state(client: FlaskClient, arranged: dict[str, Any]) -> None:
    item = arranged["item"]
    login(client, "mod_maya")
    seen = item.version
    client.post(f"/moderation/items/{item.id}/act", data={"action": "note", "note": "first", "version": seen})
    page = client.post(f"/moderation/items/{item.id}/act", data={"action": "mark_safe", "version": seen})
    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert 'data-testid="conflict"' in html and f'data-testid="item-version">{seen + 1}<' in html
    # A message typed for the person is not lost to the conflict: it comes back in its box.
    note = "Hi, I read what you wrote and I'm here if you want to talk."
    again = client.post(f"/moderation/items/{item.id}/act", data={"action": "reach_out", "note": note, "version": seen})
    assert again.status_code == 409
    assert "Hi, I read what you wrote and I&#39;m here if you want to talk.</textarea>" in again.get_data(as_text=True)
