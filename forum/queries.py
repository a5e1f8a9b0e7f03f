"""Read paths for pages and the API: one query each, no per-row lookups.

The statements the hot pages run on every request are built once, at import, with bind parameters:
SQLAlchemy then skips building the statement and working out its cache key on each call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import String, bindparam, cast, func, inspect, select
from sqlalchemy.orm import aliased, defer, joinedload, load_only
from sqlalchemy.orm.attributes import set_committed_value

from forum import permissions
from forum.extensions import db
from forum.models import Board, ModeratorMessage, Notification, Post, ScreeningRecord, Thread, User
from forum.services.errors import NotFound
from forum.statements import prebuilt


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class PostPage(Page):
    """A page of a thread's posts: those numbered first <= number < stop (the parameters of ON_PAGE)."""

    thread_id: int
    first: int
    stop: int

    def bounds(self) -> dict[str, int]:
        return {"thread_id": self.thread_id, "first": self.first, "stop": self.stop}


def boards() -> list[Board]:
    return list(db.session.scalars(select(Board).order_by(Board.position, Board.id)))


_BOARD_BY_SLUG = prebuilt(select(Board).where(Board.slug == bindparam("slug")))


def board_by_slug(slug: str) -> Board:
    board = db.session.scalars(_BOARD_BY_SLUG, {"slug": slug}).first()
    if board is None:
        raise NotFound("There is no board with that name.")
    return board


# Which threads the lists show, per kind of viewer: moderators see every thread not deleted; guests the
# visible ones; members also their own held threads, minus those of people they blocked or muted or who
# blocked them (anonymous threads stay listed: hiding them would unmask their author).
_THREAD_FILTERS = {
    "moderator": (Thread.deleted_at.is_(None),),
    "guest": (Thread.deleted_at.is_(None), Thread.visibility == "visible"),
    "member": (
        Thread.deleted_at.is_(None),
        (Thread.visibility == "visible") | ((Thread.visibility == "held") & (Thread.author_id == bindparam("member"))),
        Thread.author_id.is_(None) | Thread.author_id.not_in(bindparam("hidden", expanding=True)) | Thread.is_anonymous,
    ),
}


def _thread_filter(viewer: Any) -> tuple[str, dict[str, Any]]:
    """The key of _THREAD_FILTERS that applies to this viewer, and its parameters."""
    member = permissions.signed_in(viewer)
    if member is None:
        return "guest", {}
    if member.is_moderator:
        return "moderator", {}
    # -1 is nobody's id: NOT IN an empty list is not written the same way on every database.
    return "member", {"member": member.id, "hidden": sorted(permissions.hidden_author_ids(member)) or [-1]}


