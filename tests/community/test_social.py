"""Reactions, bookmarks, follows and mutes of threads, and blocking or muting people on pages and lists."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from forum.models import User
from forum.services import social
from forum.services.errors import Forbidden, NotAuthenticated, ValidationFailed
from tests.community.helpers import reply, thread_by
from tests.conftest import login


def test_reactions_are_counted_per_kind_and_once_per_person(app: Flask, member: User, make_user: Any) -> None:
    river, wren = make_user("river"), make_user("wren")
    post = reply(river, thread_by(member), "Today was a bit better.")
    social.set_reaction(member, post, "hug", True)
    social.set_reaction(member, post, "hug", True)
    social.set_reaction(wren, post, "hug", True)
    counts = social.set_reaction(wren, post, "not_alone", True)
    assert counts == {"hug": 2, "not_alone": 1}
    assert social.set_reaction(member, post, "hug", False) == {"hug": 1, "not_alone": 1}


def test_only_the_supportive_set_of_reactions_exists(app: Flask, member: User) -> None:
    post = reply(member, thread_by(member), "x")
    with pytest.raises(ValidationFailed):
        social.set_reaction(member, post, "like", True)
    with pytest.raises(NotAuthenticated):
        social.set_reaction(None, post, "hug", True)


def test_nobody_reacts_to_a_person_they_blocked(app: Flask, member: User, make_user: Any) -> None:
    river = make_user("river")
    post = reply(river, thread_by(member), "x")
    social.set_block(member, river, "block")
    with pytest.raises(Forbidden):
        social.set_reaction(member, post, "hug", True)


def test_bookmarks_list_only_what_the_person_can_still_see(app: Flask, member: User, make_user: Any) -> None:
    river = make_user("river")
    thread = thread_by(member)
    kept = reply(river, thread, "keep this")
    social.set_bookmark(member, kept, True)
    assert [p.id for p in social.bookmarks(member)] == [kept.id]
    social.set_block(member, river, "mute")
    assert social.bookmarks(member) == []
    social.set_block(member, river, None)
    social.set_bookmark(member, kept, False)
    assert social.bookmarks(member) == []


def test_follow_and_mute_a_thread_replace_each_other(app: Flask, member: User) -> None:
    thread = thread_by(member)
    assert social.set_thread_watch(member, thread, "follow") == "follow"
    assert social.thread_watch_level(member, thread) == "follow"
    social.set_thread_watch(member, thread, "mute")
    assert social.followed(member)["muted"] == [thread]
    social.set_thread_watch(member, thread, None)
    assert social.thread_watch_level(member, thread) is None


def test_moderators_cannot_be_blocked_and_nobody_blocks_themself(app: Flask, member: User, moderator: User) -> None:
    with pytest.raises(Forbidden):
        social.set_block(member, moderator, "block")
    with pytest.raises(Forbidden):
        social.set_block(member, member, "mute")


def test_a_blocked_persons_posts_show_a_placeholder_to_the_blocker(
    app: Flask, client: Any, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member, title="Evenings alone")
    reply(river, thread, "words the blocker should not see")
    social.set_block(member, river, "block")
    login(client, "sam")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Hidden because you blocked this person." in page
    assert "words the blocker should not see" not in page


def test_the_blocked_person_no_longer_sees_the_blocker_and_is_not_told_why(
    app: Flask, client: Any, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member, title="Evenings alone", body="the blockers own words")
    social.set_block(member, river, "block")
    login(client, "river")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "the blockers own words" not in page
    assert "This post isn&#39;t shown to you." in page
    assert "blocked" not in page.split('id="thread-title"')[1].split("</ol>")[0]
    board_page = client.get("/b/grief-and-loss").get_data(as_text=True)
    assert "Evenings alone" not in board_page


def test_muting_hides_only_from_the_muter(app: Flask, client: Any, member: User, make_user: Any) -> None:
    river = make_user("river")
    make_user("wren")
    thread = thread_by(river, title="Loud thread", body="loud words")
    social.set_block(member, river, "mute")
    login(client, "sam")
    assert "Loud thread" not in client.get("/").get_data(as_text=True)
    assert "Hidden because you muted this person." in client.get(f"/t/{thread.id}").get_data(as_text=True)
    client.post("/logout")
    login(client, "wren")
    assert "loud words" in client.get(f"/t/{thread.id}").get_data(as_text=True)


def test_reaction_buttons_post_and_show_counts(app: Flask, member_client: Any, member: User, make_user: Any) -> None:
    river = make_user("river")
    thread = thread_by(river)
    post = reply(river, thread, "A hard week.")
    response = member_client.post(f"/p/{post.id}/react", data={"kind": "me_too", "on": "1"})
    assert response.status_code == 302
    page = member_client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert 'aria-pressed="true" data-kind="me_too">Me too <span class="reaction-count">1</span>' in page
    assert "score" not in page.casefold()


def test_follow_and_bookmark_buttons_work_through_pages(
    app: Flask, member_client: Any, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(river)
    post = reply(river, thread, "Bookmark me.")
    assert member_client.post(f"/t/{thread.id}/watch", data={"level": "follow"}).status_code == 302
    assert member_client.post("/b/grief-and-loss/follow", data={"follow": "1"}).status_code == 302
    assert member_client.post(f"/p/{post.id}/bookmark", data={"on": "1"}).status_code == 302
    following = member_client.get("/me/following").get_data(as_text=True)
    assert thread.title in following and "Grief and Loss" in following
    assert thread.title in member_client.get("/me/bookmarks").get_data(as_text=True)


def test_a_redirect_back_stays_on_this_site(app: Flask, member_client: Any, member: User) -> None:
    thread = thread_by(member)
    response = member_client.post(f"/t/{thread.id}/watch", data={"level": "follow", "next": "https://evil.example/"})
    assert response.headers["Location"].endswith(f"/t/{thread.id}")


def test_blocking_and_undoing_through_the_profile_page(
    app: Flask, member_client: Any, member: User, make_user: Any
) -> None:
    river = make_user("river")
    assert member_client.post("/u/river/block", data={"kind": "block"}).status_code == 302
    assert social.relation(member, river) == "block"
    page = member_client.get("/me/following").get_data(as_text=True)
    assert "river" in page and "blocked" in page
    assert "You blocked river." in member_client.get("/u/river").get_data(as_text=True)
    member_client.post("/u/river/block", data={"kind": ""})
    assert social.relation(member, river) is None
    assert member_client.post("/u/mod_maya/block", data={"kind": "block"}).status_code == 404


def _post_html(page: str, post_id: int) -> str:
    """The <li> of one post on a thread page."""
    start = page.index(f'id="p{post_id}"')
    return page[start : page.index("</li>", start)]


def test_one_reaction_form_per_post_turns_each_kind_on_and_off(
    app: Flask, member_client: Any, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(river)
    post = reply(river, thread, "A long week.")
    html = _post_html(member_client.get(f"/t/{thread.id}").get_data(as_text=True), post.id)
    assert html.count(f'action="/p/{post.id}/react"') == 1
    assert 'name="reaction" value="hug:1"' in html and 'aria-pressed="false" data-kind="hug"' in html

    assert member_client.post(f"/p/{post.id}/react", data={"reaction": "hug:1"}).status_code == 302
    html = _post_html(member_client.get(f"/t/{thread.id}").get_data(as_text=True), post.id)
    assert 'value="hug:0" class="reaction mine" aria-pressed="true" data-kind="hug">Hug' in html
    assert social.reaction_counts([post.id]) == {post.id: {"hug": 1}}

    member_client.post(f"/p/{post.id}/react", data={"reaction": "hug:0"})
    assert social.reaction_counts([post.id]) == {}


def test_each_viewer_sees_only_their_own_controls_on_a_thread_page(
    app: Flask, client: Any, member: User, moderator: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(river)
    mine = reply(member, thread, "My own words.")
    theirs = reply(river, thread, "River's words.", anonymous=False)
    social.set_reaction(river, theirs, "hug", True)
    edit, delete, report = "/p/{}/edit", 'action="/p/{}/delete"', 'href="/p/{}/report"'

    login(client, "sam")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    own, other = _post_html(page, mine.id), _post_html(page, theirs.id)
    assert edit.format(mine.id) in own and delete.format(mine.id) in own and report.format(mine.id) not in own
    assert edit.format(theirs.id) not in other and delete.format(theirs.id) not in other
    assert report.format(theirs.id) in other
    assert 'value="hug:1" class="reaction" aria-pressed="false"' in other  # river's reaction is not sam's
    client.post("/logout")

    login(client, "river")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert edit.format(mine.id) not in _post_html(page, mine.id)
    assert 'class="reaction mine" aria-pressed="true" data-kind="hug"' in _post_html(page, theirs.id)
    client.post("/logout")

    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "/edit" not in page and "/delete" not in page and "/report" not in page and "/react" not in page
    assert 'class="reaction" data-kind="hug">Hug <span class="reaction-count">1</span>' in page

    login(client, moderator.username)
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert delete.format(theirs.id) in _post_html(page, theirs.id)
    assert edit.format(theirs.id) not in _post_html(page, theirs.id)


def test_a_blocked_authors_post_is_replaced_and_carries_no_controls(
    app: Flask, member_client: Any, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member)
    post = reply(river, thread, "Words sam should not see.")
    social.set_block(river, member, "block")
    html = _post_html(member_client.get(f"/t/{thread.id}").get_data(as_text=True), post.id)
    assert "This post isn&#39;t shown to you." in html
    assert "Words sam should not see." not in html and "<form" not in html and "river" not in html


HELD_TEXT = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."


def test_anonymous_and_held_posts_show_each_viewer_only_what_is_theirs(
    app: Flask, client: Any, member: User, moderator: User, make_user: Any
) -> None:
    app.config["CRISIS_POLICY"] = "hold"
    make_user("river")
    thread = thread_by(moderator)
    hidden_name = reply(member, thread, "Said without my name.", anonymous=True)
    held = reply(member, thread, HELD_TEXT)
    assert held.visibility == "held"

    login(client, "river")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert ">sam<" not in _post_html(page, hidden_name.id) and "a member" in _post_html(page, hidden_name.id)
    assert "pills" not in page and "This post is not shown." in _post_html(page, held.id)
    assert "Reveal author" not in page and "risk-" not in page and "anonymous-note" not in page
    client.post("/logout")

    login(client, "sam")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert '<a href="/u/sam">sam</a>' in _post_html(page, hidden_name.id)
    assert "(others see" in _post_html(page, hidden_name.id), "the author knows it went out unnamed"
    assert "anonymous-note" not in _post_html(page, held.id)
    assert "pills" in _post_html(page, held.id) and "Only you and the moderators" in page
    client.post("/logout")

    login(client, moderator.username)
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Reveal author" in _post_html(page, hidden_name.id) and ">sam<" not in _post_html(page, hidden_name.id)
    assert "pills" in _post_html(page, held.id) and "risk-crisis" in _post_html(page, held.id)


def test_the_api_hides_a_blocked_or_muted_authors_words_as_the_page_does(
    app: Flask, client: Any, member: User, make_user: Any
) -> None:
    from tests.conftest import api_token, bearer

    river, wren = make_user("river"), make_user("wren")
    thread = thread_by(wren, title="Evenings alone", body="wrens own words")
    reply(river, thread, "words the blocker should not see")
    reply(wren, thread, "words the muter should not see")
    social.set_block(member, river, "block")
    social.set_block(member, wren, "mute")

    def bodies(username: str) -> list[tuple[str | None, str | None]]:
        answer = client.get(f"/api/v1/threads/{thread.id}", headers=bearer(api_token(client, username))).json
        return [(post["body_html"], post["hidden_reason"]) for post in answer["posts"]]

    assert bodies("sam") == [
        (None, "Hidden because you muted this person."),
        (None, "Hidden because you blocked this person."),
        (None, "Hidden because you muted this person."),
    ]
    blocked_view = bodies("river")
    assert [body for body, _ in blocked_view][1] == "<p>words the blocker should not see</p>\n"
    assert all(reason is None for _, reason in blocked_view), "the blocker wrote nothing here to hide"


def test_a_staff_authors_named_posts_carry_their_role_and_anonymous_ones_do_not(
    app: Flask, client: Any, member: User, moderator: User
) -> None:
    from forum.services import posting
    from tests.conftest import api_token, bearer

    thread = thread_by(member, title="Evenings alone")
    reply(moderator, thread, "I'm one of the moderators here; glad you wrote.")
    posting.create_reply(moderator, thread, body="Speaking just as a member now.", anonymous=True)
    token = api_token(client, "sam")
    posts = client.get(f"/api/v1/threads/{thread.id}", headers=bearer(token)).json["posts"]
    assert [post["author_role"] for post in posts] == [None, "moderator", None]
    login(client, "sam")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert page.count('data-testid="staff-badge"') == 1 and ">Moderator</span>" in page
