"""Ids at and past the edge of what the database stores, and ids that point nowhere, on every route: never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.models import User
from forum.services import posting
from tests.conftest import api_token, bearer, login

EDGE_IDS = (0, 2**31 - 1, 2**31, 10**20)


def _paths(app: Flask, value: int) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.arguments:
            continue
        if not any(type(rule._converters[arg]).__name__ == "DatabaseId" for arg in rule.arguments):
            continue
        values = {
            arg: value if type(rule._converters[arg]).__name__ == "DatabaseId" else "does-not-exist"
            for arg in rule.arguments
        }
        path = rule.rule
        for arg, val in values.items():
            path = path.replace(f"<int:{arg}>", str(val)).replace(f"<{arg}>", str(val))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


@pytest.mark.parametrize("value", EDGE_IDS)
def test_edge_ids_in_any_url_are_answered_without_a_server_error(
    app: Flask, member: User, client: FlaskClient, value: int
) -> None:
    token = api_token(app.test_client(), "sam")
    login(client, "sam")
    answers = []
    for method, path in _paths(app, value):
        kwargs = {"headers": bearer(token), "json": {}} if path.startswith("/api/") else {"data": {}}
        response = client.open(path, method=method, **kwargs)
        answers.append((method, path, response.status_code))
    assert answers, "there are routes with ids"
    assert [a for a in answers if a[2] >= 500] == []


def test_replying_to_a_post_that_does_not_exist_is_refused_not_a_crash(app: Flask, member: User) -> None:
    client = app.test_client()
    token = api_token(client, "sam")
    outcome = posting.create_thread(member, posting.get_board("small-wins"), title="A thread", body="Hello.")
    other = posting.create_thread(member, posting.get_board("small-wins"), title="Another one", body="Hi.")
    for reply_to in (999_999, other.post.id, 2**40):
        response = client.post(
            f"/api/v1/threads/{outcome.thread.id}/posts",
            json={"body": "Hi", "reply_to_id": reply_to},
            headers=bearer(token),
        )
        assert response.status_code == 422, (reply_to, response.json)
    login(client, "sam")
    response = client.post(f"/t/{outcome.thread.id}/reply", data={"body": "Hi", "reply_to": "99999999999999"})
    assert response.status_code == 422


@pytest.mark.parametrize("value", EDGE_IDS)
def test_edge_ids_in_the_notifications_cursor_are_refused_or_answered_never_a_crash(
    app: Flask, member: User, value: int
) -> None:
    response = app.test_client().get(
        f"/api/v1/notifications?before={value}", headers=bearer(api_token(app.test_client(), "sam"))
    )
    assert response.status_code in (200, 422), response.json
    if value > 2**31 - 1:
        assert response.status_code == 422 and "before" in response.json["error"]["fields"]
