"""Small defects a reviewer found in a real browser: thread pager labels, the edit form's screening, the
site icon, and Markdown images."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from forum.models import User
from forum.rendering import render_markdown
from forum.services import posting


def test_a_thread_pager_leads_to_earlier_and_later_posts_as_they_run_oldest_first(
    app: Flask, member: User, client: FlaskClient
) -> None:
    app.config["POSTS_PER_PAGE"] = 2
    thread = posting.create_thread(member, posting.get_board("small-wins"), title="Daily wins", body="post 1").thread
    for n in (2, 3):
        posting.create_reply(member, thread, body=f"post {n}")
    first = client.get(f"/t/{thread.id}").get_data(as_text=True)
    second = client.get(f"/t/{thread.id}?page=2").get_data(as_text=True)
    assert re.search(r'<a rel="next" href="[^"]*page=2[^"]*">Later &rarr;</a>', first)
    assert re.search(r'<a rel="prev" href="[^"]*page=1[^"]*">&larr; Earlier</a>', second)
    assert "Older" not in first and "Newer" not in second


def test_the_edit_form_screens_the_draft_as_the_compose_form_does(member_client: FlaskClient, member: User) -> None:
    post = posting.create_thread(member, posting.get_board("small-wins"), title="Daily wins", body="hello").post
    page = member_client.get(f"/p/{post.id}/edit").get_data(as_text=True)
    form = re.search(r'<form method="post" class="compose"[^>]*>.*?</form>', page, re.S)
    assert form is not None, "site.js wires suggestions to form.compose only"
    assert re.search(
        r'<textarea[^>]*data-screen="1"[^>]*name="body"|<textarea[^>]*name="body"[^>]*data-screen', form[0]
    )
    assert "data-suggestions" in form[0]


def test_every_page_names_an_icon_that_is_served(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link is not None, "without one the browser asks for /favicon.ico, which is a 404"
    icon = client.get(link[1])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"#a84c1c" in icon.get_data()
    old_name = client.get("/favicon.ico")
    assert old_name.status_code == 301 and old_name.headers["Location"] == link[1]


def test_a_markdown_image_keeps_its_words_as_a_link_and_loads_nothing() -> None:
    html = render_markdown("Meet him: ![a photo of my dog](https://example.com/dog.jpg)")
    assert "<img" not in html
    assert '<a href="https://example.com/dog.jpg" rel="nofollow ugc noopener">[image: a photo of my dog]</a>' in html, (
        html
    )


def test_an_image_without_words_still_shows_that_something_was_there() -> None:
    html = render_markdown("![](https://example.com/dog.jpg)")
    assert '<a href="https://example.com/dog.jpg" rel="nofollow ugc noopener">[image]</a>' in html, html


def test_a_linked_image_is_one_link_to_where_it_led_with_the_image_words_inside() -> None:
    html = render_markdown("[![my dog <Rex>](https://example.com/dog.jpg)](https://example.com/album)")
    assert html.count("<a ") == 1, html
    assert '<a href="https://example.com/album" rel="nofollow ugc noopener">[image: my dog &lt;Rex&gt;]</a>' in html


def test_a_guides_sections_are_h2_under_its_title_and_posts_still_start_at_h3(client: FlaskClient) -> None:
    from forum.guides import all_guides

    guide = next(iter(all_guides().values()))
    page = client.get(f"/guides/{guide.slug}").get_data(as_text=True)
    assert "<h2>What it is</h2>" in page and "<h4>" not in page
    assert render_markdown("## A heading in a post") == "<h4>A heading in a post</h4>\n"


def test_an_error_page_is_titled_with_what_happened_not_a_number(client: FlaskClient) -> None:
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "<title>We couldn't find that &middot; Hearth</title>" in page
