"""Anonymous posts stay "a member" wherever they are shown: after their author leaves, in a quote their own
author makes, and in the API, which also keeps a hidden or deleted post's content note back."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from forum.models import User
from forum.services import posting, privacy
from tests.conftest import api_token, bearer, login

PASSWORD = "correct horse battery"

ANON_BODY = "Nobody here knows this is me."


def _named_and_anonymous(author: User) -> tuple[int, int]:
    """A named thread and an anonymous reply in it, on the grief board (which allows anonymous replies)."""
    thread = posting.create_thread(author, posting.get_board("grief-and-loss"), title="Missing my mum", body="Hi.")
    anonymous = posting.create_reply(author, thread.thread, body=ANON_BODY, anonymous=True).post
    return thread.thread.id, anonymous.id


def test_an_anonymous_post_stays_a_member_after_its_author_leaves(
    app: Flask, client: FlaskClient, member: User, make_user: Any
) -> None:
    """Had it turned into "a former member" with the named posts, the two would be linked."""
    thread_id, anonymous_id = _named_and_anonymous(member)
    make_user("river")
    headers = bearer(api_token(client, "river"))
    privacy.delete_account(member, password=PASSWORD, posts="keep")
    shown = client.get(f"/api/v1/threads/{thread_id}", headers=headers).json
    authors = {post["id"]: post["author"] for post in shown["posts"]}
    assert authors[anonymous_id] == "a member"
    assert shown["author"] == "a former member"
    assert set(authors.values()) == {"a member", "a former member"}


def test_quoting_your_own_anonymous_post_quotes_a_member(app: Flask, client: FlaskClient, member: User) -> None:
    thread_id, anonymous_id = _named_and_anonymous(member)
    login(client, "sam")
    page = client.get(f"/t/{thread_id}?quote={anonymous_id}").get_data(as_text=True)
    assert "**a member** wrote:" in page
    assert "**sam** wrote:" not in page


def test_the_api_keeps_back_the_content_note_of_a_deleted_post(
    app: Flask, client: FlaskClient, member: User, make_user: Any
) -> None:
    thread = posting.create_thread(member, posting.get_board("small-wins"), title="A small win", body="Hi.").thread
    gone = posting.create_reply(member, thread, body="Words", content_note="my private worry").post
    posting.delete_post(member, gone)
    make_user("river")
    for headers in ({}, bearer(api_token(client, "river"))):
        posts = client.get(f"/api/v1/threads/{thread.id}", headers=headers).json["posts"]
        shown = next(post for post in posts if post["id"] == gone.id)
        assert shown["content_note"] is None and shown["body_html"] is None
