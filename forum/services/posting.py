"""The one write path for threads and replies: validate, render, screen, persist, then tell people.

Forms, the JSON API and anything else that writes a post call these functions with the acting user.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, case, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from forum import limits, permissions
from forum.extensions import db
from forum.models import Board, Post, PostRevision, ScreeningRecord, Thread, User, utcnow
from forum.rendering import render_markdown
from forum.services import idempotency, notifications, review, screening
from forum.services.errors import Conflict, NotFound, invalid
from forum.services.screening import ScreenResult
from forum.services.transaction import GroupCommit, in_write_transaction, write_transaction
from forum.services.validation import clean_single_line, clean_text
from forum.statements import prebuilt

AUTO_CONTENT_NOTE = "This post may talk about suicide or self-harm."
_RISK_RANK = {"none": 0, "concern": 1, "unknown": 2, "crisis": 3}


@dataclass(frozen=True)
class Draft:
    """A validated, rendered, screened piece of writing, ready to store."""

    body_md: str
    body_html: str
    content_note: str | None
    screen: ScreenResult


@dataclass(frozen=True)
class _Written:
    """What the screening record and the review queue need of a stored post."""

    post_id: int
    author_id: int | None
    body_md: str
    thread_id: int
    title: str


@dataclass
class PostOutcome:
    post: Post
    thread: Thread
    screen: ScreenResult
    created: bool


# --- preparing ----------------------------------------------------------------------------------


def prepare(body: object, content_note: object = None, *, screen_also: str = "") -> Draft:
    """Everything CPU-bound happens here, before the write lock is taken."""
    body_md = clean_text("body", body, max_len=limits.BODY_MAX)
    note = clean_single_line("content_note", content_note, max_len=limits.CONTENT_NOTE_MAX, required=False) or None
    body_html = render_markdown(body_md)
    text_to_screen = f"{screen_also}\n\n{body_md}" if screen_also else body_md
    return Draft(body_md=body_md, body_html=body_html, content_note=note, screen=screening.screen_text(text_to_screen))


def _clean_title(title: object) -> str:
    return clean_single_line("title", title, min_len=limits.TITLE_MIN, max_len=limits.TITLE_MAX)


def _visibility_for(result: ScreenResult) -> str:
    if result.is_urgent and current_app.config["CRISIS_POLICY"] == "hold":
        return "held"
    return "visible"


def _content_note_for(draft: Draft) -> str | None:
    # A crisis post stays readable but collapsed, so nobody scrolls into it unprepared.
    if draft.content_note is None and draft.screen.level == "crisis":
        return AUTO_CONTENT_NOTE
    return draft.content_note


# --- creating -----------------------------------------------------------------------------------


def get_board(slug: str) -> Board:
    board = db.session.scalar(select(Board).where(Board.slug == slug))
    if board is None:
        raise NotFound("There is no board with that name.")
    return board


def get_thread(thread_id: int) -> Thread:
    thread = db.session.scalar(_THREAD_BY_ID, {"thread_id": thread_id})
    if thread is None:
        raise NotFound("That thread doesn't exist or was removed.")
    return thread


def get_post(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        raise NotFound("That post doesn't exist.")
    return post


def create_thread(
    actor: Any,
    board: Board,
    *,
    title: object,
    body: object,
    content_note: object = None,
    anonymous: bool = False,
    idempotency_key: object = None,
) -> PostOutcome:
    author = permissions.ensure_can_create_thread(actor, board)
    clean_title = _clean_title(title)
    key = idempotency.clean_key(idempotency_key)
    _check_anonymity(author, board, anonymous)
    existing = _existing_post(author, key, Replay(board_id=board.id, title=clean_title, body=body))
    if existing is not None:
        return existing
    draft = prepare(body, content_note, screen_also=clean_title)
    # Plain ids and values only: the write may run in another request's batch and session (see _write).
    board_id, author_id = board.id, author.id

    def write(session: Session) -> int:
        thread = Thread(board_id=board_id, author_id=author_id, title=clean_title, is_anonymous=anonymous)
        session.add(thread)
        session.flush()
        post = _insert_opening_post(session, author_id, thread, draft, key, anonymous=anonymous)
        _touch_board(session, board_id, post.created_at, new_threads=1)
        _announce(post.id)
        return post.id

    return _write(write, author, key, draft)


def create_reply(
    actor: Any,
    thread: Thread,
    *,
    body: object,
    content_note: object = None,
    anonymous: bool = False,
    idempotency_key: object = None,
    reply_to_id: int | None = None,
) -> PostOutcome:
    author = permissions.ensure_can_reply(actor, thread)
    key = idempotency.clean_key(idempotency_key)
    if anonymous:  # the board is loaded only to ask whether it allows anonymity
        _check_anonymity(author, thread.board, anonymous)
    _check_reply_to(author, thread, reply_to_id)
    existing = _existing_post(author, key, Replay(thread_id=thread.id, body=body))
    if existing is not None:
        return existing
    draft = prepare(body, content_note)
    # Plain ids and values only: the write may run in another request's batch and session (see _write).
    thread_id, author_id = thread.id, author.id

    def write(session: Session) -> int:
        return _write_reply(session, thread_id, author_id, draft, key, anonymous=anonymous, reply_to_id=reply_to_id)

    return _write(write, author, key, draft)


# The reply's statements, built once: building them and their cache keys on every call was a large share
# of the work done under SQLite's write lock. Pure Core: no unit of work for rows this request never reads.
_threads, _posts, _boards = Thread.__table__, Post.__table__, Board.__table__
_THREAD_RANK = case(_RISK_RANK, value=_threads.c.risk_level)
# Counting in SQL takes the row's lock (PostgreSQL) and reads the new count back in the same statement, so
# concurrent replies never share a number or lose a count; the thread's risk only ever rises.
_BUMP_THREAD = prebuilt(
    update(_threads)
    .where(_threads.c.id == bindparam("thread_id"))
    .values(
        post_count=_threads.c.post_count + 1,
        last_activity_at=bindparam("now", type_=_threads.c.last_activity_at.type),
        risk_level=case(
            (bindparam("rank") > _THREAD_RANK, bindparam("level", type_=_threads.c.risk_level.type)),
            else_=_threads.c.risk_level,
        ),
    )
    .returning(_threads.c.post_count, _threads.c.board_id, _threads.c.title)
)
_INSERT_POST = insert(_posts)
# One UPDATE that counts in SQL: no SELECT of the board while the write lock is held, and no lost count when
# two writers touch the same board.
_TOUCH_BOARD = prebuilt(
    update(_boards)
    .where(_boards.c.id == bindparam("board_id"))
    .values(
        post_count=_boards.c.post_count + 1,
        thread_count=_boards.c.thread_count + bindparam("new_threads"),
        last_activity_at=bindparam("now", type_=_boards.c.last_activity_at.type),
    )
)
_THREAD_BY_ID = prebuilt(select(Thread).where(Thread.id == bindparam("thread_id")))
_POST_ID_BY_KEY = prebuilt(
    select(_posts.c.id).where(
        _posts.c.author_id == bindparam("author_id"), _posts.c.idempotency_key == bindparam("key")
    )
)
# The new post as the answer shows it, with its thread and author in one read. populate_existing: the
# thread may be in the session from before the write, with the old count.
_POST_FOR_ANSWER = prebuilt(
    select(Post)
    .options(joinedload(Post.thread), joinedload(Post.author))
    .where(Post.id == bindparam("post_id"))
    .execution_options(populate_existing=True)
)


def _write_reply(
    session: Session,
    thread_id: int,
    author_id: int,
    draft: Draft,
    key: str | None,
    *,
    anonymous: bool,
    reply_to_id: int | None,
) -> int:
    session.flush()  # a caller's pending rows go first, as the ORM's own flush would order them
    connection = session.connection()
    now = utcnow()
    level = draft.screen.level
    bumped = connection.execute(
        _BUMP_THREAD, {"thread_id": thread_id, "now": now, "rank": _RISK_RANK[level], "level": level}
    ).one()
    row = _post_row(thread_id, author_id, bumped.post_count, draft, key, anonymous, reply_to_id, now)
    post_id: int = connection.execute(_INSERT_POST, row).inserted_primary_key[0]
    written = _Written(post_id, author_id, draft.body_md, thread_id, bumped.title)
    _screen_and_queue(session, written, draft.screen)
    _touch_board(session, bumped.board_id, now)
    _announce(post_id)
    return post_id


def _post_row(
    thread_id: int,
    author_id: int,
    number: int,
    draft: Draft,
    key: str | None,
    anonymous: bool,
    reply_to_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    """The columns a new post's row gets, for the reply's Core insert and the opening post's ORM object."""
    return {
        "thread_id": thread_id,
        "author_id": author_id,
        "number": number,
        "body_md": draft.body_md,
        "body_html": draft.body_html,
        "content_note": _content_note_for(draft),
        "is_anonymous": anonymous,
        "risk_level": draft.screen.level,
        "visibility": _visibility_for(draft.screen),
        "idempotency_key": key,
        "reply_to_id": reply_to_id,
        "created_at": now,
    }


