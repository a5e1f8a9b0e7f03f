"""The review queue as a service: what enters it, in which order, claims, versions and every action."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import AuditLog, ModeratorMessage, Post, ReviewDecision, ReviewEvent, ReviewItem, Thread, User, utcnow
from forum.services import accounts, moderation_actions, posting, reports, review
from forum.services.errors import Conflict, Forbidden, NotAuthenticated, ValidationFailed
from tests.conftest import api_token, bearer, login

from .helpers import CALM_TEXT, CONCERN_TEXT, CRISIS_TEXT, item_for, start_thread


def _act(moderator: User, item: ReviewItem, action: str, **kwargs: object) -> ReviewItem:
    return moderation_actions.act(moderator, item.id, action=action, version=item.version, **kwargs)


# --- what enters the queue ------------------------------------------------------------------------


def test_crisis_is_urgent_concern_is_review_and_calm_is_not_queued(app: Flask, member: User, moderator: User) -> None:
    crisis = item_for(start_thread(member, CRISIS_TEXT))
    concern = item_for(start_thread(member, CONCERN_TEXT))
    calm = start_thread(member, CALM_TEXT)
    assert (crisis.priority, crisis.level) == ("urgent", "crisis")
    assert (concern.priority, concern.level) == ("review", "concern")
    assert db.session.scalar(select(ReviewItem).where(ReviewItem.target_id == calm.id)) is None


def test_the_queue_puts_urgent_first_then_the_longest_waiting(app: Flask, member: User, moderator: User) -> None:
    old_concern = item_for(start_thread(member, CONCERN_TEXT))
    newer_crisis = item_for(start_thread(member, CRISIS_TEXT))
    older_crisis = item_for(start_thread(member, CRISIS_TEXT))
    older_crisis.waiting_since = utcnow() - timedelta(hours=2)
    old_concern.waiting_since = utcnow() - timedelta(days=1)
    db.session.commit()
    order = [item.id for item in review.queue(moderator).items]
    assert order == [older_crisis.id, newer_crisis.id, old_concern.id]


def test_the_queue_pages_urgent_items_first_and_never_loses_one_between_pages(
    app: Flask, member: User, moderator: User
) -> None:
    items = [item_for(start_thread(member, CONCERN_TEXT)) for _ in range(5)]
    for waited, item in enumerate(items):
        item.waiting_since = utcnow() - timedelta(minutes=10 - waited)
    db.session.commit()
    pages = [review.queue(moderator, page=n, per_page=2) for n in (1, 2, 3)]
    assert [page.pages for page in pages] == [3, 3, 3] and pages[0].total == 5
    assert [item.id for page in pages for item in page.items] == [item.id for item in items]
    assert review.queue(moderator, page=99, per_page=2).page == 3  # past the end: the last page


def test_the_api_queue_says_which_page_and_how_many(app: Flask, client, member: User, moderator: User) -> None:
    for _ in range(3):
        start_thread(member, CONCERN_TEXT)
    token = api_token(client, moderator.username)
    body = client.get("/api/v1/moderation/queue?page=1", headers=bearer(token)).get_json()
    assert (body["page"], body["pages"], body["total"], len(body["items"])) == (1, 1, 3, 3)
    assert client.get("/api/v1/moderation/queue?page=0", headers=bearer(token)).status_code == 422


def test_a_queue_page_names_who_each_item_is_about_without_a_query_per_item(
    app: Flask, member: User, moderator: User
) -> None:
    from sqlalchemy import event

    thread = start_thread(member, CALM_TEXT).thread
    anonymous = [posting.create_reply(member, thread, body=CRISIS_TEXT, anonymous=True).post for _ in range(3)]
    named = start_thread(member, CONCERN_TEXT)
    db.session.expire_all()
    page = review.queue(moderator)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        names = {item.target_id: review.subject_name(item) for item in page.items}
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert names == {**{post.id: review.ANONYMOUS_SUBJECT for post in anonymous}, named.id: member.username}
    assert statements == [], "the page's posts came with the page"


def test_a_check_in_request_is_an_urgent_item_about_the_person(app: Flask, member: User, moderator: User) -> None:
    item = review.request_check_in(member, note="rough night", source="post")
    assert (item.target_type, item.target_id, item.priority) == ("user", member.id, "urgent")
    assert item in review.queue(moderator).items


# --- claims and versions ------------------------------------------------------------------------


def test_a_claim_holds_the_item_for_the_configured_minutes(app: Flask, member: User, moderator: User) -> None:
    app.config["REVIEW_CLAIM_MINUTES"] = 7
    item = item_for(start_thread(member, CRISIS_TEXT))
    claimed = review.claim(moderator, item.id, version=item.version)
    assert review.claimed_by(claimed) == moderator.id
    assert claimed.claimed_until is not None
    minutes = (claimed.claimed_until - utcnow()).total_seconds() / 60
    assert 6 < minutes <= 7


def test_a_second_moderator_cannot_claim_or_act_while_the_claim_lasts(
    app: Flask, member: User, moderator: User, make_user
) -> None:
    other = make_user("mod_omar", role="moderator")
    item = item_for(start_thread(member, CRISIS_TEXT))
    claimed = review.claim(moderator, item.id, version=item.version)
    with pytest.raises(Conflict) as caught:
        review.claim(other, item.id, version=claimed.version)
    assert caught.value.extra["item"]["claimed_by"]["username"] == "mod_maya"
    with pytest.raises(Conflict):
        moderation_actions.act(other, item.id, action="mark_safe", version=claimed.version)


def test_an_expired_claim_lets_someone_else_take_the_item(app: Flask, member: User, moderator: User, make_user) -> None:
    other = make_user("mod_omar", role="moderator")
    item = item_for(start_thread(member, CRISIS_TEXT))
    claimed = review.claim(moderator, item.id, version=item.version)
    claimed.claimed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert review.claimed_by(claimed) is None
    taken = review.claim(other, item.id, version=claimed.version)
    assert taken.claimed_by_id == other.id


def test_acting_on_a_stale_version_is_a_conflict_carrying_the_fresh_state(
    app: Flask, member: User, moderator: User
) -> None:
    item = item_for(start_thread(member, CRISIS_TEXT))
    seen = item.version
    _act(moderator, item, "note", note="looked at it")
    with pytest.raises(Conflict) as caught:
        moderation_actions.act(moderator, item.id, action="mark_safe", version=seen)
    assert caught.value.status == 409
    assert caught.value.extra["item"]["version"] == seen + 1
    assert db.session.get(ReviewItem, item.id).status == "open"


# --- actions ------------------------------------------------------------------------------------


def test_mark_safe_resolves_and_records_a_disagreeing_label(app: Flask, member: User, moderator: User) -> None:
    item = item_for(start_thread(member, CRISIS_TEXT))
    done = _act(moderator, item, "mark_safe", note="song lyrics")
    assert done.status == "resolved" and done.first_action_at is not None
    decision = db.session.scalar(select(ReviewDecision).where(ReviewDecision.item_id == item.id))
    assert (decision.label, decision.agrees, decision.screened_level) == ("none", False, "crisis")
    assert decision.model_version == item.screening.model_version


def test_reach_out_sends_the_person_a_private_message_and_agrees_with_the_model(
    app: Flask, member: User, moderator: User
) -> None:
    item = item_for(start_thread(member, CRISIS_TEXT))
    _act(moderator, item, "reach_out", note="I'm here, <b>sam</b>.")
    message = db.session.scalar(select(ModeratorMessage).where(ModeratorMessage.recipient_id == member.id))
    assert message.kind == "reach_out" and "<b>" not in message.body_html
    decision = db.session.scalar(select(ReviewDecision).where(ReviewDecision.item_id == item.id))
    assert (decision.label, decision.agrees) == ("crisis", True)


def test_hide_keeps_the_post_hides_it_from_peers_and_tells_the_author_why(
    app: Flask, member: User, moderator: User
) -> None:
    post = start_thread(member, CONCERN_TEXT)
    _act(moderator, item_for(post), "hide", note="Shares a method.")
    stored = db.session.get(Post, post.id)
    assert stored.visibility == "hidden" and stored.body_md == CONCERN_TEXT
    message = db.session.scalar(select(ModeratorMessage).where(ModeratorMessage.recipient_id == member.id))
    assert message.kind == "hidden" and "Shares a method." in message.body_html


def test_lock_thread_locks_it(app: Flask, member: User, moderator: User) -> None:
    post = start_thread(member, CONCERN_TEXT)
    _act(moderator, item_for(post), "lock_thread", note="heated")
    assert db.session.get(Thread, post.thread_id).locked


def test_silence_stops_posting_for_the_period(app: Flask, member: User, moderator: User) -> None:
    post = start_thread(member, CONCERN_TEXT)
    _act(moderator, item_for(post), "silence", note="cool off", hours=2)
    person = db.session.get(User, member.id)
    assert person.is_silenced
    assert timedelta(hours=1, minutes=59) < person.silenced_until - utcnow() <= timedelta(hours=2)
    with pytest.raises(Forbidden):
        posting.create_reply(person, db.session.get(Thread, post.thread_id), body="still here")


def test_a_shorter_silence_never_cuts_a_longer_one_short(app: Flask, member: User, moderator: User) -> None:
    first, second = item_for(start_thread(member, CONCERN_TEXT)), item_for(start_thread(member, CRISIS_TEXT))
    _act(moderator, first, "silence", note="cool off", hours=48)
    until = db.session.get(User, member.id).silenced_until
    _act(moderator, second, "silence", note="and this one", hours=1)
    assert db.session.get(User, member.id).silenced_until == until
    told = db.session.scalars(select(ModeratorMessage.kind).where(ModeratorMessage.recipient_id == member.id)).all()
    assert told == ["silenced"], "nothing changed for them, so no second notice"


def test_a_silence_can_be_lifted_even_after_its_item_was_resolved_and_the_person_is_told(
    app: Flask, client, member: User, moderator: User
) -> None:
    from forum.models import ModeratorMessage

    item = _act(moderator, item_for(start_thread(member, CONCERN_TEXT)), "silence", note="cool off", hours=48)
    item = _act(moderator, item, "resolve")
    login(client, moderator.username)
    page = client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    assert "silenced until" in page and 'value="lift"' in page

    item = _act(moderator, item, "lift", note="we talked, all good")

    assert not db.session.get(User, member.id).is_silenced
    told = db.session.scalars(select(ModeratorMessage.kind).where(ModeratorMessage.recipient_id == member.id)).all()
    assert told == ["silenced", "lifted"]
    with pytest.raises(ValidationFailed):
        _act(moderator, item, "lift")  # nothing left to lift
    assert 'value="lift"' not in client.get(f"/moderation/items/{item.id}").get_data(as_text=True)


def test_suspend_ends_every_session_and_token(app: Flask, client, member: User, moderator: User) -> None:
    token = accounts.issue_token(member)
    version_before = member.session_version
    post = start_thread(member, CONCERN_TEXT)
    _act(moderator, item_for(post), "suspend", note="threats", hours=48)
    person = db.session.get(User, member.id)
    assert person.is_suspended and person.session_version == version_before + 1
    assert accounts.user_for_token(token) is None
    with pytest.raises(NotAuthenticated):
        accounts.authenticate("sam", "correct horse battery")


def test_a_suspended_person_signing_in_reads_why_until_when_and_who_to_reach(
    app: Flask, member: User, moderator: User
) -> None:
    post = start_thread(member, CONCERN_TEXT)
    _act(moderator, item_for(post), "suspend", note="Repeated <b>threats</b> to another member", hours=48)
    browser = app.test_client()
    wrong = browser.post("/login", data={"username": "sam", "password": "not the password"})
    assert wrong.status_code == 401 and b"threats" not in wrong.data  # the reason is for the person only

    page = browser.post("/login", data={"username": "sam", "password": "correct horse battery"})
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "suspended until" in html and "Repeated" in html and "threats" in html
    assert "<b>threats</b>" not in html  # the moderator's note was sanitised when it was written
    assert "People you can reach right now" in html
    assert browser.get("/notifications/settings").status_code == 302  # still not signed in: sent to the login page


def test_only_admins_can_restrict_a_moderator(app: Flask, moderator: User, make_user, admin: User) -> None:
    other = make_user("mod_omar", role="moderator")
    item = review.request_check_in(other)
    with pytest.raises(Forbidden):
        _act(moderator, item, "silence", note="no")
    item = db.session.get(ReviewItem, item.id)
    _act(admin, item, "silence", note="admin decision")
    assert db.session.get(User, other.id).is_silenced


def test_escalate_flags_the_item_and_tells_every_admin(
    app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    from forum.services import notifications

    admins = [make_user("ash", role="admin"), make_user("birch", role="admin")]
    item = item_for(start_thread(member, CRISIS_TEXT))
    done = _act(moderator, item, "escalate", note="needs an admin <b>now</b>")
    assert done.escalated_at is not None and done.status == "open"
    for admin in admins:
        [told] = notifications.recent(admin)
        assert (told.kind, told.url, told.actor_id) == ("escalated", f"/moderation/items/{item.id}", moderator.id)
        assert "needs an admin &lt;b&gt;now&lt;/b&gt;" in told.body_html
    assert notifications.recent(moderator) == [] and notifications.recent(member) == []


def test_every_action_is_in_the_audit_log_and_the_history(app: Flask, member: User, moderator: User) -> None:
    item = item_for(start_thread(member, CRISIS_TEXT))
    item = review.claim(moderator, item.id, version=item.version)
    item = _act(moderator, item, "reach_out", note="checking in")
    item = _act(moderator, item, "note", note="replied, safe tonight")
    _act(moderator, item, "resolve", note="done")
    audit = db.session.scalars(select(AuditLog).where(AuditLog.item_id == item.id).order_by(AuditLog.id)).all()
    assert [(a.action, a.actor_id, a.reason) for a in audit] == [
        ("claim", moderator.id, audit[0].reason),
        ("reach_out", moderator.id, "checking in"),
        ("note", moderator.id, "replied, safe tonight"),
        ("resolve", moderator.id, "done"),
    ]
    events = [e.action for e in db.session.scalars(select(ReviewEvent).where(ReviewEvent.item_id == item.id))]
    assert events == ["created", "claim", "reach_out", "note", "resolve"]


def test_a_note_needs_words(app: Flask, member: User, moderator: User) -> None:
    item = item_for(start_thread(member, CRISIS_TEXT))
    with pytest.raises(ValidationFailed):
        _act(moderator, item, "note", note="   ")


# --- the crisis policy, end to end --------------------------------------------------------------


def test_hold_policy_keeps_a_crisis_post_from_peers_until_a_moderator_marks_it_safe(
    app: Flask, member: User, moderator: User, make_user
) -> None:
    app.config["CRISIS_POLICY"] = "hold"
    peer = make_user("river")
    post = start_thread(member, CRISIS_TEXT)
    thread = db.session.get(Thread, post.thread_id)
    assert post.visibility == "held" and thread.visibility == "held"
    from forum import permissions

    assert not permissions.can_view_thread(peer, thread)
    assert permissions.can_view_thread(member, thread) and permissions.can_view_post_body(member, post)
    _act(moderator, item_for(post), "mark_safe", note="quoting a film")
    post, thread = db.session.get(Post, post.id), db.session.get(Thread, post.thread_id)
    assert post.visibility == "visible" and thread.visibility == "visible"
    assert permissions.can_view_thread(peer, thread) and permissions.can_view_post_body(peer, post)


def test_publish_policy_shows_a_crisis_post_at_once_behind_a_note_and_flags_it_urgent(
    app: Flask, member: User, make_user
) -> None:
    app.config["CRISIS_POLICY"] = "publish"
    peer = make_user("river")
    post = start_thread(member, CRISIS_TEXT)
    from forum import permissions

    assert post.visibility == "visible" and post.content_note == posting.AUTO_CONTENT_NOTE
    assert permissions.can_view_post_body(peer, post)
    assert item_for(post).priority == "urgent"


# --- peer reports -------------------------------------------------------------------------------


def test_a_rules_report_queues_the_post_for_review(app: Flask, member: User, make_user, moderator: User) -> None:
    reporter = make_user("river")
    post = start_thread(member, CALM_TEXT)
    reports.report_post(reporter, post, kind="rules", reason="spam link")
    item = item_for(post)
    assert item.priority == "review"
    assert item.reasons[-1] == {"source": "report", "kind": "rules", "detail": "spam link"}


def test_a_worried_report_is_urgent_and_never_hides_or_penalises(
    app: Flask, member: User, make_user, moderator: User
) -> None:
    reporter = make_user("river")
    post = start_thread(member, CALM_TEXT)
    reports.report_post(reporter, post, kind="worried", reason="they seem very low")
    item = item_for(post)
    stored = db.session.get(Post, post.id)
    assert item.priority == "urgent" and stored.visibility == "visible"
    for action in ("hide", "silence", "suspend"):
        item = db.session.get(ReviewItem, item.id)
        with pytest.raises(ValidationFailed):
            _act(moderator, item, action, note="no")
    person = db.session.get(User, member.id)
    assert not person.is_silenced and not person.is_suspended
    assert db.session.get(Post, post.id).visibility == "visible"


def test_worried_reports_are_limited_per_reporter_in_a_time_window(app: Flask, member: User, make_user) -> None:
    from forum.models import PeerReport
    from forum.services.errors import RateLimited

    app.config["WORRIED_REPORT_LIMIT"] = 2
    reporter = make_user("river")
    posts = [start_thread(member, CALM_TEXT, title=f"Thread number {n}") for n in range(4)]
    reports.report_post(reporter, posts[0], kind="worried")
    reports.report_post(reporter, posts[1], kind="worried")
    with pytest.raises(RateLimited) as caught:
        reports.report_post(reporter, posts[2], kind="worried")
    assert caught.value.retry_after > 0
    # Rules reports are not worried reports and are not counted against the limit.
    reports.report_post(reporter, posts[2], kind="rules")
    # Reports older than the window no longer count.
    for report in db.session.scalars(select(PeerReport).where(PeerReport.kind == "worried")):
        report.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    reports.report_post(reporter, posts[3], kind="worried")
    count = db.session.scalar(select(func.count(PeerReport.id)).where(PeerReport.kind == "worried"))
    assert count == 3


def test_the_same_report_twice_adds_nothing(app: Flask, member: User, make_user) -> None:
    reporter = make_user("river")
    post = start_thread(member, CALM_TEXT)
    first = reports.report_post(reporter, post, kind="rules")
    again = reports.report_post(reporter, post, kind="rules")
    assert first.id == again.id and len(item_for(post).reasons) == 1


def test_more_words_on_the_same_report_reach_the_moderators(app: Flask, member: User, make_user) -> None:
    reporter = make_user("river")
    post = start_thread(member, CALM_TEXT)
    first = reports.report_post(reporter, post, kind="worried", reason="She sounded very low.")
    later = "She also told me she has the pills ready."
    again = reports.report_post(reporter, post, kind="worried", reason=later)
    reports.report_post(reporter, post, kind="worried", reason=later)  # the same words twice: once
    assert first.id == again.id
    assert [reason["detail"] for reason in item_for(post).reasons] == ["She sounded very low.", later]
    assert again.reason == f"She sounded very low.\n\n{later}"


def test_nobody_reports_their_own_post(app: Flask, member: User) -> None:
    post = start_thread(member, CALM_TEXT)
    with pytest.raises(Forbidden):
        reports.report_post(member, post, kind="worried")
