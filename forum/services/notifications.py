"""Notifications: who hears about a new post, a moderator's message or a check-in, and the unread count.

Posting knows nothing about this module: it announces events.post_created(post_id) inside the
transaction that stores the post, the subscriber here writes the notifications in that same
transaction, and each recipient's new unread count is pushed live once the commit succeeded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from forum import permissions
from forum.extensions import db
from forum.models import (
    Block,
    BoardFollow,
    ModeratorMessage,
    Notification,
    NotificationSetting,
    Post,
    Thread,
    ThreadWatch,
    User,
    utcnow,
)
from forum.models.notifications import NOTIFICATION_KINDS
from forum.services import events, personal_data
from forum.services.errors import invalid
from forum.services.transaction import after_commit, write_transaction
from forum.statements import prebuilt

MENTIONS_MAX = 10
PAGE_SIZE = 30
# A stronger reason wins when one post gives a person several: one notification per person per post.
_PRIORITY = {"mention": 0, "quote": 1, "reply": 2, "followed": 3}

_MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_-]{3,30})\b")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def mentioned_names(body_md: str) -> list[str]:
    """@names in the writer's own words: not inside code, and not inside a quote of someone else."""
    text = _INLINE_CODE.sub(" ", _FENCE.sub(" ", body_md))
    own_lines = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    names: list[str] = []
    for name in _MENTION.findall(own_lines):
        key = name.casefold()
        if key not in names:
            names.append(key)
    return names[:MENTIONS_MAX]


# --- reading ---------------------------------------------------------------------------------------


def unread_count(user: Any) -> int:
    member = permissions.signed_in(user)
    if member is None:
        return 0
    query = select(func.count(Notification.id)).where(Notification.user_id == member.id, Notification.read_at.is_(None))
    return int(db.session.scalar(query) or 0)