def _page_bounds(total: int, page: int, per_page: int) -> tuple[int, int]:
    pages = max(1, -(-total // per_page))
    return min(max(page, 1), pages), pages


def _board_page(columns: tuple[Any, ...], filters: tuple[Any, ...]) -> Any:
    return (
        select(*columns)
        .where(*filters, Thread.board_id == bindparam("board_id"))
        .order_by(Thread.pinned.desc(), Thread.last_activity_at.desc(), Thread.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


# A board's threads per kind of viewer: with their authors (the API names them), and as the board page's
# rows, only the columns it lists.
_BOARD_THREADS = {
    kind: _board_page((Thread,), filters).options(joinedload(Thread.author))
    for kind, filters in _THREAD_FILTERS.items()
}
_LISTED = (Thread.id, Thread.title, Thread.pinned, Thread.locked, Thread.post_count, Thread.last_activity_at)
_BOARD_LISTING = {kind: prebuilt(_board_page(_LISTED, filters)) for kind, filters in _THREAD_FILTERS.items()}


def board_threads(viewer: Any, board: Board, page: int, per_page: int) -> Page:
    page, pages = _page_bounds(board.thread_count, page, per_page)
    kind, params = _thread_filter(viewer)
    params.update(board_id=board.id, limit=per_page, offset=(page - 1) * per_page)
    items = list(db.session.scalars(_BOARD_THREADS[kind], params))
    return Page(items=items, page=page, pages=pages, total=board.thread_count)


def board_listing(viewer: Any, board: Board, page: int, per_page: int) -> Page:
    """The threads board_threads gives, as rows of the columns a board page lists (id, title, pinned,
    locked, post_count, last_activity_at): no objects to build for a page that only prints them."""
    page, pages = _page_bounds(board.thread_count, page, per_page)
    kind, params = _thread_filter(viewer)
    params.update(board_id=board.id, limit=per_page, offset=(page - 1) * per_page)
    items = list(read(_BOARD_LISTING[kind], params))
    return Page(items=items, page=page, pages=pages, total=board.thread_count)


def read(statement: Any, params: dict[str, Any]) -> Any:
    """The rows of a column query, as db.session.execute gives them (same connection and transaction, and
    pending changes flushed first), without the ORM's machinery for loading objects, which a query for
    columns does not use: about half the cost of a small query on a page."""
    session = db.session()
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection().execute(statement, params)


def thread_posts(thread: Thread, page: int, per_page: int) -> Page:
    # Post numbers are dense and ordered, so a page is a range on an index, not an OFFSET scan.
    page, pages = _page_bounds(thread.post_count, page, per_page)
    first = (page - 1) * per_page + 1
    query = (
        select(Post)
        .where(Post.thread_id == thread.id, Post.number >= first, Post.number < first + per_page)
        .options(joinedload(Post.author))
        .order_by(Post.number)
    )
    return Page(items=_in_thread(thread, db.session.scalars(query)), page=page, pages=pages, total=thread.post_count)


# The columns the thread page loads, and what post_views keys its cached answers on: everything a
# permission rule could look at. Left out: a post's Markdown source and idempotency key (large, and never
# a rule's input) and people's credentials and profile text (never a rule's input, and not to be kept in
# a cache). Reading one of those later loads it, so nothing can be wrong, only slower.
_POST_LEFT_OUT = ("body_md", "idempotency_key")
_PERSON_LEFT_OUT = ("password_hash", "email", "bio", "bio_html", "pronouns", "username_key")
PAGE_POST_COLUMNS = tuple(c.key for c in inspect(Post).column_attrs if c.key not in _POST_LEFT_OUT)
PAGE_PERSON_COLUMNS = tuple(c.key for c in inspect(User).column_attrs if c.key not in _PERSON_LEFT_OUT)


# The thread, its board and its author (whether the viewer may reply depends on a block between them), as
# three entities of one row rather than joinedload options: the ORM then sets up no eager loaders per call,
# about a fifth of this statement's cost.
_THREAD_WITH_BOARD = prebuilt(
    select(Thread, Board, User)
    .join(Board, Board.id == Thread.board_id)
    .outerjoin(User, User.id == Thread.author_id)
    .where(Thread.id == bindparam("thread_id"))
    .options(load_only(*(getattr(User, name) for name in PAGE_PERSON_COLUMNS)))
)


def thread_with_board(thread_id: int) -> Thread:
    """A thread, its board (the page names it) and its author in one query."""
    row = db.session.execute(_THREAD_WITH_BOARD, {"thread_id": thread_id}).first()
    if row is None:
        raise NotFound("That thread doesn't exist or was removed.")
    thread, board, author = row
    set_committed_value(thread, "board", board)
    set_committed_value(thread, "author", author)
    return thread


_PAGE_POSTS = prebuilt(
    select(Post)
    .where(Post.id.in_(bindparam("ids", expanding=True)))
    .options(
        *(defer(getattr(Post, name)) for name in _POST_LEFT_OUT),
        joinedload(Post.author).load_only(*(getattr(User, name) for name in PAGE_PERSON_COLUMNS)),
    )
    .order_by(Post.number)
)
# The posts of a PostPage. Post numbers are dense and ordered, so a page is a range on the (thread_id,
# number) index. Other statements about a page's posts select them with PAGE_POST_IDS rather than a list
# of their ids: a list is an expanding parameter, whose SQL SQLAlchemy writes out again on every call
# (about 40% of social.page_reads at fifty posts).
ON_PAGE = (Post.thread_id == bindparam("thread_id"), Post.number >= bindparam("first"), Post.number < bindparam("stop"))
PAGE_POST_IDS = select(Post.id).where(*ON_PAGE)

# The same columns as plain rows: a post's PAGE_POST_COLUMNS, then its author's PAGE_PERSON_COLUMNS (all
# None when the author is gone). A page seen before needs nothing more, so no objects are built for it.
_PAGE_POST_ROWS = prebuilt(
    select(
        *(getattr(Post, name) for name in PAGE_POST_COLUMNS),
        *(getattr(User, name) for name in PAGE_PERSON_COLUMNS),
    )
    .outerjoin(User, User.id == Post.author_id)
    .where(*ON_PAGE)
    .order_by(Post.number)
)


def thread_page_rows(thread: Thread, page: int, per_page: int) -> PostPage:
    """A page of the thread page's posts as rows of _PAGE_POST_ROWS, in a prepared statement."""
    page, pages = _page_bounds(thread.post_count, page, per_page)
    first, stop = (page - 1) * per_page + 1, page * per_page + 1
    rows = read(_PAGE_POST_ROWS, {"thread_id": thread.id, "first": first, "stop": stop})
    return PostPage(list(rows), page, pages, thread.post_count, thread.id, first, stop)


def page_posts(thread: Thread, ids: list[int]) -> list[Post]:
    """The posts of thread_page_rows as objects (the permission rules take them), with their authors."""
    return _in_thread(thread, db.session.scalars(_PAGE_POSTS, {"ids": ids}))


def _in_thread(thread: Thread, rows: Any) -> list[Post]:
    posts = list(rows)
    for post in posts:
        # Every post here belongs to `thread`: say so, instead of a lazy load per post when permissions ask.
        set_committed_value(post, "thread", thread)
    return posts


def page_of_post(post: Post, per_page: int) -> int:
    return (post.number - 1) // per_page + 1


_LATEST_THREADS = {
    kind: select(Thread)
    .where(*filters)
    .options(joinedload(Thread.board), joinedload(Thread.author))
    .order_by(Thread.last_activity_at.desc())
    .limit(bindparam("limit"))
    for kind, filters in _THREAD_FILTERS.items()
}


def latest_threads(viewer: Any, limit: int = 8) -> list[Thread]:
    kind, params = _thread_filter(viewer)
    return list(db.session.scalars(_LATEST_THREADS[kind], {**params, "limit": limit}))


@dataclass(frozen=True)
class Unread:
    moderator_messages: int
    notifications: int


# The two badges of the signed-in menu in one round trip. Unread means read_at is null, as in
# services.moderator_messages.unread_count and services.notifications.unread_count.
UNREAD = prebuilt(
    select(
        select(func.count(ModeratorMessage.id))
        .where(ModeratorMessage.recipient_id == bindparam("member"), ModeratorMessage.read_at.is_(None))
        .scalar_subquery(),
        select(func.count(Notification.id))
        .where(Notification.user_id == bindparam("member"), Notification.read_at.is_(None))
        .scalar_subquery(),
    )
)


def unread(viewer: Any) -> Unread:
    member = permissions.signed_in(viewer)
    if member is None:
        return Unread(0, 0)
    known = g.get(_UNREAD_KEY)
    if known is not None and known[0] == member.id:
        return known[1]  # type: ignore[no-any-return]
    messages, notifications = read(UNREAD, {"member": member.id}).one()
    return Unread(int(messages or 0), int(notifications or 0))


_UNREAD_KEY = "hearth_unread"


def remember_unread(member: User, messages: int, notifications: int) -> None:
    """UNREAD's answer for `member`, read along with other things: the menu of this request uses it."""
    setattr(g, _UNREAD_KEY, (member.id, Unread(int(messages or 0), int(notifications or 0))))


# The screenings of threads' opening posts, which suggest the guides shown beside them: rows of (thread id,
# screening id, area, guide slugs as JSON text), in no order: a thread may have several (one per edit) and
# guides.suggested_for_threads keeps the latest by screening id. The opening posts' ids go to the
# screenings as a list (target_id IN ...), so the (target_type, target_id) index finds them with both
# columns; written as a plain join, SQLite without table statistics walked every post screening there is
# (5 ms a page at 30,000 posts, growing with every reply). The slugs come as text so that this can be one
# part of a UNION (social.page_reads).
_OPENING = aliased(Post)


def _opening_screenings(which_threads: Any) -> Any:
    return (
        select(Post.thread_id, ScreeningRecord.id, ScreeningRecord.area, cast(ScreeningRecord.guides, String))
        .join(ScreeningRecord, (ScreeningRecord.target_type == "post") & (ScreeningRecord.target_id == Post.id))
        .where(ScreeningRecord.target_id.in_(select(_OPENING.id).where(which_threads, _OPENING.number == 1)))
    )


OPENING_SCREENINGS = _opening_screenings(_OPENING.thread_id.in_(bindparam("thread_ids", expanding=True)))
# The same for one thread (thread_id): no expanding parameter to write out on each call (see ON_PAGE).
THREAD_OPENING_SCREENINGS = prebuilt(_opening_screenings(_OPENING.thread_id == bindparam("thread_id")))
