"""Profiles (pseudonym, bio, pronouns, join date, post count) and the moderator's audited reveal."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from forum.extensions import db
from forum.models import AuditLog, User
from forum.services import profiles
from forum.services.errors import Forbidden, NotFound, ValidationFailed
from tests.community.helpers import reply, thread_by
from tests.conftest import login


def test_a_bio_is_rendered_and_sanitised_when_saved(app: Flask, member: User) -> None:
    profiles.update_profile(member, bio="I like **tea**. <script>alert(1)</script>", pronouns="they/them")
    assert member.bio_html.startswith("<p>I like <strong>tea</strong>.")
    assert "<script>" not in member.bio_html
    assert member.pronouns == "they/them"


def test_profile_fields_are_validated(app: Flask, member: User) -> None:
    with pytest.raises(ValidationFailed):
        profiles.update_profile(member, bio="x" * 501, pronouns="")
    with pytest.raises(ValidationFailed):
        profiles.update_profile(member, bio="", pronouns="she\nher")


def test_the_post_count_leaves_out_anonymous_and_deleted_posts(app: Flask, member: User) -> None:
    thread = thread_by(member)
    reply(member, thread, "named")
    reply(member, thread, "hidden name", anonymous=True)
    assert profiles.public_post_count(member) == 2


def test_the_profile_page_shows_what_the_person_chose_and_initials(app: Flask, client: Any, member: User) -> None:
    profiles.update_profile(member, bio="Gardener. *Slowly* better.", pronouns="she/her")
    page = client.get("/u/SAM").get_data(as_text=True)
    assert "<em>Slowly</em>" in page
    assert "Pronouns: she/her" in page
    assert 'data-testid="post-count">0<' in page
    assert f"avatar-hue-{profiles.avatar_hue('sam')}" in page
    assert client.get("/u/nobody-here").status_code == 404


def test_initials_come_from_the_pseudonym() -> None:
    assert profiles.initials("river_song") == "RS"
    assert profiles.initials("sam") == "SA"


def test_editing_the_profile_through_the_page(app: Flask, member_client: Any, member: User) -> None:
    response = member_client.post("/me/profile", data={"pronouns": "he/him", "bio": "Hello"})
    assert response.status_code == 302
    assert "Hello" in member_client.get("/u/sam").get_data(as_text=True)


def test_a_moderator_reveal_is_written_to_the_audit_log(app: Flask, member: User, moderator: User) -> None:
    post = reply(member, thread_by(member), "anonymous words", anonymous=True)
    author = profiles.reveal_author(moderator, post, reason="Crisis language; need to reach them.")
    assert author.id == member.id
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "reveal_author"))
    assert entry is not None
    assert (entry.actor_id, entry.target_type, entry.target_id) == (moderator.id, "post", post.id)
    assert entry.reason == "Crisis language; need to reach them."
    assert entry.created_at is not None


def test_only_moderators_reveal_and_only_with_a_reason(
    app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    river = make_user("river")
    post = reply(member, thread_by(member), "anonymous words", anonymous=True)
    with pytest.raises(Forbidden):
        profiles.reveal_author(river, post, reason="I am curious who wrote it")
    with pytest.raises(ValidationFailed):
        profiles.reveal_author(moderator, post, reason="")
    named = reply(member, post.thread, "not anonymous")
    with pytest.raises(Forbidden):
        profiles.reveal_author(moderator, named, reason="There is nothing to reveal here")
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "reveal_author")) is None


def test_peers_see_a_member_and_the_reveal_page_is_a_post_for_moderators(
    app: Flask, client: Any, member: User, moderator: User
) -> None:
    thread = thread_by(member, title="Hard to say out loud", body="secretive words", anonymous=True)
    login(client, "mod_maya")
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "a member" in page and ">sam<" not in page
    assert "Reveal author" in page
    post_id = thread.id  # the opening post of the first thread
    form = client.get(f"/p/{post_id}/reveal").get_data(as_text=True)
    assert "audit log" in form and "sam" not in form
    revealed = client.post(f"/p/{post_id}/reveal", data={"reason": "Worried about their safety tonight."})
    assert 'data-testid="revealed-author"' in revealed.get_data(as_text=True)
    assert ">sam<" in revealed.get_data(as_text=True)


def test_deleted_or_unknown_people_have_no_profile(app: Flask) -> None:
    with pytest.raises(NotFound):
        profiles.get_profile("ghost")
