"""The JSON API for search, notifications and reactions: the same services, documented in the OpenAPI file."""

from __future__ import annotations

from typing import Any

from flask import Flask

from forum.models import User
from tests.community.helpers import reply, thread_by
from tests.conftest import api_token, bearer


def test_search_answers_hits_with_escaped_snippets(app: Flask, client: Any, member: User) -> None:
    thread_by(member, title="Morning light", body="The <em>kettle</em> sings at dawn.")
    body = client.get("/api/v1/search?q=kettle").json
    assert [hit["thread_id"] for hit in body["hits"]] == [1]
    assert "<mark>kettle</mark>" in body["hits"][0]["snippet_html"]
    assert "<em>" not in body["hits"][0]["snippet_html"]
    assert body["withheld"] is False and body["has_more"] is False


def test_search_withholds_posts_for_method_seeking_queries(app: Flask, client: Any, member: User) -> None:
    thread_by(member, title="Overdose", body="lethal dose talk")
    body = client.get("/api/v1/search?q=lethal%20dose").json
    assert body["withheld"] is True and body["hits"] == [] and body["support"]["guides"]


def test_search_rejects_an_empty_query_and_unknown_filters(app: Flask, client: Any) -> None:
    assert client.get("/api/v1/search?q=").status_code == 422
    assert client.get("/api/v1/search?q=x&sort=popular").status_code == 422
    assert client.get("/api/v1/search?q=x&board=nope").status_code == 404


def test_notifications_list_and_mark_read(app: Flask, client: Any, member: User, make_user: Any) -> None:
    other = make_user("river")
    post = reply(other, thread_by(member), "hello @sam")
    headers = bearer(api_token(client, "sam"))
    listed = client.get("/api/v1/notifications", headers=headers).json
    assert listed["unread"] == 1
    assert [(n["kind"], n["actor"], n["read"]) for n in listed["notifications"]] == [("mention", "river", False)]
    assert listed["notifications"][0]["url"] == f"/t/{post.thread_id}?page=1#p{post.id}"  # where it opens
    marked = client.post(
        "/api/v1/notifications/read", json={"ids": [listed["notifications"][0]["id"]]}, headers=headers
    )
    assert marked.json == {"unread": 0}
    assert client.get("/api/v1/notifications").status_code == 401


def test_reactions_by_put_and_delete(app: Flask, client: Any, member: User, make_user: Any) -> None:
    other = make_user("river")
    post = reply(other, thread_by(other), "a long week")
    headers = bearer(api_token(client, "sam"))
    assert client.put(f"/api/v1/posts/{post.id}/reactions/hug", json={}, headers=headers).json == {"counts": {"hug": 1}}
    assert client.put(f"/api/v1/posts/{post.id}/reactions/like", json={}, headers=headers).status_code == 422
    assert client.delete(f"/api/v1/posts/{post.id}/reactions/hug", headers=headers).json == {"counts": {}}


def test_the_openapi_document_lists_the_community_endpoints(app: Flask, client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/search", "/api/v1/notifications", "/api/v1/notifications/read"):
        assert path in paths
    parameters = paths["/api/v1/posts/{post_id}/reactions/{kind}"]["parameters"]
    kind = next(p for p in parameters if p["name"] == "kind")
    assert kind["schema"]["enum"] == ["hug", "me_too", "thank_you", "not_alone"]  # the kinds a client may send


def test_marking_notifications_read_needs_ids_or_all(app: Flask, client: Any, member: User, make_user: Any) -> None:
    """A body without ids (or no body) is refused and clears nothing; {"all": true} marks every one read."""
    other = make_user("river")
    reply(other, thread_by(member), "hello @sam")
    reply(other, thread_by(member), "and again @sam")
    headers = bearer(api_token(client, "sam"))
    for body in ({}, None, {"ids": []}, {"ids": None}, {"ids": [1], "all": True}):
        refused = client.post("/api/v1/notifications/read", json=body, headers=headers)
        assert refused.status_code == 422, body
        assert client.get("/api/v1/notifications", headers=headers).json["unread"] == 2
    assert client.post("/api/v1/notifications/read", headers=headers).status_code == 422  # no body at all
    marked = client.post("/api/v1/notifications/read", json={"all": True}, headers=headers)
    assert marked.json == {"unread": 0}
