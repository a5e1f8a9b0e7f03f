"""Export of everything a person wrote, and account deletion that takes effect at once."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from forum.extensions import db
from forum.models import (
    ApiToken,
    JournalEntry,
    Notification,
    Post,
    PostRevision,
    Reaction,
    RetiredName,
    ScreeningRecord,
    Thread,
    User,
)
from forum.search import search
from forum.services import accounts, posting, privacy, social
from forum.services.errors import Conflict, NotAuthenticated, ValidationFailed
from forum.services.practice import journal
from tests.community.helpers import reply, thread_by
from tests.conftest import api_token, bearer, login


def _zip_files(payload: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_the_export_holds_the_earlier_versions_of_an_edited_post(app: Flask, member: User) -> None:
    thread = thread_by(member, title="My first thread", body="Today I got up at 9.")
    posting.edit_post(member, posting.get_post(thread.id), body="Today I got up at 8.", content_note="a hard day")
    [post] = json.loads(_zip_files(privacy.export_zip(member)[1])["posts.json"])["posts"]
    assert post["body_markdown"] == "Today I got up at 8."
    assert [(v["body_markdown"], v["content_note"]) for v in post["earlier_versions"]] == [
        ("Today I got up at 9.", None)
    ]


def test_the_export_holds_posts_profile_journal_and_settings_as_json_and_markdown(
    app: Flask, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member, title="My first thread", body="Words I **wrote**.")
    reply(river, thread, "Someone else's words.")
    journal.write_entry(member, body="A private journal line.")
    social.set_bookmark(member, posting.get_post(thread.id), True)
    name, payload = privacy.export_zip(member)
    assert name.startswith("hearth-export-sam-") and name.endswith(".zip")
    files = _zip_files(payload)
    posts = json.loads(files["posts.json"])["posts"]
    assert [p["body_markdown"] for p in posts] == ["Words I **wrote**."]
    assert "Someone else's words." not in b"".join(files.values()).decode()
    assert json.loads(files["profile.json"])["username"] == "sam"
    assert "A private journal line." in files["journal.json"].decode()
    assert json.loads(files["settings.json"])["notification_kinds"]["reply"] is True
    assert json.loads(files["bookmarks.json"])["bookmarks"][0]["post_id"] == thread.id
    markdown = [n for n in files if n.startswith("markdown/posts/")]
    assert markdown and "Words I **wrote**." in files[markdown[0]].decode()
    assert "README.txt" in files


def test_the_export_holds_the_moderators_messages_and_what_the_person_asked_or_reported(
    app: Flask, member: User, make_user: Any
) -> None:
    from forum.models import ReviewItem
    from forum.services import moderation_actions, reports, review

    river, maya = make_user("river"), make_user("mod_maya", role="moderator")
    thread_by(member, body="I have the pills saved up and I'm going to kill myself tonight.")
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_type == "post"))
    moderation_actions.act(maya, item.id, action="reach_out", note="Thinking of you tonight.", version=item.version)
    review.request_check_in(member, note="A bit better, thank you.", source="reply")
    theirs = thread_by(river, title="River's thread", body="Nobody would miss me.")
    reports.report_post(member, posting.get_post(theirs.id), kind="worried", reason="River sounds very low.")
    files = _zip_files(privacy.export_zip(member)[1])
    messages = json.loads(files["messages_from_moderators.json"])["messages"]
    assert [m["text"] for m in messages if m["kind"] == "reach_out"] == ["Thinking of you tonight."]
    asked = json.loads(files["reports_and_requests.json"])
    assert asked["to_the_moderators"][0]["note"] == "A bit better, thank you."
    assert asked["reports"][0]["reason"] == "River sounds very low." and asked["reports"][0]["kind"] == "worried"
    others = _zip_files(privacy.export_zip(river)[1])
    assert json.loads(others["messages_from_moderators.json"])["messages"] == []
    assert json.loads(others["reports_and_requests.json"]) == {"reports": [], "to_the_moderators": []}


def test_deleting_an_account_closes_the_items_about_it_without_their_words_but_keeps_them(
    app: Flask, member: User, make_user: Any
) -> None:
    from forum.models import ReviewEvent, ReviewItem
    from forum.services import review

    maya = make_user("mod_maya", role="moderator")
    thread_by(member, body="I have the pills saved up and I'm going to kill myself tonight.")
    review.request_check_in(member, note="please help, it is getting worse", source="reply")
    items = {item.target_type: item.id for item in db.session.scalars(select(ReviewItem))}
    privacy.delete_account(member, password="correct horse battery", posts="delete")
    db.session.expire_all()
    for item_id in items.values():
        item = db.session.get(ReviewItem, item_id)
        assert item is not None and item.status == "resolved", "the item stays in the moderators' records"
        assert [e.action for e in item.events][-1] == "account_deleted"
        assert all("detail" not in reason for reason in item.reasons)
    notes = " ".join(db.session.scalars(select(ReviewEvent.note)))
    assert "please help" not in notes and "pills" not in notes
    moderator = app.test_client()
    login(moderator, maya.username)
    page = moderator.get(f"/moderation/items/{items['post']}")
    assert page.status_code == 200 and "pills" not in page.get_data(as_text=True)
    assert "deleted their account" in page.get_data(as_text=True)


def test_the_export_page_downloads_a_zip(app: Flask, member_client: Any, member: User) -> None:
    thread_by(member)
    response = member_client.post("/me/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "posts.json" in {n.split("/", 1)[1] for n in zipfile.ZipFile(io.BytesIO(response.data)).namelist()}


def test_deletion_keeping_posts_shows_them_under_a_former_member(
    app: Flask, client: Any, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member, title="Still here for others", body="Advice worth keeping.")
    gone = reply(member, thread, "a post I had deleted myself")
    posting.delete_post(member, gone)
    reply(river, thread, "Thank you @sam")
    journal.write_entry(member, body="journal words")
    social.set_reaction(river, posting.get_post(thread.id), "hug", True)
    user_id = member.id
    privacy.delete_account(member, password="correct horse battery", posts="keep")
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    kept = db.session.get(Post, thread.id)
    assert kept is not None and kept.author_id is None and kept.body_md == "Advice worth keeping."
    assert db.session.get(Post, gone.id).body_md == ""  # type: ignore[union-attr]
    assert db.session.scalar(select(func.count(JournalEntry.id))) == 0
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user_id)) == 0
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "a former member" in page and "Advice worth keeping." in page
    assert db.session.scalar(select(func.count(Reaction.id))) == 1  # other people's reactions stay


def test_deletion_of_posts_empties_them_and_takes_their_threads_unless_others_replied(
    app: Flask, member: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member, title="A very personal title", body="Very personal words.")
    mine = reply(member, thread, "more personal words")
    posting.edit_post(member, mine, body="edited personal words")
    theirs = reply(river, thread, "a reply from river")
    alone = thread_by(member, title="Nobody answered this one", body="Words nobody replied to.")
    other_thread = thread_by(river, title="River's thread", body="hello")
    in_other = reply(member, other_thread, "my words in river's thread")
    privacy.delete_account(member, password="correct horse battery", posts="delete")
    db.session.expire_all()
    for post_id in (thread.id, mine.id, alone.id, in_other.id):
        post = db.session.get(Post, post_id)
        assert post is not None and post.body_md == "" and post.body_html == "" and post.deleted_at is not None
    assert db.session.scalar(select(func.count(PostRevision.id))) == 0
    gone = db.session.get(Thread, alone.id)
    assert gone is not None and gone.title == "Deleted thread" and gone.deleted_at is not None
    # River's reply is river's: the thread stays readable, without the deleted person's title or words.
    kept = db.session.get(Thread, thread.id)
    assert kept is not None and kept.deleted_at is None and kept.title == privacy.ORPHANED_THREAD_TITLE
    page = app.test_client().get(f"/t/{thread.id}").get_data(as_text=True)
    assert "a reply from river" in page and "personal" not in page
    assert db.session.get(Post, theirs.id).body_md == "a reply from river"  # type: ignore[union-attr]
    assert search(river, "personal").hits == []
    assert db.session.get(Post, in_other.id).number == 2  # type: ignore[union-attr]


def test_deleting_an_opening_post_keeps_the_thread_when_others_replied(
    app: Flask, member: User, make_user: Any
) -> None:
    river = make_user("river")
    answered = thread_by(member, title="Answered", body="First words.")
    reply(river, answered, "river's answer")
    unanswered = thread_by(member, title="Unanswered", body="Other words.")
    for thread in (answered, unanswered):
        opening = db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        posting.delete_post(member, opening)
    db.session.expire_all()
    assert db.session.get(Thread, answered.id).deleted_at is None  # type: ignore[union-attr]
    assert db.session.get(Thread, unanswered.id).deleted_at is not None  # type: ignore[union-attr]
    page = app.test_client().get(f"/t/{answered.id}").get_data(as_text=True)
    assert "river's answer" in page and "First words." not in page and "This post was deleted." in page


def test_after_deletion_the_person_cannot_sign_in_or_use_a_token(app: Flask, client: Any, member: User) -> None:
    token = api_token(client, "sam")
    privacy.delete_account(member, password="correct horse battery", posts="keep")
    with pytest.raises(NotAuthenticated):
        accounts.authenticate("sam", "correct horse battery")
    assert login(client, "sam").status_code == 401
    assert client.get("/api/v1/notifications", headers=bearer(token)).status_code == 401
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0


@pytest.mark.parametrize("posts", ["keep", "delete"])
def test_a_deleted_pseudonym_cannot_be_registered_again_in_any_case(app: Flask, member: User, posts: str) -> None:
    privacy.delete_account(member, password="correct horse battery", posts=posts)
    for name in ("sam", "SAM"):
        with pytest.raises(Conflict) as taken:
            accounts.register(name, "a new person's password")
        assert "username" in taken.value.fields
    assert db.session.scalar(select(func.count(User.id)).where(User.username_key == "sam")) == 0
    stored = db.session.scalars(select(RetiredName.name_hash)).all()
    assert stored and all("sam" not in value for value in stored)  # only a keyed hash is kept
    assert accounts.register("sam_new", "a new person's password").username == "sam_new"


def test_the_api_refuses_a_deleted_pseudonym_with_409(app: Flask, client: Any, member: User) -> None:
    privacy.delete_account(member, password="correct horse battery", posts="keep")
    response = client.post("/api/v1/users", json={"username": "Sam", "password": "a new person's password"})
    assert response.status_code == 409
    assert response.get_json()["error"]["fields"]["username"]


def test_deletion_needs_the_password_and_a_choice(app: Flask, member: User) -> None:
    with pytest.raises(ValidationFailed) as wrong:
        privacy.delete_account(member, password="not my password", posts="keep")
    assert "password" in wrong.value.fields
    with pytest.raises(ValidationFailed) as unchosen:
        privacy.delete_account(member, password="correct horse battery", posts="maybe")
    assert "posts" in unchosen.value.fields
    assert db.session.get(User, member.id) is not None


def test_the_delete_page_signs_the_person_out(app: Flask, member_client: Any, member: User) -> None:
    thread_by(member)
    refused = member_client.post("/me/delete", data={"posts": "keep", "password": "wrong wrong wrong"})
    assert refused.status_code == 422
    done = member_client.post("/me/delete", data={"posts": "delete", "password": "correct horse battery"})
    assert done.status_code == 302
    assert member_client.get("/me/data").status_code == 302  # signed out: sent to the login page


def test_deleted_post_text_is_not_left_in_the_sqlite_file(app: Flask, member: User, make_user: Any) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("secure_delete and the WAL are SQLite's")
    marker = f"zq{secrets.token_hex(8)}"
    long_body = f"{marker} " + ("padding words to spill onto overflow pages " * 200) + marker
    thread = thread_by(member, title=f"Title {marker}", body=long_body)
    post = reply(member, thread, f"a reply mentioning {marker}")
    posting.edit_post(member, post, body=f"an edit still mentioning {marker}")
    journal.write_entry(member, body=f"journal {marker}")
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(url.removeprefix("sqlite:///"))
    assert marker.encode() in path.read_bytes()  # the check below can fail

    privacy.delete_account(member, password="correct horse battery", posts="delete")
    db.session.remove()
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    finally:
        raw.close()
    wal = Path(str(path) + "-wal")
    leftovers = [p.name for p in (path, wal) if p.exists() and marker.encode() in p.read_bytes()]
    assert leftovers == []
    assert (
        db.session.execute(text("select count(*) from posts where body_md like :m"), {"m": f"%{marker}%"}).scalar() == 0
    )


def test_the_deletion_checkpoint_empties_the_wal_even_after_pushing_others_their_unread_counts(
    app: Flask, member: User, make_user: Any
) -> None:
    """The deletion tells people whose notifications went (their unread counts are read and pushed after the
    commit); that read must not hold the checkpoint off, which then waited out the busy timeout and left the
    deleted words in the WAL."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("the WAL is SQLite's")
    other = make_user("river")
    mine = thread_by(member, title="Long evenings", body="I keep the lights low.")
    reply(other, mine, "Same here, every night.")  # member is notified: their count changes with the deletion
    theirs = thread_by(other, title="Winter walks", body="Short days.")
    reply(member, theirs, "@river I walk at noon.")  # river is notified about member's reply
    before = db.session.execute(text("PRAGMA busy_timeout")).scalar()

    privacy.delete_account(member, password="correct horse battery", posts="delete")

    wal = Path(url.removeprefix("sqlite:///") + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the truncating checkpoint finished"
    db.session.remove()
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == before, "the pool's wait is as it was"


def test_the_privacy_page_is_rendered_from_its_markdown(app: Flask, client: Any) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<h1 id="privacy-title">Your privacy on Hearth</h1>' in body
    assert "<h2>Anonymous posts</h2>" in body
    assert "keyed hash" in body and "audit log" in body
    assert "<script" not in body.split('<main id="main"')[1].split("</main>")[0]


def test_chat_messages_are_erased_even_when_posts_are_kept(app: Flask, member: User, make_user: Any) -> None:
    from forum.models.chat import ChatMessage
    from forum.services import chat

    room = chat.board_rooms()[0]
    sent = chat.send_message(member, room, body="something I said late at night", client_id="c-1").message
    crisis = chat.send_message(member, room, body="I'm going to hang myself tonight", client_id="c-2").message
    privacy.delete_account(member, password="correct horse battery", posts="keep")
    db.session.expire_all()
    stored = db.session.get(ChatMessage, sent.id)
    assert stored is None or (stored.body_md == "" and stored.body_html == "" and stored.author_id is None)
    # The screening keeps its verdict for the moderators, but none of the phrases it matched.
    record = db.session.scalars(select(ScreeningRecord).where(ScreeningRecord.target_id == crisis.id)).one()
    assert record.level == "crisis" and record.signals
    assert not any("phrase" in signal for signal in record.signals)
