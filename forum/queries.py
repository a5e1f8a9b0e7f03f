"""Read paths for pages and the API: one query each, no per-row lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from forum import permissions
from forum.extensions import db
from forum.models import Board, Post, Thread


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    pages: int
    total: int


def boards() -> list[Board]:
    return list(db.session.scalars(select(Board).order_by(Board.position, Board.id)))


def _visible_threads(viewer: Any) -> Any:
    query = select(Thread).where(Thread.deleted_at.is_(None))
    if permissions.is_moderator(viewer):
        return query
    member = permissions.signed_in(viewer)
    if member is None:
        return query.where(Thread.visibility == "visible")
    own_held = (Thread.visibility == "held") & (Thread.author_id == member.id)
    query = query.where((Thread.visibility == "visible") | own_held)
    hidden = permissions.hidden_author_ids(member)
    if hidden:
        # Blocked and muted people's threads leave the lists; anonymous ones stay, or hiding would unmask them.
        query = query.where(Thread.author_id.is_(None) | Thread.author_id.not_in(hidden) | Thread.is_anonymous)
    return query


def board_threads(viewer: Any, board: Board, page: int, per_page: int) -> Page:
    total = board.thread_count
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    query = (
        _visible_threads(viewer)
        .where(Thread.board_id == board.id)
        .options(joinedload(Thread.author))
        .order_by(Thread.pinned.desc(), Thread.last_activity_at.desc(), Thread.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(items=list(db.session.scalars(query)), page=page, pages=pages, total=total)


def thread_posts(thread: Thread, page: int, per_page: int) -> Page:
    # Post numbers are dense and ordered, so a page is a range on an index, not an OFFSET scan.
    total = thread.post_count
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    first = (page - 1) * per_page + 1
    query = (
        select(Post)
        .where(Post.thread_id == thread.id, Post.number >= first, Post.number < first + per_page)
        .options(joinedload(Post.author))
        .order_by(Post.number)
    )
    posts = list(db.session.scalars(query))
    for post in posts:
        # Every post here belongs to `thread`: say so, instead of a lazy load per post when permissions ask.
        set_committed_value(post, "thread", thread)
    return Page(items=posts, page=page, pages=pages, total=total)


def page_of_post(post: Post, per_page: int) -> int:
    return (post.number - 1) // per_page + 1


def latest_threads(viewer: Any, limit: int = 8) -> list[Thread]:
    query = (
        _visible_threads(viewer)
        .options(joinedload(Thread.board), joinedload(Thread.author))
        .order_by(Thread.last_activity_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
