"""The triage pages as people see them: highlighted phrases, the dashboard, inbox, reports, check-ins, guides."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import moderation
from forum.blueprints.guides import thread_guides
from forum.extensions import db
from forum.guides import all_guides
from forum.highlighting import highlight
from forum.models import Post, ReviewItem, Thread, User, utcnow
from forum.queries import OPENING_SCREENINGS
from forum.services import moderation_actions, moderator_messages, posting, privacy, review
from tests.conftest import login

from .helpers import CALM_TEXT, CONCERN_TEXT, CRISIS_TEXT, item_for, silence, start_thread


def test_highlighting_escapes_the_text_and_marks_only_the_matches() -> None:
    text = "<script>alert(1)</script> I want to kill myself"
    start = text.index("kill myself")
    html = str(highlight(text, [{"phrase": "kill myself", "start": start, "end": start + 11, "label": "crisis"}]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.endswith(
        '<mark title="crisis">kill myself<span class="visually-hidden"> (matched: crisis)</span></mark>'
    )


def test_highlighting_ignores_offsets_that_do_not_point_at_their_phrase() -> None:
    html = str(highlight("nothing here", [{"phrase": "kill myself", "start": 0, "end": 4, "label": "x"}]))
    assert "<mark" not in html


def test_the_item_page_shows_matched_phrases_highlighted(client: FlaskClient, member: User, moderator: User) -> None:
    post = start_thread(member, CRISIS_TEXT + " <img src=x onerror=alert(1)>", title="Tonight <b>bold</b>")
    item = item_for(post)
    login(client, "mod_maya")
    html = client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    assert "<mark" in html and '>kill myself<span class="visually-hidden"> (matched: ' in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html


def test_the_queue_page_lists_urgent_items_first(client: FlaskClient, member: User, moderator: User) -> None:
    start_thread(member, CONCERN_TEXT, title="A concern thread")
    start_thread(member, CRISIS_TEXT, title="A crisis thread")
    login(client, "mod_maya")
    html = client.get("/moderation/").get_data(as_text=True)
    assert html.index("A crisis thread") < html.index("A concern thread")
    assert "socket.io.min.js" in html and "js/moderation.js" in html


def test_the_dashboard_draws_open_items_response_times_and_agreement(
    client: FlaskClient, member: User, moderator: User
) -> None:
    crisis = item_for(start_thread(member, CRISIS_TEXT))
    item_for(start_thread(member, CONCERN_TEXT))
    crisis.created_at = utcnow() - timedelta(minutes=30)
    db.session.commit()
    moderation_actions.act(moderator, crisis.id, action="reach_out", version=crisis.version)
    login(client, "mod_maya")
    html = client.get("/moderation/dashboard").get_data(as_text=True)
    assert html.count("<svg") == 3 and 'role="img"' in html
    assert "2 open items: 1 crisis, 0 risk unknown, 1 concern, 0 none." in html
    assert "Last 7 days: 1 urgent item acted on, median 30 min" in html
    assert "1 of 1 decisions agreed (100%)" in html


def test_needs_a_reply_lists_lonely_threads_after_the_configured_hours_riskiest_first(
    client: FlaskClient, app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    app.config["NEEDS_REPLY_HOURS"] = 6
    calm = start_thread(member, CALM_TEXT, title="A calm lonely thread")
    risky = start_thread(member, CONCERN_TEXT, title="A worried lonely thread")
    fresh = start_thread(member, CALM_TEXT, title="A brand new thread")
    answered = start_thread(member, CALM_TEXT, title="An answered thread")
    from forum.services import posting

    posting.create_reply(make_user("river"), db.session.get(Thread, answered.thread_id), body="I'm here.")
    for post in (calm, risky, answered):
        db.session.get(Thread, post.thread_id).created_at = utcnow() - timedelta(hours=7)
    db.session.commit()
    login(client, "mod_maya")
    html = client.get("/moderation/needs-reply").get_data(as_text=True)
    assert html.index("A worried lonely thread") < html.index("A calm lonely thread")
    assert "A brand new thread" not in html and "An answered thread" not in html
    assert fresh is not None


def test_a_reach_out_arrives_in_the_members_private_inbox_with_resources(
    client: FlaskClient, member: User, moderator: User, make_user: Any
) -> None:
    item = item_for(start_thread(member, CRISIS_TEXT))
    moderation_actions.act(moderator, item.id, action="reach_out", note="Thinking of you, sam.", version=item.version)
    login(client, "sam")
    home = client.get("/").get_data(as_text=True)
    assert '1<span class="visually-hidden"> unread</span>' in home
    inbox = client.get("/messages").get_data(as_text=True)
    assert "Thinking of you, sam." in inbox and "findahelpline.com" in inbox
    client.post("/messages/read")
    assert '1<span class="visually-hidden"> unread</span>' not in client.get("/").get_data(as_text=True)
    other = app_client_for(client, make_user("river"))
    assert "Thinking of you" not in other.get("/messages").get_data(as_text=True)


def test_a_member_writes_back_to_a_reach_out_in_private_and_it_reaches_the_queue(
    client: FlaskClient, member: User, moderator: User, make_user: Any
) -> None:
    item = item_for(start_thread(member, CRISIS_TEXT))
    moderation_actions.act(moderator, item.id, action="reach_out", note="How are you tonight?", version=item.version)
    reached = review.get_item(moderator, item.id)
    moderation_actions.act(moderator, item.id, action="mark_safe", note="", version=reached.version)
    login(client, "sam")
    inbox = client.get("/messages").get_data(as_text=True)
    assert 'data-testid="write-back"' in inbox and "reply on the boards" not in inbox
    sent = client.post(
        "/support/check-in", data={"source": "reply", "note": "A bit better. Thank you.", "next": "/messages"}
    )
    assert sent.status_code == 302 and sent.headers["Location"] == "/messages"
    inbox = client.get("/messages").get_data(as_text=True)
    assert "Only the moderators can read it" in inbox
    # Both sides of the conversation, newest first: what they wrote, above the message it answers.
    mine, theirs = inbox.index('data-testid="written-by-you"'), inbox.index("How are you tonight?")
    assert mine < theirs and "A bit better. Thank you." in inbox[mine:theirs]
    reply = db.session.scalar(select(ReviewItem).where(ReviewItem.target_type == "user", ReviewItem.status == "open"))
    assert reply is not None and reply.priority == "urgent" and reply.subject_user_id == member.id
    moderator_view = app_client_for(client, moderator).get(f"/moderation/items/{reply.id}").get_data(as_text=True)
    assert "A bit better. Thank you." in moderator_view
    assert 'data-testid="write-back"' not in app_client_for(client, make_user("river")).get("/messages").get_data(
        as_text=True
    ), "no form for someone no moderator wrote to"


def test_a_silenced_member_is_told_why_they_cannot_reply_and_keeps_help_within_reach(
    client: FlaskClient, member: User, make_user: Any
) -> None:
    post = start_thread(make_user("river"), CALM_TEXT)
    silence(member)
    login(client, "sam")
    page = client.get(f"/t/{post.thread_id}").get_data(as_text=True)
    notice = page[page.index('data-testid="silenced-notice"') :]
    assert "Replying is paused for you" in notice and "findahelpline" in notice
    assert 'id="reply-heading"' not in page
    # A reply sent anyway (a form opened before the pause) is refused, and keeps its words and the lines.
    refused = client.post(f"/t/{post.thread_id}/reply", data={"body": CRISIS_TEXT})
    assert refused.status_code == 403
    kept = refused.get_data(as_text=True)
    assert "I have the pills saved up" in kept and 'data-testid="support-panel"' in kept
    assert "Send it again" not in kept


def test_a_silenced_members_refused_api_reply_carries_support_when_its_words_need_it(
    client: FlaskClient, member: User, make_user: Any
) -> None:
    from tests.conftest import api_token, bearer

    post = start_thread(make_user("river"), CALM_TEXT)
    token = api_token(client, "sam")
    silence(member)
    url = f"/api/v1/threads/{post.thread_id}/posts"
    crisis = client.post(url, json={"body": CRISIS_TEXT}, headers=bearer(token))
    assert crisis.status_code == 403 and crisis.json["error"]["support"]["resources"]
    calm = client.post(url, json={"body": "Thanks for sharing this."}, headers=bearer(token))
    assert calm.status_code == 403 and "support" not in calm.json["error"]


def app_client_for(client: FlaskClient, user: User) -> FlaskClient:
    fresh = client.application.test_client()
    login(fresh, user.username)
    return fresh


def test_the_support_panel_offers_a_check_in_that_raises_an_urgent_item(
    client: FlaskClient, member: User, moderator: User
) -> None:
    login(client, "sam")
    response = client.post(
        "/b/grief-and-loss/new", data={"title": "Tonight", "body": CRISIS_TEXT, "idempotency_key": "k1"}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="support-panel"' in page and 'data-testid="check-in-form"' in page
    back = client.post("/support/check-in", data={"source": "post", "next": "/t/1"})
    assert back.status_code == 302 and back.headers["Location"] == "/t/1"
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_type == "user"))
    assert item is not None and item.priority == "urgent" and item.reasons[-1]["kind"] == "post"
    queue = app_client_for(client, moderator).get("/moderation/queue/list").get_data(as_text=True)
    assert "asked for help" in queue and "risk unknown" not in queue, "no screening failed here"


def test_check_in_never_redirects_off_site(client: FlaskClient, member: User) -> None:
    login(client, "sam")
    back = client.post("/support/check-in", data={"source": "post", "next": "https://evil.example/x"})
    assert back.headers["Location"] == "/"


def test_a_report_from_the_thread_page_queues_it_privately(
    client: FlaskClient, member: User, make_user: Any, moderator: User
) -> None:
    post = start_thread(member, CALM_TEXT)
    make_user("river")
    login(client, "river")
    page = client.get(f"/t/{post.thread_id}").get_data(as_text=True)
    assert f'<a href="/p/{post.id}/report">Report</a>' in page and 'class="report-form"' not in page
    form = client.get(f"/p/{post.id}/report").get_data(as_text=True)
    assert 'data-testid="reported-post"' in form and CALM_TEXT.split(".")[0] in form
    assert 'value="worried"' in form and 'value="rules"' in form and 'maxlength="1000"' in form
    sent = client.post(f"/p/{post.id}/report", data={"kind": "worried", "reason": "seems low"})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/t/{post.thread_id}?page=1#p{post.id}"
    assert item_for(post).priority == "urgent"
    assert "Your report is private." in client.get(sent.headers["Location"]).get_data(as_text=True)


def test_a_report_without_a_kind_is_shown_again_with_what_to_fix_and_writes_nothing(
    client: FlaskClient, member: User, make_user: Any
) -> None:
    post = start_thread(member, CALM_TEXT)
    make_user("river")
    login(client, "river")
    for kind in ("", "angry"):
        answer = client.post(f"/p/{post.id}/report", data={"kind": kind, "reason": "the words I typed"})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422 and "Choose" in page and "the words I typed" in page
    assert db.session.scalar(select(ReviewItem).where(ReviewItem.target_id == post.id)) is None


def test_the_report_page_keeps_a_post_behind_its_content_note(
    client: FlaskClient, member: User, make_user: Any
) -> None:
    board = posting.get_board("grief-and-loss")
    post = posting.create_thread(member, board, title="A hard week", body=CALM_TEXT, content_note="a funeral").post
    make_user("river")
    login(client, "river")
    page = client.get(f"/p/{post.id}/report").get_data(as_text=True)
    assert re.search(r'<details class="content-note">\s*<summary>Content note: a funeral', page)


def test_nobody_is_offered_a_report_of_their_own_post(client: FlaskClient, member: User) -> None:
    post = start_thread(member, CALM_TEXT)
    login(client, "sam")
    assert f"/p/{post.id}/report" not in client.get(f"/t/{post.thread_id}").get_data(as_text=True)
    assert client.get(f"/p/{post.id}/report").status_code == 403


def test_a_moderators_link_to_a_post_opens_the_page_the_post_is_on(
    app: Flask, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.blueprints.moderation import describe_target

    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    thread = posting.get_thread(start_thread(member, CALM_TEXT).thread_id)
    posting.create_reply(member, thread, body="A second post, still on the first page.")
    third = posting.create_reply(member, thread, body=CRISIS_TEXT).post
    with app.test_request_context():
        assert describe_target(item_for(third))["url"] == f"/t/{thread.id}?page=2#p{third.id}"


def test_every_guide_the_router_can_suggest_exists() -> None:
    assert set(moderation.GUIDE_SLUGS) <= set(all_guides())
    assert len(all_guides()) == 14


def test_each_board_shows_the_guides_for_its_area(client: FlaskClient) -> None:
    html = client.get("/b/grief-and-loss").get_data(as_text=True)
    assert 'data-testid="board-guides"' in html and "/guides/grief-processing" in html
    assert 'data-testid="board-guides"' not in client.get("/b/introductions").get_data(as_text=True)


def test_threads_show_suggested_guides_beside_them(client: FlaskClient, member: User) -> None:
    post = start_thread(member, CALM_TEXT, title="Her recipe books")
    board = client.get("/b/grief-and-loss").get_data(as_text=True)
    assert "thread-guides" in board and "/guides/grief-processing" in board
    thread = client.get(f"/t/{post.thread_id}").get_data(as_text=True)
    assert "Guides for this thread" in thread


def test_thread_guides_come_from_opening_posts_through_the_target_index(member: User) -> None:
    """Board and thread pages ask for their threads' guides on every view: the lookup must go from the
    opening posts to their screenings, not walk every post's screening (which grows with every reply)."""
    first = posting.get_thread(start_thread(member, CALM_TEXT, title="Her recipe books").thread_id)
    second = posting.get_thread(start_thread(member, "Starting a new job next week.", title="New job").thread_id)
    posting.create_reply(member, first, body="My dad started a new job and we argue about it.")
    found = thread_guides([first, second])
    assert [g.slug for g in found[first.id]] == [g.slug for g in thread_guides([first])[first.id]]
    assert "grief-processing" in {g.slug for g in found[first.id]} and set(found) == {first.id, second.id}
    if db.engine.dialect.name == "sqlite":  # PostgreSQL's plan depends on table statistics
        compiled = OPENING_SCREENINGS.compile(db.engine)
        params = compiled.construct_params({"thread_ids": [first.id, second.id]}, _check=False)
        sql = str(compiled).replace("(__[POSTCOMPILE_thread_ids])", f"({first.id}, {second.id})")
        plan = db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {sql}", tuple(v for k, v in params.items() if k != "thread_ids")
        )
        assert "ix_screenings_target (target_type=? AND target_id=?)" in " ".join(str(row[-1]) for row in plan)


