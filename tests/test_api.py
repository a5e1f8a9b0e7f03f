"""The JSON API: the documented flows, and a JSON error with the right status for every bad request."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Post, Thread, User
from tests.conftest import api_token, bearer

CALM = "Starting a new job next week and I'm nervous about fitting in."


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.data
    assert response.is_json, response.data[:200]
    error = response.json["error"]
    assert set(error) >= {"code", "message", "fields"}
    if code:
        assert error["code"] == code
    return error


@pytest.fixture
def token(client: FlaskClient, member: User) -> str:
    return api_token(client, "sam")


def test_register_then_get_a_token(client: FlaskClient) -> None:
    created = client.post("/api/v1/users", json={"username": "river", "password": "correct horse battery"})
    assert created.status_code == 201
    assert created.json["username"] == "river"
    assert "password" not in created.json and "password_hash" not in created.json
    assert api_token(client, "river")


def test_boards_list_the_four_ipt_areas(client: FlaskClient) -> None:
    response = client.get("/api/v1/boards")
    slugs = {board["slug"] for board in response.json}
    assert {"grief-and-loss", "role-transitions", "interpersonal-disputes", "interpersonal-deficits"} <= slugs
    assert all({"slug", "title", "description", "thread_count"} <= set(b) for b in response.json)


def test_create_thread_reply_edit_delete_over_the_api(client: FlaskClient, token: str) -> None:
    created = client.post(
        "/api/v1/boards/role-transitions/threads", json={"title": "New job nerves", "body": CALM}, headers=bearer(token)
    )
    assert created.status_code == 201, created.json
    thread_id = created.json["thread"]["id"]
    assert created.json["post"]["body_html"].startswith("<p>")
    assert created.json["screening"]["level"] in ("none", "concern")
    assert "score" not in created.json["screening"], "scores are for moderators"

    reply = client.post(f"/api/v1/threads/{thread_id}/posts", json={"body": "You've got this."}, headers=bearer(token))
    assert reply.status_code == 201
    post_id = reply.json["post"]["id"]

    patched = client.patch(f"/api/v1/posts/{post_id}", json={"body": "You've *got* this."}, headers=bearer(token))
    assert patched.status_code == 200
    assert "<em>got</em>" in patched.json["post"]["body_html"]

    assert client.delete(f"/api/v1/posts/{post_id}", headers=bearer(token)).status_code == 204
    shown = client.get(f"/api/v1/threads/{thread_id}").json
    assert [p["deleted"] for p in shown["posts"]] == [False, True]
    assert shown["posts"][1]["body_html"] is None


def test_a_retried_post_with_the_same_key_is_created_once(client: FlaskClient, token: str) -> None:
    body = {"title": "New job nerves", "body": CALM, "idempotency_key": "abc-123"}
    first = client.post("/api/v1/boards/role-transitions/threads", json=body, headers=bearer(token))
    second = client.post("/api/v1/boards/role-transitions/threads", json=body, headers=bearer(token))
    assert first.status_code == second.status_code == 201
    assert first.json["post"]["id"] == second.json["post"]["id"]
    assert second.json["created"] is False
    assert _count(Thread) == 1 and _count(Post) == 1


def test_a_key_reused_for_a_different_post_is_refused_and_writes_nothing(client: FlaskClient, token: str) -> None:
    first = {"title": "New job nerves", "body": CALM, "idempotency_key": "key-1"}
    created = client.post("/api/v1/boards/role-transitions/threads", json=first, headers=bearer(token))
    assert created.status_code == 201
    thread_id = created.json["thread"]["id"]
    other_words = {**first, "body": "Something else entirely."}
    other_board = first
    other_thread = {"body": CALM, "idempotency_key": "key-1"}
    attempts = [
        client.post("/api/v1/boards/role-transitions/threads", json=other_words, headers=bearer(token)),
        client.post("/api/v1/boards/small-wins/threads", json=other_board, headers=bearer(token)),
        client.post(f"/api/v1/threads/{thread_id}/posts", json=other_thread, headers=bearer(token)),
    ]
    for refused in attempts:
        assert refused.status_code == 409, refused.json
        assert "idempotency_key" in refused.json["error"]["fields"]
    assert _count(Thread) == 1 and _count(Post) == 1
    # The same submit again, line breaks as a browser sends them, is still the replay.
    again = client.post(
        "/api/v1/boards/role-transitions/threads", json={**first, "body": CALM + "\r\n"}, headers=bearer(token)
    )
    assert again.status_code == 201 and again.json["created"] is False


def test_a_crisis_post_returns_the_support_panel_to_its_author(client: FlaskClient, token: str) -> None:
    body = {"title": "I can't go on", "body": "I have the pills saved and I'm going to kill myself tonight."}
    created = client.post("/api/v1/boards/grief-and-loss/threads", json=body, headers=bearer(token))
    screening = created.json["screening"]
    assert screening["level"] == "crisis"
    assert screening["support"]["resources"], "crisis lines are shown at once"
    assert screening["support"]["can_request_check_in"] is True


def test_revoked_tokens_stop_working(client: FlaskClient, token: str) -> None:
    assert client.delete("/api/v1/tokens/current", headers=bearer(token)).status_code == 204
    response = client.post(
        "/api/v1/boards/role-transitions/threads", json={"title": "New job nerves", "body": CALM}, headers=bearer(token)
    )
    _assert_error(response, 401, "not_authenticated")


def test_writing_without_a_token_is_401(client: FlaskClient) -> None:
    response = client.post("/api/v1/boards/role-transitions/threads", json={"title": "New job nerves", "body": CALM})
    _assert_error(response, 401)
    assert _count(Thread) == 0


def test_wrong_credentials_are_401_with_one_message(client: FlaskClient, member: User) -> None:
    unknown = _assert_error(client.post("/api/v1/tokens", json={"username": "nobody", "password": "x" * 12}), 401)
    wrong = _assert_error(client.post("/api/v1/tokens", json={"username": "sam", "password": "x" * 12}), 401)
    assert unknown["message"] == wrong["message"]


def test_duplicate_username_is_409(client: FlaskClient, member: User) -> None:
    response = client.post("/api/v1/users", json={"username": "SAM", "password": "correct horse battery"})
    assert _assert_error(response, 409)["fields"]["username"]


def test_unknown_board_and_thread_are_404(client: FlaskClient, token: str) -> None:
    _assert_error(client.get("/api/v1/boards/nope/threads"), 404)
    _assert_error(client.get("/api/v1/threads/999999"), 404)
    _assert_error(client.post("/api/v1/threads/999999/posts", json={"body": "hi"}, headers=bearer(token)), 404)


def test_editing_someone_elses_post_is_403(client: FlaskClient, token: str, make_user) -> None:
    created = client.post(
        "/api/v1/boards/role-transitions/threads", json={"title": "New job nerves", "body": CALM}, headers=bearer(token)
    )
    make_user("river")
    other = api_token(client, "river")
    post_id = created.json["post"]["id"]
    _assert_error(client.patch(f"/api/v1/posts/{post_id}", json={"body": "mine now"}, headers=bearer(other)), 403)
    _assert_error(client.delete(f"/api/v1/posts/{post_id}", headers=bearer(other)), 403)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "Hi", "body": CALM}, "title"),
        ({"title": "New job nerves", "body": ""}, "body"),
        ({"title": "New job nerves", "body": "x" * 20_001}, "body"),
        ({"title": "New job nerves", "body": "null \u0000 byte"}, "body"),
        ({"title": "New job nerves"}, "body"),
        ({"title": 12345, "body": CALM}, "title"),
        ({"title": "New job nerves", "body": CALM, "surprise": 1}, "surprise"),
    ],
)
def test_invalid_fields_are_422_with_the_field_named_and_nothing_written(
    client: FlaskClient, token: str, payload: dict, field: str
) -> None:
    response = client.post("/api/v1/boards/role-transitions/threads", json=payload, headers=bearer(token))
    error = _assert_error(response, 422)
    assert field in error["fields"]
    assert _count(Thread) == 0


def test_a_non_json_body_is_400(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/api/v1/boards/role-transitions/threads",
        data="title=hello&body=world",
        headers={**bearer(token), "Content-Type": "application/x-www-form-urlencoded"},
    )
    _assert_error(response, 400)
    assert _count(Thread) == 0


@pytest.mark.parametrize("raw", [b"{not json", b'{"title": "New job nerves", "body": "\xff\xfe bad utf8"}'])
def test_malformed_json_and_invalid_utf8_are_400(client: FlaskClient, token: str, raw: bytes) -> None:
    response = client.post(
        "/api/v1/boards/role-transitions/threads",
        data=raw,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    _assert_error(response, 400)
    assert response.json["error"]["message"].startswith("The body is not valid JSON")
    assert _count(Thread) == 0


def test_json_nested_too_deeply_to_parse_is_400_not_a_crash(client: FlaskClient, token: str) -> None:
    deep = b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b', "body": "x"}'
    response = client.post(
        "/api/v1/boards/role-transitions/threads",
        data=deep,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    _assert_error(response, 400)
    assert "nested too deeply" in response.json["error"]["message"]
    assert _count(Thread) == 0


def test_an_id_beyond_any_the_database_holds_is_422_not_a_crash(client: FlaskClient, token: str) -> None:
    response = client.post("/api/v1/notifications/read", json={"ids": [2**63]}, headers=bearer(token))
    _assert_error(response, 422)


def test_a_request_without_a_body_needs_no_content_type_and_a_405_says_what_is_allowed(
    client: FlaskClient, token: str, make_user
) -> None:
    river = make_user("river")
    from forum.services import posting

    post = posting.create_thread(river, posting.get_board("small-wins"), title="A walk today", body="I walked.").post
    environ = {"CONTENT_LENGTH": None}  # no Content-Length header at all: no body
    reacted = client.put(f"/api/v1/posts/{post.id}/reactions/hug", headers=bearer(token), environ_overrides=environ)
    assert reacted.status_code == 200, reacted.json
    wrong = client.put("/api/v1/boards", json={}, headers=bearer(token))
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]


def test_a_body_over_the_size_limit_is_413(client: FlaskClient, token: str) -> None:
    huge = {"title": "New job nerves", "body": "x" * 300_000}
    response = client.post("/api/v1/boards/role-transitions/threads", json=huge, headers=bearer(token))
    _assert_error(response, 413)
    assert _count(Thread) == 0


def test_the_openapi_document_describes_every_api_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {path.replace("{", "<").replace("}", ">") for path in spec["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json":
            normalised = rule.rule.replace("<int:", "<")
            assert normalised in documented, f"{rule.rule} is missing from the OpenAPI document"
