"""Shared words and small arrangers for the triage tests."""

from __future__ import annotations

from typing import Any

from forum.models import Post, ReviewItem
from forum.services import posting

CRISIS_TEXT = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."
CONCERN_TEXT = "I feel worthless and like a burden to everyone, I just want to disappear for a while."
CALM_TEXT = "My mum died in spring and I keep finding her handwriting in old recipe books."


def start_thread(author: Any, body: str, *, title: str = "Some thoughts today", board: str = "grief-and-loss") -> Post:
    return posting.create_thread(author, posting.get_board(board), title=title, body=body).post


def silence(member: Any, hours: int = 24) -> None:
    """Pause the member's posting, as a moderator's silence does."""
    from datetime import timedelta

    from forum.models import utcnow
    from forum.services.transaction import write_transaction

    with write_transaction():
        member.silenced_until = utcnow() + timedelta(hours=hours)


def item_for(post: Post) -> ReviewItem:
    from sqlalchemy import select

    from forum.extensions import db

    item = db.session.scalar(
        select(ReviewItem).where(ReviewItem.target_type == "post", ReviewItem.target_id == post.id)
    )
    assert item is not None, "expected a review item for the post"
    return item