def _write(write: Callable[[Session], int], author: User, key: str | None, draft: Draft) -> PostOutcome:
    """Store a new post through the app's group commit: posts written at the same moment share one
    transaction and one fsync (each in its own savepoint), so the write lock is taken once per batch,
    not once per post. Returns only once the post is durable."""
    try:
        post_id = _post_writes().run(write)
    except IntegrityError as exc:
        _fresh_snapshot()
        return _replayed_or_raise(author, key, exc)
    _fresh_snapshot()
    post = db.session.scalar(_POST_FOR_ANSWER, {"post_id": post_id})
    assert post is not None
    return PostOutcome(post=post, thread=post.thread, screen=draft.screen, created=True)


def _post_writes() -> GroupCommit:
    writes: GroupCommit = current_app.extensions.setdefault("hearth.post_writes", GroupCommit())
    return writes


def _fresh_snapshot() -> None:
    # The batch may have committed in another request's session: this one's read transaction (SQLite
    # keeps a snapshot from before the write) must end before it can see the new post. Inside a caller's
    # own write transaction the post is already in view, and ending it would undo that caller's work.
    if not in_write_transaction():
        db.session.rollback()


def _check_reply_to(author: User, thread: Thread, reply_to_id: object) -> None:
    # A dangling or foreign id would otherwise reach the foreign key and come back as a server error.
    if reply_to_id is None:
        return
    message = "You can only reply to a post in this thread."
    if not isinstance(reply_to_id, int) or isinstance(reply_to_id, bool) or not 0 < reply_to_id < 2**31:
        raise invalid("reply_to_id", message)
    target = db.session.get(Post, reply_to_id)
    if target is None or target.thread_id != thread.id or not permissions.can_answer_post(author, target):
        raise invalid("reply_to_id", message)


