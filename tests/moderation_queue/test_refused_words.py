"""Crisis words that are refused (a pause, a lock, a muted chat) still reach the moderators as an urgent
item about the writer; calm words that are refused leave nothing behind."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db
from forum.models import ReviewEvent, ReviewItem, User
from forum.services import chat, posting, privacy, review
from forum.services.chat_errors import Muted
from forum.services.screening import screen_text
from tests.conftest import api_token, bearer, login

from .helpers import CALM_TEXT, CRISIS_TEXT, silence, start_thread


def _items_about(user: User) -> list[ReviewItem]:
    db.session.expire_all()
    query = select(ReviewItem).where(ReviewItem.target_type == "user", ReviewItem.target_id == user.id)
    return list(db.session.scalars(query))


def _refused_reasons(item: ReviewItem) -> list[dict[str, Any]]:
    return [reason for reason in item.reasons if reason["source"] == "refused_words"]


def _refused_crisis_reply(client: FlaskClient, member: User, other: User) -> tuple[Any, int]:
    """A silenced member's crisis reply to someone else's thread, sent from the page: (response, thread id)."""
    post = start_thread(other, CALM_TEXT)
    silence(member)
    login(client, member.username)
    return client.post(f"/t/{post.thread_id}/reply", data={"body": CRISIS_TEXT}), post.thread_id


def test_a_silenced_members_refused_crisis_reply_reaches_the_moderators_as_an_urgent_item(
    client: FlaskClient, member: User, make_user: Any
) -> None:
    refused, thread_id = _refused_crisis_reply(client, member, make_user("river"))
    calm = client.post(f"/t/{thread_id}/reply", data={"body": CALM_TEXT})

    assert calm.status_code == 403
    assert refused.status_code == 403 and 'data-testid="support-panel"' in refused.get_data(as_text=True)
    [item] = _items_about(member)
    assert (item.priority, item.level, item.status) == ("urgent", "crisis", "open")
    [reason] = _refused_reasons(item)  # the calm words are not kept
    assert reason["detail"] == CRISIS_TEXT and reason["kind"].startswith("A moderator has paused your posting until")
    assert (reason["place"], reason["link"]) == (f"/t/{thread_id}/reply", f"/t/{thread_id}")
    assert db.session.scalar(select(ReviewEvent.action).where(ReviewEvent.item_id == item.id)) == "refused_words_kept"


def test_a_refused_crisis_reply_over_the_api_reaches_the_moderators_and_the_item_page_shows_it(
    client: FlaskClient, member: User, moderator: User, make_user: Any
) -> None:
    post = start_thread(make_user("river"), CALM_TEXT)
    posting.set_locked(moderator, post.thread, True)
    token = api_token(client, member.username)

    refused = client.post(f"/api/v1/threads/{post.thread_id}/posts", json={"body": CRISIS_TEXT}, headers=bearer(token))

    assert refused.status_code == 403 and refused.json["error"]["support"]["level"] == "crisis"
    [item] = _items_about(member)
    assert _refused_reasons(item)[0]["detail"] == CRISIS_TEXT
    login(client, moderator.username)
    page = client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    assert "refused words" in page
    assert f'<a href="/t/{post.thread_id}">/api/v1/threads/{post.thread_id}/posts</a>' in page
    assert "I have the pills saved up" in page


def test_a_muted_chat_writers_crisis_words_reach_the_moderators(app: Any, member: User, moderator: User) -> None:
    chat.ensure_board_rooms()
    room = chat.get_room("board-introductions")
    chat.mute(moderator, room, member, minutes=10)

    for n, body in enumerate((CALM_TEXT, CRISIS_TEXT)):
        with pytest.raises(Muted):
            chat.send_message(member, room, body=body, client_id=f"m{n}")

    [item] = _items_about(member)
    [reason] = _refused_reasons(item)  # the calm words are not kept
    assert reason["detail"] == CRISIS_TEXT
    assert reason["kind"] == "A moderator has paused your messages in this room for a while."
    assert (reason["place"], reason["link"]) == ("chat room board-introductions", "/chat/board-introductions")


def test_a_flood_of_refused_crisis_words_adds_at_most_a_few_entries_to_one_item(app: Any, member: User) -> None:
    result = screen_text(CRISIS_TEXT)
    kept = [
        review.keep_refused_crisis_words(member, f"{CRISIS_TEXT} ({n})", result, refusal="rate_limited", place="/x")
        for n in range(review.REFUSED_WORDS_PER_ITEM + 3)
    ]
    assert kept[-1] is None and kept[0] is not None
    [item] = _items_about(member)
    assert len(_refused_reasons(item)) == review.REFUSED_WORDS_PER_ITEM
    assert item.version == review.REFUSED_WORDS_PER_ITEM, "only the kept entries changed the item"


def test_refused_words_kept_for_the_moderators_are_in_the_export_and_go_with_the_account(
    client: FlaskClient, member: User, make_user: Any
) -> None:
    _refused_crisis_reply(client, member, make_user("river"))

    _name, archive = privacy.export_zip(member)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        [path] = [name for name in opened.namelist() if name.endswith("/reports_and_requests.json")]
        sent = json.loads(opened.read(path))["to_the_moderators"]
    assert [(entry["kind"], entry["note"]) for entry in sent] == [
        ("refused words kept for the moderators", CRISIS_TEXT)
    ]

    [item] = _items_about(member)
    privacy.delete_account(member, password="correct horse battery", posts="delete")
    db.session.expire_all()
    kept = db.session.get(ReviewItem, item.id)
    assert kept is not None and kept.status == "resolved"
    assert all("detail" not in reason for reason in kept.reasons)
    notes = db.session.scalars(select(ReviewEvent.note).where(ReviewEvent.item_id == item.id))
    assert not any("pills" in note for note in notes)
