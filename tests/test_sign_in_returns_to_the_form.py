"""Signing in again after a session ended mid-writing leads back to the form that was being written, and only
ever to a page of this site. The words themselves are kept in the browser (tests/browser/test_kept_drafts.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from forum.models import User
from forum.services import accounts, posting
from forum.services.practice import homework


def _end_sessions_elsewhere(app: Flask, user: User) -> None:
    """As signing out on another device does: every session of this person ends, the test client's too."""
    accounts.end_sessions(user)


def test_a_reply_sent_after_the_session_ended_signs_in_back_to_the_reply_box(
    app: Flask, member_client: FlaskClient, member: User
) -> None:
    thread = posting.create_thread(member, posting.get_board("grief-and-loss"), title="Evenings", body="Hard.").thread
    _end_sessions_elsewhere(app, member)

    sent = member_client.post(f"/t/{thread.id}/reply", data={"body": "Me too.", "idempotency_key": "k-1"})
    assert sent.status_code == 302
    assert sent.headers["Location"] == f"/login?next=%2Ft%2F{thread.id}%2Freply"

    signed_in = login_to(member_client, member, sent.headers["Location"])
    assert signed_in.headers["Location"] == f"/t/{thread.id}/reply"
    box = member_client.get(f"/t/{thread.id}/reply")
    assert box.status_code == 302
    assert box.headers["Location"] == f"/t/{thread.id}#reply"


def test_the_reply_box_address_leads_to_the_threads_last_page(
    app: Flask, member_client: FlaskClient, member: User
) -> None:
    thread = posting.create_thread(member, posting.get_board("grief-and-loss"), title="Evenings", body="One.").thread
    for n in range(3):
        posting.create_reply(member, thread, body=f"Reply {n}.")
    per_page = app.config["POSTS_PER_PAGE"]
    app.config["POSTS_PER_PAGE"] = 2
    try:
        box = member_client.get(f"/t/{thread.id}/reply")
    finally:
        app.config["POSTS_PER_PAGE"] = per_page
    assert box.headers["Location"] == f"/t/{thread.id}?page=2#reply"


def test_a_reflection_sent_after_the_session_ended_signs_in_back_to_its_practice(
    app: Flask, member_client: FlaskClient, member: User
) -> None:
    item = homework.add_practice(member, "homework")
    _end_sessions_elsewhere(app, member)

    sent = member_client.post(f"/me/homework/{item.id}/done", data={"reflection": "It went well."})
    assert sent.status_code == 302
    back = login_to(member_client, member, sent.headers["Location"]).headers["Location"]
    assert back == f"/me/homework/{item.id}/done"
    practice = member_client.get(back)
    assert practice.status_code == 302
    assert practice.headers["Location"] == f"/me/homework#h{item.id}"


OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example",
    "javascript:alert(1)",
    "me/journal/new",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_signing_in_never_leads_off_the_site(client: FlaskClient, member: User, target: str) -> None:
    response = client.post(
        "/login", query_string={"next": target}, data={"username": member.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", OFF_SITE)
def test_watching_a_thread_never_leads_back_off_the_site(member_client: FlaskClient, member: User, target: str) -> None:
    thread = posting.create_thread(member, posting.get_board("grief-and-loss"), title="Evenings", body="Hard.").thread
    response = member_client.post(f"/t/{thread.id}/watch", data={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{thread.id}"


def test_signing_in_keeps_a_local_next_with_its_query(client: FlaskClient, member: User) -> None:
    response = client.post(
        "/login",
        query_string={"next": "/me/journal/new?guide=homework"},
        data={"username": member.username, "password": "correct horse battery"},
    )
    assert response.headers["Location"] == "/me/journal/new?guide=homework"


def login_to(client: FlaskClient, user: User, login_url: str) -> TestResponse:
    response = client.post(login_url, data={"username": user.username, "password": "correct horse battery"})
    assert response.status_code == 302
    return response