def recent(user: Any, *, limit: int = PAGE_SIZE, before_id: int | None = None) -> list[Notification]:
    member = permissions.ensure_signed_in(user)
    query = (
        select(Notification)
        .where(Notification.user_id == member.id)
        .options(joinedload(Notification.thread), joinedload(Notification.actor))
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return list(db.session.scalars(query))


def settings_for(user: Any) -> dict[str, bool]:
    return _settings_of(permissions.ensure_signed_in(user))


def _settings_of(member: User) -> dict[str, bool]:
    rows = db.session.execute(
        select(NotificationSetting.kind, NotificationSetting.enabled).where(NotificationSetting.user_id == member.id)
    )
    chosen: dict[str, bool] = {kind: bool(enabled) for kind, enabled in rows}
    return {kind: bool(chosen.get(kind, True)) for kind in NOTIFICATION_KINDS}


def actor_name(notification: Notification) -> str:
    """Who did it, as the reader may know it: anonymous posts and former members stay unnamed."""
    if notification.kind == "moderator":
        return "The moderators"
    if notification.kind == "check_in":
        return "Hearth"  # the check-in itself, not a person
    if notification.actor is None:
        # An anonymous post stays "a member" after its author leaves: "a former member" on it alone would
        # link it to their named posts, which change at the same moment.
        post = notification.post
        gone = post is not None and post.author_id is None and not post.is_anonymous
        return "a former member" if gone else "a member"
    return str(notification.actor.username)


# --- writing ---------------------------------------------------------------------------------------


def mark_read(actor: Any, ids: Iterable[int] | None = None) -> int:
    """Mark some (or, with ids=None, all) of the person's notifications read; returns how many changed."""
    member = permissions.ensure_signed_in(actor)
    with write_transaction() as session:
        statement = update(Notification).where(Notification.user_id == member.id, Notification.read_at.is_(None))
        if ids is not None:
            wanted = [int(i) for i in ids]
            if not wanted:
                return 0
            statement = statement.where(Notification.id.in_(wanted))
        result: Any = session.execute(statement.values(read_at=utcnow()))
        changed = result.rowcount or 0
        _push_counts_after_commit([member.id])
    return int(changed)


def update_settings(actor: Any, enabled: Mapping[str, object]) -> dict[str, bool]:
    member = permissions.ensure_signed_in(actor)
    unknown = [kind for kind in enabled if kind not in NOTIFICATION_KINDS]
    if unknown:
        raise invalid("kinds", f"Unknown kind: {', '.join(sorted(unknown))}.")
    with write_transaction() as session:
        rows = {
            row.kind: row
            for row in session.scalars(select(NotificationSetting).where(NotificationSetting.user_id == member.id))
        }
        for kind in NOTIFICATION_KINDS:
            if kind not in enabled:
                continue
            row = rows.get(kind)
            if row is None:
                session.add(NotificationSetting(user_id=member.id, kind=kind, enabled=bool(enabled[kind])))
            else:
                row.enabled = bool(enabled[kind])
    return settings_for(member)


def _add(session: Session, recipients: dict[int, str], **fields: Any) -> list[int]:
    """Store one notification per recipient whose settings allow its kind; returns who got one."""
    if not recipients:
        return []
    off = set(
        session.execute(
            select(NotificationSetting.user_id, NotificationSetting.kind).where(
                NotificationSetting.user_id.in_(recipients), NotificationSetting.enabled.is_(False)
            )
        ).all()
    )
    told = []
    for user_id, kind in recipients.items():
        if (user_id, kind) in off:
            continue
        session.add(Notification(user_id=user_id, kind=kind, **fields))
        told.append(user_id)
    return told


# --- new posts -------------------------------------------------------------------------------------


# What the subscriber needs of a new post and its thread, in one read built once on the tables (no ORM
# entities to load): it runs under the write lock for every post. No row when the post is held or its
# thread not public: a held post reaches nobody until a moderator has looked at it.
_posts, _threads = Post.__table__, Thread.__table__
_NEW_POST = prebuilt(
    select(
        _posts.c.id,
        _posts.c.author_id,
        _posts.c.is_anonymous,
        _posts.c.number,
        _posts.c.reply_to_id,
        _posts.c.body_md,
        _posts.c.thread_id,
        _threads.c.author_id.label("thread_author_id"),
        _threads.c.board_id,
    )
    .join(_threads, _threads.c.id == _posts.c.thread_id)
    .where(
        _posts.c.id == bindparam("post_id"),
        _posts.c.author_id.is_not(None),
        _posts.c.visibility == "visible",
        _threads.c.visibility == "visible",
        _threads.c.deleted_at.is_(None),
    )
)
_follows, _watches = BoardFollow.__table__, ThreadWatch.__table__
_FOLLOWERS = prebuilt(select(_follows.c.user_id).where(_follows.c.board_id == bindparam("board_id")))
_WATCHERS = prebuilt(
    select(_watches.c.user_id).where(_watches.c.thread_id == bindparam("thread_id"), _watches.c.level == "follow")
)
_QUOTED_AUTHOR = prebuilt(
    select(_posts.c.author_id).where(_posts.c.id == bindparam("post_id"), _posts.c.thread_id == bindparam("thread_id"))
)


@events.on_post_created
def notify_post_created(post_id: int) -> None:
    """Runs inside the transaction that made the post public (see events.post_created)."""
    with write_transaction() as session:
        # Core reads on the connection: nothing of the ORM session is needed for them.
        connection = session.connection()
        post = connection.execute(_NEW_POST, {"post_id": post_id}).one_or_none()
        if post is None:
            return
        candidates = _candidates(connection, post)
        if not candidates:
            return
        recipients = _filter_recipients(session, post, candidates)
        actor_id = None if post.is_anonymous else post.author_id
        told = _add(session, recipients, actor_id=actor_id, thread_id=post.thread_id, post_id=post.id)
        _push_counts_after_commit(told)


def _candidates(connection: Connection, post: Row[Any]) -> dict[int, str]:
    found: dict[int, str] = {}

    def offer(user_id: int | None, kind: str) -> None:
        if user_id is None:
            return
        current = found.get(user_id)
        if current is None or _PRIORITY[kind] < _PRIORITY[current]:
            found[user_id] = kind

    if post.number == 1:
        for user_id in connection.scalars(_FOLLOWERS, {"board_id": post.board_id}):
            offer(user_id, "followed")
    else:
        offer(post.thread_author_id, "reply")
        for user_id in connection.scalars(_WATCHERS, {"thread_id": post.thread_id}):
            offer(user_id, "followed")
    if post.reply_to_id is not None:
        offer(connection.scalar(_QUOTED_AUTHOR, {"post_id": post.reply_to_id, "thread_id": post.thread_id}), "quote")
    names = mentioned_names(post.body_md)
    if names:
        for user_id in connection.scalars(select(User.id).where(User.username_key.in_(names))):
            offer(user_id, "mention")
    found.pop(post.author_id or -1, None)
    return found


def _filter_recipients(session: Session, post: Row[Any], candidates: dict[int, str]) -> dict[int, str]:
    ids = list(candidates)
    thread = session.get(Thread, post.thread_id)
    assert thread is not None  # joined in _NEW_POST, in this same transaction
    muted_thread = set(
        session.scalars(
            select(ThreadWatch.user_id).where(
                ThreadWatch.thread_id == post.thread_id, ThreadWatch.level == "mute", ThreadWatch.user_id.in_(ids)
            )
        )
    )
    # An anonymous post is open to everyone its author blocked or was muted by (permissions.hides_writing):
    # leaving them out here would tell them who wrote it, and a reader can't shield themself from a writer
    # they can't know. So relations decide only for named posts.
    shielded = set() if post.is_anonymous else _shielded_from(session, post.author_id)
    users = {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}
    kept = {}
    for user_id, kind in candidates.items():
        user = users.get(user_id)
        if user is None or user_id in muted_thread or user_id in shielded:
            continue
        if not permissions.can_view_thread(user, thread) or not user.is_active:
            continue
        kept[user_id] = kind
    return kept


def _shielded_from(session: Session, author_id: int) -> set[int]:
    """Blocks either way, and mutes by the recipient: they neither hear from nor about the writer."""
    blocked = session.scalars(select(Block.blocked_id).where(Block.blocker_id == author_id, Block.kind == "block"))
    blocking_or_muting = session.scalars(select(Block.blocker_id).where(Block.blocked_id == author_id))
    return set(blocked) | set(blocking_or_muting)


# --- moderator messages and check-ins ---------------------------------------------------------------


@events.on_moderator_message_sent
def notify_moderator_message(message_id: int) -> None:
    with write_transaction() as session:
        message = session.get(ModeratorMessage, message_id)
        if message is None:
            return
        told = _add(
            session,
            {message.recipient_id: "moderator"},
            actor_id=None,
            body_html=message.body_html,
            url=None,
        )
        _push_counts_after_commit(told)


@events.on_check_in_starting
def notify_check_in_starting(check_in_id: int, title: str, participant_ids: list[int], url: str) -> None:
    if not participant_ids:
        return
    from markupsafe import escape

    body = f"<p>{escape(title)} is starting now.</p>"
    with write_transaction() as session:
        active = set(session.scalars(select(User.id).where(User.id.in_(participant_ids), User.deleted_at.is_(None))))
        told = _add(session, dict.fromkeys(active, "check_in"), body_html=body, url=url[:300])
        _push_counts_after_commit(told)


def tell_check_in_called_off(session: Session, member_ids: list[int], *, title: str | None) -> None:
    """A check-in these people kept a place in will not take place (its host left Hearth): they hear it
    rather than wait for it. Told as their check-in news is ("check_in"), and only if they still want that."""
    from markupsafe import escape

    which = f"{escape(title)}" if title else "A check-in you kept a place in"
    body = f"<p>{which} won't take place: its host has left Hearth. Other check-ins are on the list.</p>"
    told = _add(session, dict.fromkeys(member_ids, "check_in"), body_html=body, url="/chat/")
    _push_counts_after_commit(told)


def tell_admins_of_escalation(
    session: Session, admin_ids: list[int], *, item_id: int, moderator_id: int, note: str
) -> None:
    """A moderator handed a review item to the admins: each admin hears of it here as well as live, so an
    admin who is not looking at the queue at that moment still finds it. Not a kind anyone switches off."""
    from markupsafe import escape

    said = f" They wrote: \u201c{escape(note[:280])}\u201d" if note else ""
    body = f"<p>A moderator handed an item to the admins.{said}</p>"
    told = _add(session, dict.fromkeys(admin_ids, "escalated"), actor_id=moderator_id, body_html=body,
                url=f"/moderation/items/{item_id}")  # fmt: skip
    _push_counts_after_commit(told)


def forget_post(session: Session, post_id: int) -> None:
    """A post was taken back (deleted by its author, or hidden): the notifications about it go too, so
    nobody is told "alice mentioned you" about words that are gone. Counts update after the commit."""
    forget_posts(session, [post_id])


def forget_posts(session: Session, post_ids: list[int]) -> None:
    """forget_post for many posts at once (an account deletion erases all of a person's posts)."""
    if not post_ids:
        return
    about = Notification.post_id.in_(post_ids)
    told = list(session.scalars(select(Notification.user_id).where(about)))
    if told:
        session.execute(delete(Notification).where(about))
        _push_counts_after_commit(told)


def forget_between(session: Session, viewer_id: int, other_id: int) -> None:
    """The viewer blocked or muted the other person: what the viewer was told about the other's writing
    goes, as the writing itself is hidden from them now. (A block also hides the viewer's writing from the
    other person: set_block calls this both ways.)"""
    about = and_(Notification.user_id == viewer_id, Notification.actor_id == other_id)
    if session.scalar(select(func.count(Notification.id)).where(about)):
        session.execute(delete(Notification).where(about))
        _push_counts_after_commit([viewer_id])


# --- live counts -----------------------------------------------------------------------------------


def _push_counts_after_commit(user_ids: list[int]) -> None:
    if not user_ids:
        return
    after_commit(lambda: push_unread_counts(user_ids))


def push_unread_counts(user_ids: Iterable[int]) -> None:
    from forum.realtime.notifications import emit_unread

    ids = list(set(user_ids))
    rows = db.session.execute(
        select(Notification.user_id, func.count(Notification.id))
        .where(Notification.user_id.in_(ids), Notification.read_at.is_(None))
        .group_by(Notification.user_id)
    )
    counts: dict[int, int] = {user_id: int(count) for user_id, count in rows}
    for user_id in ids:
        emit_unread(user_id, int(counts.get(user_id, 0)))


# --- personal data ---------------------------------------------------------------------------------


def _export_notifications(user: User) -> dict[str, Any]:
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    return {
        "notifications": [
            {
                "kind": row.kind,
                "thread_id": row.thread_id,
                "post_id": row.post_id,
                "created_at": row.created_at.isoformat(),
                "read_at": row.read_at.isoformat() if row.read_at else None,
            }
            for row in rows
        ]
    }


def _erase_notifications(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(Notification).where(Notification.user_id == user.id))


def _export_settings(user: User) -> dict[str, Any]:
    return {"notification_kinds": _settings_of(user)}


def _erase_settings(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(NotificationSetting).where(NotificationSetting.user_id == user.id))


personal_data.register("notifications", export=_export_notifications, erase=_erase_notifications)
personal_data.register("settings", export=_export_settings, erase=_erase_settings)