def test_after_a_calm_post_the_writer_sees_suggested_guides_once(client: FlaskClient, member: User) -> None:
    login(client, "sam")
    response = client.post(
        "/b/grief-and-loss/new", data={"title": "Her recipe books", "body": CALM_TEXT, "idempotency_key": "k2"}
    )
    first = client.get(response.headers["Location"]).get_data(as_text=True)
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Guides that may fit what you wrote" in first
    assert "Guides that may fit what you wrote" not in again


def test_export_feedback_writes_text_and_label_rows(app: Flask, tmp_path: Path, member: User, moderator: User) -> None:
    privacy.set_training_opt_in(member, True)
    safe = item_for(start_thread(member, CRISIS_TEXT, title="Lyrics I love"))
    protect = item_for(start_thread(member, CONCERN_TEXT, title="Heavy week"))
    moderation_actions.act(moderator, safe.id, action="mark_safe", version=safe.version)
    moderation_actions.act(moderator, protect.id, action="reach_out", version=protect.version)
    review.request_check_in(member)  # no decision, no text: not a training row
    out = tmp_path / "feedback.csv"
    result = app.test_cli_runner().invoke(args=["moderation", "export-feedback", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["text", "label"]
    assert sorted(rows[1:]) == sorted(
        [[f"Lyrics I love\n\n{CRISIS_TEXT}", "none"], [f"Heavy week\n\n{CONCERN_TEXT}", "concern"]]
    )
    assert "Wrote 2 rows" in result.output


def test_export_feedback_leaves_out_people_who_did_not_opt_in(
    app: Flask, tmp_path: Path, member: User, moderator: User, make_user
) -> None:
    other = make_user("quiet_one")
    privacy.set_training_opt_in(member, True)
    mine = item_for(start_thread(member, CRISIS_TEXT, title="Lyrics I love"))
    theirs = item_for(start_thread(other, CRISIS_TEXT, title="Not for training"))
    moderation_actions.act(moderator, mine.id, action="mark_safe", version=mine.version)
    moderation_actions.act(moderator, theirs.id, action="mark_safe", version=theirs.version)
    out = tmp_path / "feedback.csv"
    result = app.test_cli_runner().invoke(args=["moderation", "export-feedback", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "Lyrics I love" in text
    assert "Not for training" not in text


def test_a_thread_page_shows_the_guides_of_the_opening_posts_latest_screening(app: Flask, member: User) -> None:
    """A member's page reads them with the rest of its reads, a guest's on their own: both show what the
    board page's lookup finds, and an edit that is screened again changes them."""
    thread = posting.get_thread(start_thread(member, CALM_TEXT, title="Her recipe books").thread_id)
    reader = app.test_client()
    login(reader, member.username)

    def shown(client: FlaskClient) -> set[str]:
        page = client.get(f"/t/{thread.id}").get_data(as_text=True)
        section = page.split("Guides for this thread", 1)[1].split("</aside>", 1)[0]
        return set(re.findall(r'href="/guides/([a-z0-9-]+)"', section))

    def expected() -> set[str]:
        return {g.slug for g in thread_guides([thread])[thread.id]}

    before = expected()
    assert "grief-processing" in before and shown(reader) == before == shown(app.test_client())
    opening = db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.number == 1))
    posting.edit_post(member, opening, body="Starting a new job next week and I feel lost in the new role.")
    after = expected()
    assert after != before and shown(reader) == after == shown(app.test_client())


# --- flagged chat messages ---------------------------------------------------------------------------


def _chat_item(member: User, *, before: list[tuple[User, str]]) -> tuple[ReviewItem, Any]:
    from forum.services import chat

    chat.ensure_board_rooms()
    room = chat.board_rooms()[0]
    for n, (author, words) in enumerate(before):
        chat.send_message(author, room, body=words, client_id=f"before-{n}")
    message = chat.send_message(member, room, body=CRISIS_TEXT, client_id="crisis").message
    item = db.session.scalar(
        select(ReviewItem).where(ReviewItem.target_type == "chat_message", ReviewItem.target_id == message.id)
    )
    assert item is not None, "a crisis chat message is queued"
    return item, message


def test_a_flagged_chat_message_shows_its_words_its_room_and_what_came_before(
    client: FlaskClient, member: User, moderator: User, make_user: Any
) -> None:
    friend = make_user("river_stone")
    item, message = _chat_item(member, before=[(friend, "How was today, sam?"), (member, "Not good, honestly.")])
    login(client, "mod_maya")
    html = client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    assert f"Chat message in “{message.room.title}”" in html
    assert f'href="/chat/{message.room.key}#m{message.id}"' in html  # opens the room at the message
    assert '>kill myself<span class="visually-hidden"> (matched: ' in html, "the words, the matched phrase marked"
    context = html[html.index('data-testid="chat-context"') : html.index('data-testid="screened-text"')]
    assert context.index("How was today, sam?") < context.index("Not good, honestly.")
    queue = client.get("/moderation/").get_data(as_text=True)
    assert f"Chat message in “{message.room.title}”" in queue and "I have the pills saved up" in queue


def test_a_chat_message_its_author_took_back_shows_no_words(client: FlaskClient, member: User, moderator: User) -> None:
    from forum.services import chat

    item, message = _chat_item(member, before=[])
    chat.delete_message(member, message)
    login(client, "mod_maya")
    html = client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    assert "Its author took it back" in html
    assert "pills saved up" not in html


def test_a_chat_message_its_author_takes_back_leaves_its_verdict_but_no_quoted_phrase(
    client: FlaskClient, member: User, moderator: User
) -> None:
    from forum.models import ScreeningRecord
    from forum.services import chat

    chat.ensure_board_rooms()
    room = chat.get_room("board-introductions")
    sent = chat.send_message(member, room, body="Tonight I'm going to hang myself, I've got the rope.", client_id="r1")
    chat.delete_message(member, sent.message)

    record = db.session.scalars(select(ScreeningRecord).where(ScreeningRecord.target_id == sent.message.id)).one()
    assert record.level == "crisis" and not any("phrase" in signal for signal in record.signals)
    item = db.session.scalars(select(ReviewItem).where(ReviewItem.target_id == sent.message.id)).one()
    login(client, moderator.username)
    page = client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    assert "Its author took it back" in page and "rope" not in page and "hang myself" not in page


def test_a_deleted_posts_item_says_so_and_offers_no_hide(client: FlaskClient, member: User, moderator: User) -> None:
    post = start_thread(member, CRISIS_TEXT)
    posting.delete_post(member, post)
    login(client, moderator.username)
    page = client.get(f"/moderation/items/{item_for(post).id}").get_data(as_text=True)
    assert "Its author deleted it" in page and 'value="hide"' not in page


def test_a_reply_that_brings_the_support_panel_lands_on_the_panel_not_on_the_post(
    client: FlaskClient, member: User, make_user: Any
) -> None:
    post = start_thread(make_user("river"), CALM_TEXT)
    login(client, "sam")
    calm = client.post(f"/t/{post.thread_id}/reply", data={"body": "Thanks for sharing this, the walk sounds lovely."})
    assert "#p" in calm.headers["Location"]
    crisis = client.post(f"/t/{post.thread_id}/reply", data={"body": CRISIS_TEXT})
    assert crisis.status_code == 302 and crisis.headers["Location"].endswith("#support")
    page = client.get(crisis.headers["Location"]).get_data(as_text=True)
    assert '<section id="support" tabindex="-1"' in page and 'role="alert"' not in page.split('id="support"')[1][:200]


def test_an_item_about_an_anonymous_post_does_not_name_its_writer_but_still_reaches_them(
    client: FlaskClient, member: User, moderator: User
) -> None:
    """Seeing who wrote an anonymous post is a reveal, with a reason, in the audit log: the queue, the item and the
    API say "the anonymous author", and a reach-out still arrives in the writer's messages."""
    thread = posting.create_thread(member, posting.get_board("grief-and-loss"), title="Tonight", body="Hi.").thread
    post = posting.create_reply(member, thread, body=CRISIS_TEXT, anonymous=True).post
    item = item_for(post)
    login(client, moderator.username)
    page = client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    queue = client.get("/moderation/").get_data(as_text=True)
    for html in (page, queue):
        assert "About the anonymous author" in html or "the anonymous author" in html
        assert member.username not in html
    assert f'href="/p/{post.id}/reveal"' in page
    state = client.get(f"/api/v1/moderation/items/{item.id}").json
    assert state["subject"] is None and state["subject_anonymous"] is True
    moderation_actions.act(moderator, item.id, action="reach_out", note="Thinking of you.", version=item.version)
    assert "Thinking of you." in moderator_messages.inbox(member)[0].body_html
