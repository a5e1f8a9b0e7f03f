"""Server-rendered pages: reading, writing through forms, CSRF, and friendly errors."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Post, Thread, User
from forum.services import posting
from tests.conftest import login


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_home_lists_boards_with_counts(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Grief" in page
    assert 'href="/b/interpersonal-disputes"' in page
    assert "0 threads" in page


def test_a_member_starts_a_thread_and_replies_through_the_forms(member_client: FlaskClient) -> None:
    compose = member_client.get("/b/role-transitions/new")
    assert compose.status_code == 200
    created = member_client.post(
        "/b/role-transitions/new",
        data={"title": "Retiring soon", "body": "Who am I *without* work?", "idempotency_key": "form-1"},
    )
    assert created.status_code == 302
    thread_url = created.headers["Location"]
    replied = member_client.post(thread_url + "/reply", data={"body": "Still *you*.", "idempotency_key": "form-2"})
    assert replied.status_code == 302
    page = member_client.get(thread_url).get_data(as_text=True)
    assert "<em>without</em>" in page and "<em>you</em>" in page


def test_a_double_submitted_form_makes_one_thread(member_client: FlaskClient) -> None:
    data = {"title": "Retiring soon", "body": "Who am I without work?", "idempotency_key": "same-form"}
    first = member_client.post("/b/role-transitions/new", data=data)
    second = member_client.post("/b/role-transitions/new", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(Thread) == 1


def test_a_form_with_bad_input_shows_the_error_and_writes_nothing(member_client: FlaskClient) -> None:
    response = member_client.post("/b/role-transitions/new", data={"title": "Hi", "body": "short title"})
    assert response.status_code == 422
    assert "between 5 and 150 characters" in response.get_data(as_text=True)
    assert _count(Thread) == 0


def test_an_unknown_board_is_a_friendly_404_page(client: FlaskClient) -> None:
    response = client.get("/b/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Back to the boards" in response.get_data(as_text=True)


def test_content_notes_collapse_the_post_until_opened(app: Flask, member: User, client: FlaskClient) -> None:
    outcome = posting.create_thread(
        member,
        posting.get_board("grief-and-loss"),
        title="The anniversary",
        body="It was a year ago today.",
        content_note="talks about a death in the family",
    )
    page = client.get(f"/t/{outcome.thread.id}").get_data(as_text=True)
    assert re.search(r"<details class=\"content-note\">\s*<summary>Content note: talks about a death", page)


def test_a_crisis_post_shows_its_author_the_support_panel_each_time_and_nobody_else(
    member_client: FlaskClient, make_user: Any, app: Flask
) -> None:
    response = member_client.post(
        "/b/grief-and-loss/new",
        data={"title": "I can't go on", "body": "I have the pills saved and I'm going to kill myself tonight."},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert 'data-testid="support-panel"' in page
    assert "findahelpline" in page
    again = member_client.get(response.request.path).get_data(as_text=True)
    assert 'data-testid="support-panel"' in again and "findahelpline" in again, "coming back, the lines are there"
    make_user("river_reader")
    reader = app.test_client()
    login(reader, "river_reader")
    assert 'data-testid="support-panel"' not in reader.get(response.request.path).get_data(as_text=True)
    assert 'data-testid="support-panel"' not in app.test_client().get(response.request.path).get_data(as_text=True)


def test_a_concern_post_shows_its_author_the_lines_its_words_point_at(member_client: FlaskClient) -> None:
    body = "I feel worthless and like a burden to everyone, I just want to disappear for a while."
    response = member_client.post(
        "/b/interpersonal-deficits/new", data={"title": "Heavy week", "body": body}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert 'class="support-panel support-concern"' in page
    assert "the people on these lines are ready to listen" in page
    assert "People you can talk to" in page and "findahelpline" in page, "the lines are listed"


def test_thread_pages_paginate(app: Flask, member: User, client: FlaskClient) -> None:
    app.config["POSTS_PER_PAGE"] = 5
    thread = posting.create_thread(member, posting.get_board("small-wins"), title="Daily wins", body="post 1").thread
    for n in range(2, 13):
        posting.create_reply(member, thread, body=f"post {n}")
    last = client.get(f"/t/{thread.id}?page=3").get_data(as_text=True)
    assert "post 11" in last and "post 12" in last and "post 10" not in last
    assert "Page 3 of 3" in last


def test_deleting_through_the_page_needs_post(member_client: FlaskClient, member: User) -> None:
    outcome = posting.create_thread(member, posting.get_board("small-wins"), title="Daily wins", body="hello")
    assert member_client.get(f"/p/{outcome.post.id}/delete").status_code == 405
    assert member_client.post(f"/p/{outcome.post.id}/delete").status_code == 302
    assert db.session.get(Post, outcome.post.id).deleted_at is not None


def test_forms_without_a_csrf_token_are_refused_and_write_nothing(app: Flask, member: User) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "sam", "password": "correct horse battery", "csrf_token": token})
    response = client.post("/b/small-wins/new", data={"title": "Forged thread", "body": "from another site"})
    assert response.status_code == 400
    assert _count(Thread) == 0


def test_pages_send_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_signed_in_pages_are_not_cached(member_client: FlaskClient) -> None:
    assert member_client.get("/").headers["Cache-Control"] == "no-store"


def test_login_redirects_only_to_local_paths(client: FlaskClient, member: User) -> None:
    response = client.post(
        "/login?next=https://evil.example/steal", data={"username": "sam", "password": "correct horse battery"}
    )
    assert response.headers["Location"] == "/"
    assert login(client, "sam").status_code == 302


def test_a_board_page_links_each_thread_and_the_guides_its_screening_suggested(
    app: Flask, member: User, client: FlaskClient
) -> None:
    board = posting.get_board("grief-and-loss")
    first = posting.create_thread(member, board, title="Missing my dad", body="I miss my dad since he died.").thread
    second = posting.create_thread(member, board, title="A quiet week", body="The grief comes in waves.").thread
    page = client.get("/b/grief-and-loss").get_data(as_text=True)
    assert f'<a href="/t/{first.id}">Missing my dad</a>' in page
    assert f'<a href="/t/{second.id}">A quiet week</a>' in page
    links = re.findall(r'<span class="thread-guides meta">Guides: (.*?)</span>', page)
    assert len(links) == 2
    for row in links:
        guides = re.findall(r'<a href="/guides/([a-z0-9-]+)">[^<]+</a>', row)
        assert guides and all(client.get(f"/guides/{slug}").status_code == 200 for slug in guides)


def test_every_loaded_template_sees_every_global_the_app_registers(app: Flask, member_client: FlaskClient) -> None:
    # forum.templating.TemplateEnvironment gives each template a snapshot of the globals when it loads: a
    # global registered after that would be missing from pages (an undefined name renders as nothing).
    for path in ("/", "/b/grief-and-loss", "/search?q=walk", "/me/data"):
        assert member_client.get(path).status_code == 200, path
    registered = set(app.jinja_env.globals)
    loaded = [template for template in app.jinja_env.cache.values() if template is not None]  # type: ignore[union-attr]
    assert {"base.html", "home.html", "board.html"} <= {template.name for template in loaded}
    for template in loaded:
        assert registered <= set(template.globals), template.name


def test_line_breaks_count_once_as_the_box_counts_them(member_client: FlaskClient, app: Flask) -> None:
    # Browsers send each line break as CRLF: a body that fits the textarea must not be refused as too long.
    from forum import limits

    lines = ["word " * 19 + "end"] * 202
    body = "\r\n".join(lines)
    assert len(body.replace("\r\n", "\n")) <= limits.BODY_MAX < len(body)
    response = member_client.post("/b/small-wins/new", data={"title": "A long list of small wins", "body": body})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    stored = db.session.scalar(select(Post.body_md).order_by(Post.id.desc()))
    assert stored == "\n".join(lines)
