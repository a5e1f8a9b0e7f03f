"""Following threads and boards, muting threads, bookmarks, supportive reactions, blocking and muting people."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, cast, delete, func, literal_column, null, select, union_all
from sqlalchemy.orm import Session, joinedload

from forum import permissions, queries
from forum.extensions import db
from forum.guides import Guide, suggested_for_threads
from forum.models import Block, Board, BoardFollow, Bookmark, Post, Reaction, Thread, ThreadWatch, User
from forum.models.community import REACTION_KINDS, THREAD_WATCH_LEVELS
from forum.services import personal_data
from forum.services.errors import invalid
from forum.services.transaction import write_transaction
from forum.statements import prebuilt

BLOCK_KINDS = ("block", "mute")

# --- threads and boards ----------------------------------------------------------------------------


# The reads below run on every thread or board page: built once, they skip building and keying the statement,
# and queries.read runs them without the ORM's object-loading machinery.
_WATCH_LEVEL = prebuilt(
    select(ThreadWatch.level).where(
        ThreadWatch.user_id == bindparam("member"), ThreadWatch.thread_id == bindparam("thread_id")
    )
)
_BOARD_FOLLOW = prebuilt(
    select(BoardFollow.id).where(
        BoardFollow.user_id == bindparam("member"), BoardFollow.board_id == bindparam("board_id")
    )
)


def thread_watch_level(user: Any, thread: Thread) -> str | None:
    member = permissions.signed_in(user)
    if member is None:
        return None
    return queries.read(_WATCH_LEVEL, {"member": member.id, "thread_id": thread.id}).scalar()


def set_thread_watch(actor: Any, thread: Thread, level: str | None) -> str | None:
    """Follow ("follow"), mute ("mute") or go back to the default (None) for one thread."""
    member = permissions.ensure_can_follow(actor, thread)
    if level is not None and level not in THREAD_WATCH_LEVELS:
        raise invalid("level", "Choose follow, mute or neither.")
    with write_transaction() as session:
        row = session.scalar(
            select(ThreadWatch).where(ThreadWatch.user_id == member.id, ThreadWatch.thread_id == thread.id)
        )
        if level is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(ThreadWatch(user_id=member.id, thread_id=thread.id, level=level))
        else:
            row.level = level
    return level


def follows_board(user: Any, board: Board) -> bool:
    member = permissions.signed_in(user)
    if member is None:
        return False
    return queries.read(_BOARD_FOLLOW, {"member": member.id, "board_id": board.id}).first() is not None


def set_board_follow(actor: Any, board: Board, follow: bool) -> bool:
    member = permissions.ensure_signed_in(actor)
    with write_transaction() as session:
        row = session.scalar(
            select(BoardFollow).where(BoardFollow.user_id == member.id, BoardFollow.board_id == board.id)
        )
        if follow and row is None:
            session.add(BoardFollow(user_id=member.id, board_id=board.id))
        elif not follow and row is not None:
            session.delete(row)
    return follow


def followed(user: Any) -> dict[str, list[Any]]:
    member = permissions.ensure_signed_in(user)
    watches = db.session.scalars(
        select(ThreadWatch).where(ThreadWatch.user_id == member.id).order_by(ThreadWatch.id.desc())
    ).all()
    threads = {t.id: t for t in db.session.scalars(select(Thread).where(Thread.id.in_([w.thread_id for w in watches])))}
    boards = db.session.scalars(
        select(Board).join(BoardFollow, BoardFollow.board_id == Board.id).where(BoardFollow.user_id == member.id)
    ).all()
    visible = [
        (threads[w.thread_id], w.level) for w in watches if permissions.can_view_thread(member, threads[w.thread_id])
    ]
    return {
        "threads": [t for t, level in visible if level == "follow"],
        "muted": [t for t, level in visible if level == "mute"],
        "boards": list(boards),
    }


# --- bookmarks -------------------------------------------------------------------------------------


def set_bookmark(actor: Any, post: Post, on: bool) -> bool:
    member = permissions.ensure_can_bookmark(actor, post)
    with write_transaction() as session:
        row = session.scalar(select(Bookmark).where(Bookmark.user_id == member.id, Bookmark.post_id == post.id))
        if on and row is None:
            session.add(Bookmark(user_id=member.id, post_id=post.id))
        elif not on and row is not None:
            session.delete(row)
    return on


def bookmarks(user: Any) -> list[Post]:
    member = permissions.ensure_signed_in(user)
    posts = db.session.scalars(
        select(Post)
        .join(Bookmark, Bookmark.post_id == Post.id)
        .where(Bookmark.user_id == member.id)
        .options(joinedload(Post.thread), joinedload(Post.author))
        .order_by(Bookmark.id.desc())
    ).all()
    hidden = permissions.hidden_author_ids(member)
    return [
        post
        for post in posts
        if permissions.can_view_thread(member, post.thread)
        and permissions.can_view_post_body(member, post)
        and (post.is_anonymous or post.author_id not in hidden)
    ]


# The member's bookmarks among a page's posts (queries.PostPage.bounds).
_PAGE_BOOKMARKS = select(Bookmark.post_id).where(
    Bookmark.user_id == bindparam("member"), Bookmark.post_id.in_(queries.PAGE_POST_IDS)
)


# --- reactions -------------------------------------------------------------------------------------


def set_reaction(actor: Any, post: Post, kind: str, on: bool) -> dict[str, int]:
    """Add or take back one supportive reaction; returns the post's counts per kind."""
    if kind not in REACTION_KINDS:
        raise invalid("kind", "Choose hug, me too, thank you or you're not alone.")
    member = permissions.ensure_can_react(actor, post)
    with write_transaction() as session:
        row = session.scalar(
            select(Reaction).where(Reaction.post_id == post.id, Reaction.user_id == member.id, Reaction.kind == kind)
        )
        if on and row is None:
            session.add(Reaction(post_id=post.id, user_id=member.id, kind=kind))
        elif not on and row is not None:
            session.delete(row)
    return reaction_counts([post.id]).get(post.id, {})