def _check_anonymity(author: User, board: Board, anonymous: bool) -> None:
    if anonymous and not permissions.can_use_anonymity(author, board):
        raise invalid("anonymous", "This board doesn't allow anonymous posts.")


def _insert_opening_post(
    session: Session, author_id: int, thread: Thread, draft: Draft, key: str | None, *, anonymous: bool
) -> Post:
    """A new thread's first post, through the ORM: the thread itself was only just added to the session."""
    now = utcnow()
    thread.post_count = 1
    thread.last_activity_at = now
    post = Post(**_post_row(thread.id, author_id, 1, draft, key, anonymous, None, now))
    session.add(post)
    session.flush()
    _raise_thread_risk(thread, draft.screen.level, post.visibility, is_first=True)
    _screen_and_queue(session, _Written(post.id, author_id, post.body_md, thread.id, thread.title), draft.screen)
    return post


def _raise_thread_risk(thread: Thread, level: str, visibility: str, *, is_first: bool) -> None:
    if _RISK_RANK[level] > _RISK_RANK[thread.risk_level]:
        thread.risk_level = level
    if is_first:
        thread.visibility = visibility


def _screen_and_queue(session: Session, post: _Written, result: ScreenResult) -> None:
    if not result.needs_review:
        # The common case: only the screening record, as one Core insert.
        screening.insert_record(session.connection(), "post", post.post_id, result)
        return
    record = screening.record(session, "post", post.post_id, result)
    review.queue_screening(
        session,
        target_type="post",
        target_id=post.post_id,
        subject_user_id=post.author_id,
        result=result,
        screening=record,
        excerpt=post.body_md,
        where={"kind": "thread", "thread_id": post.thread_id, "post_id": post.post_id, "title": post.title},
    )


def _touch_board(session: Session, board_id: int, now: datetime, *, new_threads: int = 0) -> None:
    # The board object, if loaded, is expired at commit like everything else: no need to sync it here.
    session.connection().execute(_TOUCH_BOARD, {"board_id": board_id, "now": now, "new_threads": new_threads})


def _announce(post_id: int) -> None:
    """Tell subscribers (notifications) inside this transaction: the post and what it causes commit together."""
    from forum.services import events

    events.post_created(post_id)


