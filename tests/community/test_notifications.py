"""Notifications: who hears about a post, per-kind settings, blocks, mutes, and the unread count."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from forum.extensions import db
from forum.models import Notification, ReviewItem, User
from forum.services import events, moderation_actions, notifications, social
from forum.services.notifications import mentioned_names
from forum.services.transaction import write_transaction
from tests.community.helpers import board, reply, thread_by


def _kinds(user: User) -> list[str]:
    rows = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    return list(rows)


def test_a_reply_notifies_the_thread_author_not_the_replier(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread = thread_by(member)
    reply(other, thread, "Sending warmth.")
    assert _kinds(member) == ["reply"]
    assert _kinds(other) == []
    assert notifications.unread_count(member) == 1


def test_a_mention_notifies_the_named_person_once(app: Flask, member: User, make_user: Any) -> None:
    other, third = make_user("river"), make_user("wren")
    thread = thread_by(member)
    reply(other, thread, "@Wren you said something like this last week, @wren.")
    assert _kinds(third) == ["mention"]
    # The thread author gets one notification for the post, not two.
    assert _kinds(member) == ["reply"]


def test_mentions_inside_code_and_quotes_do_not_count() -> None:
    body = "> @quoted wrote this\n\n`@code` and\n```\n@fenced\n```\nbut @real counts, not email@example.com"
    assert mentioned_names(body) == ["real"]


def test_a_quote_notifies_the_quoted_author(app: Flask, member: User, make_user: Any) -> None:
    other, third = make_user("river"), make_user("wren")
    thread = thread_by(member)
    quoted = reply(third, thread, "Grief comes in waves.")
    reply(other, thread, "> Grief comes in waves.\n\nYes.", reply_to_id=quoted.id)
    assert _kinds(third) == ["quote"]


def test_followers_of_a_thread_and_a_board_hear_about_new_posts(app: Flask, member: User, make_user: Any) -> None:
    follower, other = make_user("river"), make_user("wren")
    social.set_board_follow(follower, board(), True)
    thread = thread_by(member)
    social.set_thread_watch(follower, thread, "follow")
    reply(other, thread, "Me too.")
    assert _kinds(follower) == ["followed", "followed"]


def test_a_post_taken_back_takes_its_notifications_with_it(app: Flask, member: User, make_user: Any) -> None:
    from forum.services import posting

    river = make_user("river")
    thread = thread_by(member)
    mention = reply(river, thread, "Thinking of you, @sam.")
    kept = reply(river, thread, "And another thought.")
    assert len(_kinds(member)) == 2
    posting.delete_post(river, mention)
    remaining = db.session.scalars(select(Notification.post_id).where(Notification.user_id == member.id)).all()
    assert remaining == [kept.id], "nobody is told about words that are gone"


def test_a_muted_thread_is_silent(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread = thread_by(member)
    social.set_thread_watch(member, thread, "mute")
    reply(other, thread, "A reply, @sam.")
    assert _kinds(member) == []


def test_no_notifications_between_blocked_people_either_way(app: Flask, member: User, make_user: Any) -> None:
    blocker, blocked = make_user("river"), make_user("wren")
    social.set_block(blocker, blocked, "block")
    # Each is kept out of the other's threads (tests/test_posting.py); in a third person's thread they may
    # both write, and a mention still reaches neither.
    thread = thread_by(member)
    reply(blocked, thread, "@river hello")
    reply(blocker, thread, "@wren hello")
    assert _kinds(blocker) == [] and _kinds(blocked) == []
    assert _kinds(member) == ["reply", "reply"]


def test_a_muted_person_cannot_reach_the_muter(app: Flask, member: User, make_user: Any) -> None:
    noisy = make_user("river")
    social.set_block(member, noisy, "mute")
    thread = thread_by(member)
    reply(noisy, thread, "@sam look")
    assert _kinds(member) == []


def test_anonymous_posts_notify_without_naming_the_writer(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread = thread_by(member)
    reply(other, thread, "From someone who knows.", anonymous=True)
    item = notifications.recent(member)[0]
    assert item.actor_id is None
    assert notifications.actor_name(item) == "a member"


def test_a_held_post_notifies_nobody(app: Flask, member: User, make_user: Any) -> None:
    app.config["CRISIS_POLICY"] = "hold"
    other = make_user("river")
    thread = thread_by(member)
    reply(other, thread, "I have the pills saved up and I'm going to kill myself tonight. @sam")
    assert _kinds(member) == []


def test_a_held_post_notifies_once_a_moderator_releases_it(app: Flask, member: User, make_user: Any) -> None:
    app.config["CRISIS_POLICY"] = "hold"
    other = make_user("river")
    moderator = make_user("mod_ash", role="moderator")
    thread = thread_by(member)
    held = reply(other, thread, "I have the pills saved up and I'm going to kill myself tonight. @sam")
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_id == held.id))
    assert item is not None and _kinds(member) == []
    moderation_actions.act(moderator, item.id, action="mark_safe", version=item.version)
    assert _kinds(member) == ["mention"]


def test_switching_a_kind_off_stops_it(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    notifications.update_settings(member, {"reply": False})
    assert notifications.settings_for(member)["reply"] is False
    thread = thread_by(member)
    reply(other, thread, "hello")
    reply(other, thread, "hello again @sam")
    assert _kinds(member) == ["mention"]


def test_marking_read_lowers_the_unread_count(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread = thread_by(member)
    reply(other, thread, "one")
    reply(other, thread, "two")
    first = notifications.recent(member)[-1]
    assert notifications.mark_read(member, [first.id]) == 1
    assert notifications.unread_count(member) == 1
    assert notifications.mark_read(member) == 1
    assert notifications.unread_count(member) == 0


def test_nobody_can_mark_someone_elses_notifications(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    reply(other, thread_by(member), "one")
    mine = notifications.recent(member)[0]
    assert notifications.mark_read(other, [mine.id]) == 0
    assert notifications.unread_count(member) == 1


def test_a_moderator_message_and_a_check_in_become_notifications(app: Flask, member: User, moderator: User) -> None:
    from forum.models import ModeratorMessage

    with write_transaction() as session:
        message = ModeratorMessage(
            recipient_id=member.id, sender_id=moderator.id, kind="reach_out", body_html="<p>Hi</p>"
        )
        session.add(message)
    events.moderator_message_sent(message.id)
    events.check_in_starting(7, "Sunday check-in", [member.id], "/chat/7")
    assert _kinds(member) == ["moderator", "check_in"]
    check_in = notifications.recent(member)[0]
    assert "Sunday check-in" in check_in.body_html and check_in.url == "/chat/7"
    assert notifications.actor_name(check_in) == "Hearth", "the check-in itself, not 'a member'"


def test_the_notifications_page_lists_and_opens_them(
    app: Flask, member_client: Any, member: User, make_user: Any
) -> None:
    other = make_user("river")
    thread = thread_by(member, title="Walking the dog")
    post = reply(other, thread, "I walk mine at dawn.")
    page = member_client.get("/notifications").get_data(as_text=True)
    assert "river replied in &ldquo;Walking the dog&rdquo;" in page
    item = notifications.recent(member)[0]
    opened = member_client.post(f"/notifications/{item.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"#p{post.id}")
    assert notifications.unread_count(member) == 0


def test_the_settings_page_saves_choices(app: Flask, member_client: Any, member: User) -> None:
    response = member_client.post("/notifications/settings", data={"mention": "on", "moderator": "on"})
    assert response.status_code == 302
    chosen = notifications.settings_for(member)
    assert chosen["mention"] and chosen["moderator"] and not chosen["reply"]


def _statements_during(action: Any) -> list[str]:
    """The SQL the database received while `action` ran (observed on the real engine)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_a_reply_and_its_notification_are_written_in_one_transaction(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread = thread_by(member)
    seen = _statements_during(lambda: reply(other, thread, "Sending warmth."))
    assert _kinds(member) == ["reply"]
    # One write transaction: on SQLite one BEGIN IMMEDIATE (one turn at the write lock, one fsync) per reply.
    if db.engine.dialect.name == "sqlite":
        assert sum(1 for s in seen if s.startswith("BEGIN IMMEDIATE")) == 1
    inserts = [s for s in seen if s.startswith("INSERT INTO")]
    assert [s.split()[2] for s in inserts][:1] == ["posts"]
    assert any(s.startswith("INSERT INTO notifications") for s in inserts)


def test_a_failing_post_subscriber_neither_loses_the_post_nor_the_other_subscribers_work(
    app: Flask, member: User, make_user: Any
) -> None:
    other = make_user("river")
    thread = thread_by(member)

    def broken(_post_id: int) -> None:
        with write_transaction() as session:
            session.add(Notification(user_id=other.id, kind="reply"))  # written, then undone by the failure
            session.flush()
            raise RuntimeError("a subscriber with a bug")

    events.on_post_created(broken)
    try:
        posted = reply(other, thread, "Thinking of you.")
    finally:
        events._post_created.remove(broken)
    assert db.session.get(type(posted), posted.id) is not None
    assert _kinds(member) == ["reply"]  # the notifications subscriber still ran and committed
    assert _kinds(other) == []  # the broken subscriber's row went with its savepoint


def test_blocking_or_muting_someone_takes_back_what_you_were_told_about_them(
    app: Flask, member: User, make_user: Any
) -> None:
    river, wren = make_user("river"), make_user("wren")
    mine = thread_by(member)
    reply(river, mine, "@sam sending warmth.")
    reply(wren, mine, "Same here.")
    rivers = thread_by(river, title="Rivers thread")
    reply(member, rivers, "Thank you for writing this.")
    assert _kinds(member) == ["mention", "reply"] and _kinds(river) == ["reply"]

    social.set_block(member, river, "block")

    assert [n.actor_id for n in notifications.recent(member)] == [wren.id]
    assert _kinds(river) == [], "a block works both ways"
    assert notifications.unread_count(member) == 1

    social.set_block(member, wren, "mute")
    assert _kinds(member) == []