def reaction_counts(post_ids: list[int]) -> dict[int, dict[str, int]]:
    """Counts per kind for each post, in one query. Never summed: there is no score here."""
    return reactions_on(None, post_ids)[0]


def _reactions(which_posts: Any) -> Any:
    """(post id, kind, count, whether one of them is the viewer's) for these posts."""
    return (
        select(
            Reaction.post_id,
            Reaction.kind,
            func.count(Reaction.id),
            func.max(case((Reaction.user_id == bindparam("viewer"), 1), else_=0)),
        )
        .where(which_posts)
        .group_by(Reaction.post_id, Reaction.kind)
    )


_REACTIONS_ON = prebuilt(_reactions(Reaction.post_id.in_(bindparam("post_ids", expanding=True))))
_PAGE_REACTIONS = _reactions(Reaction.post_id.in_(queries.PAGE_POST_IDS))  # a page's (queries.PostPage.bounds)


def reactions_on(user: Any, post_ids: list[int]) -> tuple[dict[int, dict[str, int]], set[tuple[int, str]]]:
    """Counts per kind for each post, and which (post, kind) pairs are the viewer's own, in one query."""
    if not post_ids:
        return {}, set()
    member = permissions.signed_in(user)
    viewer_id = member.id if member is not None else -1  # -1: nobody's reaction is an anonymous viewer's
    return _tally(queries.read(_REACTIONS_ON, {"viewer": viewer_id, "post_ids": post_ids}))