# --- idempotency --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """What a submit asks for, to check a replayed key against: a thread on a board, or a reply in a thread."""

    body: object
    board_id: int | None = None
    title: str | None = None
    thread_id: int | None = None

    def differs_from(self, post: Post) -> bool:
        """True when the key's post is not this request's: another place, or (unless edited since) other words."""
        thread = post.thread
        if self.thread_id is not None and (thread.id != self.thread_id or post.number == 1):
            return True
        if self.board_id is not None and (thread.board_id != self.board_id or post.number != 1):
            return True
        if self.title is not None and post.edited_at is None and thread.title != self.title:
            return True
        if not isinstance(self.body, str):
            return True
        # Compared as stored: validation.clean_text's line breaks, normal form and trimming.
        body = unicodedata.normalize("NFC", self.body.replace("\r\n", "\n")).strip()
        return post.edited_at is None and post.body_md != body


def _existing_post(author: User, key: str | None, replay: Replay | None = None) -> PostOutcome | None:
    """A double submit with the same key gets the post the first one made, not a second. The same key
    with a different post is a client's mistake, refused (409) rather than answered with the wrong post."""
    if key is None:
        return None
    # The id alone: almost every key is new, and a miss then costs no entity loading.
    post_id = db.session.scalar(_POST_ID_BY_KEY, {"author_id": author.id, "key": key})
    if post_id is None:
        return None
    post = get_post(post_id)
    if replay is not None and replay.differs_from(post):
        message = "This idempotency key was already used for a different post. Use a new key for a new post."
        raise Conflict(message, fields={"idempotency_key": [message]})
    return PostOutcome(post=post, thread=post.thread, screen=_stored_screen(post), created=False)


def _replayed_or_raise(author: User, key: str | None, error: IntegrityError) -> PostOutcome:
    # Two requests with one key raced past the lookup; the unique index let one through.
    existing = _existing_post(author, key)
    if existing is None:
        raise error
    return existing


def _stored_screen(post: Post) -> ScreenResult:
    row = db.session.scalar(
        select(ScreeningRecord)
        .where(ScreeningRecord.target_type == "post", ScreeningRecord.target_id == post.id)
        .order_by(ScreeningRecord.id.desc())
        .limit(1)
    )
    return screening.result_from_record(row)


# --- editing and deleting -----------------------------------------------------------------------


def edit_post(actor: Any, post: Post, *, body: object, content_note: object = None) -> PostOutcome:
    editor = permissions.ensure_can_edit_post(actor, post)
    draft = prepare(body, content_note)
    with write_transaction() as session:
        session.add(
            PostRevision(
                post_id=post.id,
                editor_id=editor.id,
                body_md=post.body_md,
                body_html=post.body_html,
                content_note=post.content_note,
            )
        )
        post.body_md = draft.body_md
        post.body_html = draft.body_html
        post.content_note = _content_note_for(draft)
        post.edited_at = utcnow()
        if _RISK_RANK[draft.screen.level] > _RISK_RANK[post.risk_level]:
            post.risk_level = draft.screen.level
        thread = post.thread
        _raise_thread_risk(thread, draft.screen.level, thread.visibility, is_first=False)
        written = _Written(post.id, post.author_id, post.body_md, thread.id, thread.title)
        _screen_and_queue(session, written, draft.screen)
    return PostOutcome(post=post, thread=post.thread, screen=draft.screen, created=False)


def delete_post(actor: Any, post: Post) -> Post:
    permissions.ensure_can_delete_post(actor, post)
    with write_transaction() as session:
        post.deleted_at = utcnow()
        notifications.forget_post(session, post.id)
        if post.number == 1 and not others_replied(session, post.thread_id, post.author_id):
            # Deleting the opening post takes the thread with it, unless others have replied: their posts
            # are theirs, and stay readable under the deleted opening post.
            post.thread.deleted_at = post.deleted_at
    return post


def others_replied(session: Session, thread_id: int, author_id: int | None) -> bool:
    """Whether anyone other than `author_id` has a post in the thread that is still there."""
    found = session.scalar(
        select(Post.id)
        .where(Post.thread_id == thread_id, Post.number > 1, Post.deleted_at.is_(None))
        .where(or_(Post.author_id.is_(None), Post.author_id != author_id) if author_id is not None else true())
        .limit(1)
    )
    return found is not None


def set_pinned(actor: Any, thread: Thread, pinned: bool) -> Thread:
    permissions.ensure_moderator(actor)
    with write_transaction():
        thread.pinned = pinned
    return thread


def set_locked(actor: Any, thread: Thread, locked: bool) -> Thread:
    permissions.ensure_moderator(actor)
    with write_transaction():
        thread.locked = locked
    return thread