def _tally(rows: Any) -> tuple[dict[int, dict[str, int]], set[tuple[int, str]]]:
    """_REACTIONS_ON's rows as counts per post and kind, and the viewer's own (post, kind) pairs."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    mine: set[tuple[int, str]] = set()
    for post_id, kind, count, is_mine in rows:
        counts[post_id][kind] = int(count)
        if is_mine:
            mine.add((post_id, kind))
    return dict(counts), mine


@dataclass(frozen=True)
class PageReads:
    """What a thread page shows that depends on who is reading it, besides the posts themselves."""

    reactions: dict[int, dict[str, int]]  # post id -> kind -> count
    mine: set[tuple[int, str]]  # the viewer's own reactions
    bookmarks: set[int]  # the viewer's bookmarks among the page's posts
    watch_level: str | None  # thread_watch_level
    guides: list[Guide]  # suggested by the screening of the thread's opening post


def _arm(tag: int, statement: Any, *columns: int | None) -> Any:
    """One part of _PAGE_READS: a tag, then the statement's columns at these places (None, or left out at the
    end: an empty cell), so that each of the five cells has one type in every part."""
    sub = statement.subquery()
    types = (Integer, Integer, String, Integer, String)
    columns += (None,) * (len(types) - len(columns))
    cells = (cast(null(), types[at]) if column is None else sub.c[column] for at, column in enumerate(columns))
    return select(literal_column(str(tag)).label("tag"), *(cell.label(f"cell{at}") for at, cell in enumerate(cells)))


_RELATIONS_ROW, _REACTION_ROW, _BOOKMARK_ROW, _WATCH_ROW, _UNREAD_ROW, _GUIDES_ROW = range(6)
# The reads of a member's thread page in one round trip: their blocks and mutes (permissions.RELATIONS), the
# page's reactions, their bookmarks among its posts, their watch level, the menu's unread counts and the
# screenings that suggest the thread's guides. Each row is (tag, int, int, str, int, str).
_PAGE_READS = prebuilt(
    union_all(
        _arm(_RELATIONS_ROW, permissions.RELATIONS, 0, 1, 2),
        _arm(_REACTION_ROW, _PAGE_REACTIONS, 0, 2, 1, 3),
        _arm(_BOOKMARK_ROW, _PAGE_BOOKMARKS, 0),
        _arm(_WATCH_ROW, _WATCH_LEVEL, None, None, 0),
        _arm(_UNREAD_ROW, queries.UNREAD, 0, 1),
        _arm(_GUIDES_ROW, queries.THREAD_OPENING_SCREENINGS, 0, 1, 2, None, 3),
    )
)


def page_reads(user: Any, thread: Thread, page: queries.PostPage) -> PageReads:
    """reactions_on, the viewer's bookmarks among the page's posts, thread_watch_level and the thread's
    suggested guides for a thread page; for a member in one query, which also answers
    permissions.hidden_author_ids and queries.unread for the rest of the request."""
    member = permissions.signed_in(user)
    if member is None:
        return PageReads(
            *_tally(queries.read(_PAGE_REACTIONS, {"viewer": -1, **page.bounds()})),
            set(),
            None,
            _thread_guides(queries.read(queries.THREAD_OPENING_SCREENINGS, {"thread_id": thread.id}), thread),
        )
    parts: dict[int, list[Any]] = defaultdict(list)
    for tag, *cells in queries.read(_PAGE_READS, {"member": member.id, "viewer": member.id, **page.bounds()}):
        parts[tag].append(cells)
    permissions.remember_relations(member, [(a, b, kind) for a, b, kind, *_ in parts[_RELATIONS_ROW]])
    queries.remember_unread(member, *parts[_UNREAD_ROW][0][:2])
    watch = parts[_WATCH_ROW]
    return PageReads(
        *_tally((post_id, kind, count, is_mine) for post_id, count, kind, is_mine, _ in parts[_REACTION_ROW]),
        {post_id for post_id, *_ in parts[_BOOKMARK_ROW]},
        watch[0][2] if watch else None,
        _thread_guides(
            ((thread_id, screening, area, slugs) for thread_id, screening, area, _, slugs in parts[_GUIDES_ROW]), thread
        ),
    )


def _thread_guides(screenings: Any, thread: Thread) -> list[Guide]:
    return suggested_for_threads(screenings).get(thread.id, [])


# --- blocking and muting people ------------------------------------------------------------------


def relation(user: Any, other: User) -> str | None:
    """ "block" or "mute" when this person blocked or muted the other, else None."""
    member = permissions.signed_in(user)
    if member is None:
        return None
    return db.session.scalar(select(Block.kind).where(Block.blocker_id == member.id, Block.blocked_id == other.id))


def set_block(actor: Any, target: User, kind: str | None) -> str | None:
    """Block ("block": neither sees the other), mute ("mute": I stop seeing them) or undo (None)."""
    if kind is not None and kind not in BLOCK_KINDS:
        raise invalid("kind", "Choose block, mute or neither.")
    member = permissions.ensure_can_block(actor, target) if kind is not None else permissions.ensure_signed_in(actor)
    with write_transaction() as session:
        row = session.scalar(select(Block).where(Block.blocker_id == member.id, Block.blocked_id == target.id))
        if kind is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(Block(blocker_id=member.id, blocked_id=target.id, kind=kind))
        else:
            row.kind = kind
        if kind is not None:
            _forget_notifications(session, member.id, target.id, both_ways=kind == "block")
    permissions.forget_cached_relations()
    return kind


def _forget_notifications(session: Session, member_id: int, target_id: int, *, both_ways: bool) -> None:
    from forum.services import notifications

    notifications.forget_between(session, member_id, target_id)
    if both_ways:
        notifications.forget_between(session, target_id, member_id)


def blocked_people(user: Any) -> list[tuple[User, str]]:
    member = permissions.ensure_signed_in(user)
    rows = db.session.execute(
        select(User, Block.kind)
        .join(Block, Block.blocked_id == User.id)
        .where(Block.blocker_id == member.id)
        .order_by(User.username_key)
    )
    return [(person, kind) for person, kind in rows]


# --- personal data ---------------------------------------------------------------------------------


def _export_follows(user: User) -> dict[str, Any]:
    watches = db.session.execute(
        select(ThreadWatch.thread_id, ThreadWatch.level).where(ThreadWatch.user_id == user.id)
    ).all()
    boards = db.session.scalars(
        select(Board.slug).join(BoardFollow, BoardFollow.board_id == Board.id).where(BoardFollow.user_id == user.id)
    ).all()
    return {
        "threads": [{"thread_id": tid, "level": level} for tid, level in watches],
        "boards": list(boards),
    }


def _erase_follows(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(ThreadWatch).where(ThreadWatch.user_id == user.id))
    session.execute(delete(BoardFollow).where(BoardFollow.user_id == user.id))


def _export_bookmarks(user: User) -> dict[str, Any]:
    rows = db.session.execute(
        select(Bookmark.post_id, Bookmark.created_at).where(Bookmark.user_id == user.id).order_by(Bookmark.id)
    ).all()
    return {"bookmarks": [{"post_id": post_id, "created_at": at.isoformat()} for post_id, at in rows]}


def _erase_bookmarks(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(Bookmark).where(Bookmark.user_id == user.id))


def _export_reactions(user: User) -> dict[str, Any]:
    rows = db.session.execute(
        select(Reaction.post_id, Reaction.kind, Reaction.created_at).where(Reaction.user_id == user.id)
    ).all()
    return {"reactions": [{"post_id": pid, "kind": kind, "created_at": at.isoformat()} for pid, kind, at in rows]}


def _erase_reactions(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(Reaction).where(Reaction.user_id == user.id))


def _export_blocks(user: User) -> dict[str, Any]:
    # Only the person's own choices: who blocked them is not theirs to know.
    rows = db.session.execute(
        select(User.username, Block.kind).join(Block, Block.blocked_id == User.id).where(Block.blocker_id == user.id)
    ).all()
    return {"blocks": [{"username": name, "kind": kind} for name, kind in rows]}


def _erase_blocks(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(Block).where((Block.blocker_id == user.id) | (Block.blocked_id == user.id)))


personal_data.register("follows", export=_export_follows, erase=_erase_follows)
personal_data.register("bookmarks", export=_export_bookmarks, erase=_erase_bookmarks)
personal_data.register("reactions", export=_export_reactions, erase=_erase_reactions)
personal_data.register("blocks", export=_export_blocks, erase=_erase_blocks)
