"""Every permission question in one place, for HTTP, Socket.IO and templates alike.

can_*(user, obj) answers; ensure_*(user, obj) raises the service error an adapter turns into 401/403/404.
`user` may be None or Flask-Login's anonymous user: both mean "not signed in".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from flask import g, has_app_context
from sqlalchemy import and_, bindparam, or_, select

from forum.extensions import db
from forum.models import Block, Board, Post, Thread, User
from forum.models.practice import HomeworkItem, JournalEntry, RelapsePlan
from forum.services.errors import Forbidden, NotAuthenticated, NotFound, ServiceError
from forum.statements import prebuilt

T = TypeVar("T")


def signed_in(user: Any) -> User | None:
    """The acting member, or None for anonymous, deleted and suspended people."""
    if isinstance(user, User) and user.is_active:
        return user
    return None


def is_moderator(user: Any) -> bool:
    member = signed_in(user)
    return member is not None and member.is_moderator


def is_admin(user: Any) -> bool:
    member = signed_in(user)
    return member is not None and member.is_admin


def _can_write(user: Any) -> bool:
    member = signed_in(user)
    return member is not None and not member.is_silenced


# Every block that involves a member, and the mutes they chose; built once (it runs on most pages).
RELATIONS = prebuilt(
    select(Block.blocker_id, Block.blocked_id, Block.kind).where(
        or_(
            Block.blocker_id == bindparam("member"),
            and_(Block.blocked_id == bindparam("member"), Block.kind == "block"),
        )
    )
)


def hidden_author_ids(user: Any) -> set[int]:
    """People whose writing this viewer must not see: blocked either way, or muted by the viewer."""
    member = signed_in(user)
    if member is None:
        return set()
    cache = _request_cache()
    key = f"hidden_authors:{member.id}"
    if key not in cache:
        _remember_relations(cache, member, db.session.execute(RELATIONS, {"member": member.id}).all())
    return set(cache[key])


def hides_writing(author_id: int | None, anonymous: bool, hidden: Collection[int]) -> bool:
    """Whether writing by `author_id` is hidden from a viewer whose hidden_author_ids are `hidden`, on every
    surface (pages, API, notifications). Anonymous writing stays: hiding it would tell who wrote it."""
    return not anonymous and author_id in hidden


def remember_relations(member: User, rows: Sequence[tuple[int, int, str]]) -> None:
    """RELATIONS' rows for `member`, read along with other things: kept for the request as if
    hidden_author_ids had read them."""
    _remember_relations(_request_cache(), member, rows)


def _remember_relations(cache: dict[str, frozenset[int]], member: User, rows: Sequence[Any]) -> None:
    cache[f"hidden_authors:{member.id}"] = frozenset(
        blocked if blocker == member.id else blocker for blocker, blocked, _kind in rows
    )
    # The blocks alone answer is_blocked_between for this member without another query.
    blocks = (blocked if blocker == member.id else blocker for blocker, blocked, kind in rows if kind == "block")
    cache[f"blocked_either_way:{member.id}"] = frozenset(blocks)


def _request_cache() -> dict[str, frozenset[int]]:
    """Answers that cost a query, kept for one request or socket event (a page asks per post)."""
    if not has_app_context():
        return {}
    cache: dict[str, frozenset[int]] = g.setdefault("_permission_cache", {})
    return cache


def forget_cached_relations() -> None:
    """Called by the services that change blocks and mutes, so the same request sees the change."""
    if has_app_context():
        g.pop("_permission_cache", None)


def is_blocked_between(a: Any, b: Any) -> bool:
    """True when either person blocked the other (muting does not count: it is one-way and silent)."""
    first, second = signed_in(a), signed_in(b)
    if first is None or second is None:
        return False
    cache = _request_cache()
    for member, other in ((first, second), (second, first)):
        known = cache.get(f"blocked_either_way:{member.id}")
        if known is not None:
            return other.id in known
    found = db.session.execute(_BLOCK_BETWEEN, {"first": first.id, "second": second.id}).first()
    return found is not None


# Built once: every reply and chat message asks it.
_BLOCK_BETWEEN = prebuilt(
    select(Block.id).where(
        Block.kind == "block",
        or_(
            and_(Block.blocker_id == bindparam("first"), Block.blocked_id == bindparam("second")),
            and_(Block.blocker_id == bindparam("second"), Block.blocked_id == bindparam("first")),
        ),
    )
)


# --- reading ----------------------------------------------------------------------------------


def can_view_thread(user: Any, thread: Thread) -> bool:
    if is_moderator(user):
        return True
    if thread.deleted_at is not None or thread.visibility == "hidden":
        return False
    if thread.visibility == "held":
        member = signed_in(user)
        return member is not None and member.id == thread.author_id
    return True


def can_view_post_body(user: Any, post: Post) -> bool:
    """Deleted and hidden posts keep their place in the thread but not their words."""
    if post.deleted_at is not None:
        return False
    if post.visibility == "visible":
        return True
    if is_moderator(user):
        return True
    member = signed_in(user)
    return post.visibility == "held" and member is not None and member.id == post.author_id


def can_see_screening(user: Any) -> bool:
    return is_moderator(user)


def can_see_author(user: Any, post: Post | Thread) -> bool:
    """Anonymous posts show "a member" to peers; the author sees themself, moderators reveal on purpose."""
    if not post.is_anonymous:
        return True
    member = signed_in(user)
    return member is not None and member.id == post.author_id


# --- writing ----------------------------------------------------------------------------------


def can_create_thread(user: Any, board: Board) -> bool:
    return _can_write(user)


def can_reply(user: Any, thread: Thread) -> bool:
    if not _can_write(user) or not can_view_thread(user, thread):
        return False
    if is_moderator(user):
        return True
    return not thread.locked and not _blocked_from(user, thread)


def can_answer_post(user: Any, post: Post) -> bool:
    """Whether a reply may name this post as the one it answers."""
    return not _blocked_from(user, post)


def _blocked_from(user: Any, writing: Post | Thread) -> bool:
    """A block either way keeps each out of the other's threads and posts. Anonymous writing stays open:
    refusing would tell a blocked person who wrote it."""
    return not writing.is_anonymous and writing.author is not None and is_blocked_between(user, writing.author)


def can_edit_post(user: Any, post: Post) -> bool:
    member = signed_in(user)
    if member is None or member.id != post.author_id or post.deleted_at is not None:
        return False
    return _can_write(user) and (not post.thread.locked or member.is_moderator)


def can_delete_post(user: Any, post: Post) -> bool:
    member = signed_in(user)
    if member is None or post.deleted_at is not None:
        return False
    return member.id == post.author_id or member.is_moderator


def can_pin_thread(user: Any, thread: Thread) -> bool:
    return is_moderator(user)


def can_lock_thread(user: Any, thread: Thread) -> bool:
    return is_moderator(user)


def can_moderate(user: Any) -> bool:
    return is_moderator(user)


def can_use_anonymity(user: Any, board: Board) -> bool:
    return board.allows_anonymous and signed_in(user) is not None


# --- guards -----------------------------------------------------------------------------------


def _guard(member: User, allowed: bool, refusal: type[ServiceError], message: str) -> User:
    """`member` when allowed; otherwise the refusal, built only then (most calls are allowed)."""
    if not allowed:
        raise refusal(message)
    return member


def _found(user: Any, obj: T | None, can: Callable[[Any, T], bool], message: str) -> T:
    """`obj` when it exists and `user` may see it; otherwise 404, so a refusal can't reveal that it exists."""
    if obj is None or not can(user, obj):
        raise NotFound(message)
    return obj


def ensure_signed_in(user: Any) -> User:
    member = signed_in(user)
    if member is None:
        raise NotAuthenticated("Please sign in first.")
    return member


def ensure_can_view_thread(user: Any, thread: Thread | None) -> Thread:
    return _found(user, thread, can_view_thread, "That thread doesn't exist or was removed.")


def ensure_can_create_thread(user: Any, board: Board) -> User:
    member = ensure_signed_in(user)
    refusal = _paused(member) or "You can't start threads right now."
    return _guard(member, can_create_thread(member, board), Forbidden, refusal)


def ensure_can_reply(user: Any, thread: Thread) -> User:
    member = ensure_signed_in(user)
    ensure_can_view_thread(member, thread)
    if not can_reply(member, thread):
        if thread.locked:
            raise Forbidden("This thread is locked.")
        if _blocked_from(member, thread):
            raise Forbidden("You can't reply in this thread.")
        raise Forbidden(_paused(member) or "You can't reply right now.")
    return member


def _paused(member: User) -> str | None:
    """What a silenced member is told when a write is refused: until when, and where the reason is."""
    if not member.is_silenced or member.silenced_until is None:
        return None
    until = f"{member.silenced_until:%d %B %Y, %H:%M} UTC"
    return f"A moderator has paused your posting until {until}. Your messages (/messages) say why."


def ensure_can_edit_post(user: Any, post: Post) -> User:
    member = ensure_signed_in(user)
    if can_edit_post(member, post):
        return member
    raise Forbidden(_why_no_edit(member, post))


def _why_no_edit(member: User, post: Post) -> str:
    """The refusal that names the real reason, so nobody is told a post they wrote is not theirs."""
    if member.id != post.author_id:
        return "You can only edit your own posts."
    if post.deleted_at is not None:
        return "This post was deleted, so it can't be edited."
    if post.thread.locked:
        return "This thread is locked, so its posts can't be edited."
    return _paused(member) or "You can't edit posts right now."


def ensure_can_delete_post(user: Any, post: Post) -> User:
    member = ensure_signed_in(user)
    return _guard(member, can_delete_post(member, post), Forbidden, "You can only delete your own posts.")


def ensure_moderator(user: Any) -> User:
    member = ensure_signed_in(user)
    return _guard(member, member.is_moderator, Forbidden, "Only moderators can do that.")


def ensure_admin(user: Any) -> User:
    member = ensure_signed_in(user)
    return _guard(member, member.is_admin, Forbidden, "Only admins can do that.")


TEMPLATE_HELPERS = {
    "can_reply": can_reply,
    "can_edit_post": can_edit_post,
    "can_delete_post": can_delete_post,
    "can_pin_thread": can_pin_thread,
    "can_lock_thread": can_lock_thread,
    "can_moderate": can_moderate,
    "can_view_post_body": can_view_post_body,
    "can_see_author": can_see_author,
    "can_see_screening": can_see_screening,
    "can_create_thread": can_create_thread,
    "can_use_anonymity": can_use_anonymity,
}


# --- personal practice: homework, journal, mood, relapse plan ----------------------------------
# Private to the person who wrote them. Moderators and admins get no exception: a journal that staff
# could read would not be written honestly. Anything not yours answers 404, so its existence leaks nothing.


def _owns(user: Any, obj: HomeworkItem | JournalEntry | RelapsePlan) -> bool:
    member = signed_in(user)
    return member is not None and member.id == obj.user_id


def can_read_journal(user: Any, entry: JournalEntry) -> bool:
    return _owns(user, entry)


def can_edit_journal(user: Any, entry: JournalEntry) -> bool:
    return _owns(user, entry)


def can_delete_journal(user: Any, entry: JournalEntry) -> bool:
    return _owns(user, entry)


def can_manage_homework(user: Any, item: HomeworkItem) -> bool:
    return _owns(user, item)


def can_read_relapse_plan(user: Any, plan: RelapsePlan) -> bool:
    return _owns(user, plan)


def ensure_can_read_journal(user: Any, entry: JournalEntry | None) -> JournalEntry:
    return _found(user, entry, can_read_journal, "That journal entry doesn't exist.")


def ensure_can_edit_journal(user: Any, entry: JournalEntry | None) -> JournalEntry:
    return _found(user, entry, can_edit_journal, "That journal entry doesn't exist.")


def ensure_can_manage_homework(user: Any, item: HomeworkItem | None) -> HomeworkItem:
    return _found(user, item, can_manage_homework, "That practice isn't on your list.")


# --- moderation triage: the review queue, reports, actions on people ----------------------------
# Only moderators and admins see the queue, scores and signals. Actions that take something away from
# a moderator or admin (silence, suspend) are for admins only, so staff cannot sideline each other.


def can_see_queue(user: Any) -> bool:
    return is_moderator(user)


def ensure_can_see_queue(user: Any) -> User:
    return ensure_moderator(user)


def can_restrict_user(user: Any, target: User | None) -> bool:
    """Silence or suspend `target`: moderators may restrict members; only admins may restrict staff."""
    member = signed_in(user)
    if member is None or not member.is_moderator or target is None or target.id == member.id:
        return False
    return not target.is_moderator or member.is_admin


def ensure_can_restrict_user(user: Any, target: User | None) -> User:
    member = ensure_moderator(user)
    return _guard(
        member,
        can_restrict_user(member, target),
        Forbidden,
        "Only an admin can restrict a moderator or admin, and nobody can restrict themself.",
    )


def can_report_post(user: Any, post: Post) -> bool:
    member = signed_in(user)
    if member is None or post.deleted_at is not None or member.id == post.author_id:
        return False
    return can_view_thread(member, post.thread) and can_view_post_body(member, post)


def ensure_can_report_post(user: Any, post: Post) -> User:
    member = ensure_signed_in(user)
    if member.id == post.author_id:
        raise Forbidden("You can't report your own post. If you'd like a moderator to check in, use the support panel.")
    return _guard(member, can_report_post(member, post), NotFound, "That post doesn't exist.")


TEMPLATE_HELPERS["can_see_queue"] = can_see_queue
TEMPLATE_HELPERS["can_report_post"] = can_report_post


# --- live chat and group check-ins ----------------------------------------------------------------
# Board rooms are open to every signed-in member. A check-in admits its host, moderators and up to
# `capacity` participants while it runs; once closed, only the people who were there may reread it.
# Someone without a place may look in on a running check-in that has places left, to decide whether to
# take part: they are shown its state and places, never its conversation, and take no place by looking.


def can_host_checkin(user: Any) -> bool:
    member = signed_in(user)
    return member is not None and not member.is_silenced and (member.is_moderator or member.trusted)


def can_manage_checkin(user: Any, checkin: Any) -> bool:
    member = signed_in(user)
    return member is not None and (member.is_moderator or member.id == checkin.host_id)


def can_moderate_chat(user: Any) -> bool:
    return is_moderator(user)


def ensure_can_host_checkin(user: Any) -> User:
    member = ensure_signed_in(user)
    return _guard(
        member, can_host_checkin(member), Forbidden, "Only moderators and trusted members can host a check-in."
    )


def ensure_can_manage_checkin(user: Any, checkin: Any) -> User:
    member = ensure_signed_in(user)
    return _guard(member, can_manage_checkin(member, checkin), Forbidden, "Only the host or a moderator can do that.")


def can_read_chat_room(user: Any, checkin: Any, *, is_participant: bool) -> bool:
    """Whether the person is shown a room's conversation: every board room, and a check-in they take part in
    or run. `checkin` is None for a board room."""
    return checkin is None or is_participant or can_manage_checkin(user, checkin)


def ensure_can_enter_chat_room(user: Any, checkin: Any, *, is_participant: bool, participants: int) -> User:
    """`checkin` is None for a board room. Raises the refusal a client can show (closed, not open, full).

    Entering is not reading: someone let in without a place only looks in (can_read_chat_room)."""
    from forum.services.chat_errors import RoomClosed, RoomFull, RoomNotOpen

    member = ensure_signed_in(user)
    if can_read_chat_room(member, checkin, is_participant=is_participant):
        return member
    if checkin.state == "closed":
        raise RoomClosed("This check-in has ended.")
    if checkin.state == "scheduled":
        raise RoomNotOpen("This check-in hasn't opened yet.")
    if participants >= checkin.capacity:
        raise RoomFull("This check-in is full.")
    return member


def ensure_can_send_in_chat_room(user: Any, room: Any, checkin: Any) -> User:
    from forum.services.chat_errors import RoomClosed, RoomNotOpen

    member = ensure_signed_in(user)
    if member.is_silenced:
        raise Forbidden("You can't send messages right now.")
    if room.closed_at is not None:
        raise RoomClosed("This room is closed.")
    if checkin is not None and checkin.state == "scheduled" and not can_manage_checkin(member, checkin):
        raise RoomNotOpen("This check-in hasn't opened yet.")
    return member


def can_edit_chat_message(user: Any, message: Any) -> bool:
    member = signed_in(user)
    if member is None or member.id != message.author_id or message.deleted_at is not None:
        return False
    return message.kind == "text" and not member.is_silenced and message.room.closed_at is None


def can_delete_chat_message(user: Any, message: Any) -> bool:
    member = signed_in(user)
    return member is not None and member.id == message.author_id and message.deleted_at is None


def can_remove_chat_message(user: Any, message: Any) -> bool:
    return is_moderator(user) and message.deleted_at is None


def ensure_can_edit_chat_message(user: Any, message: Any) -> User:
    member = ensure_signed_in(user)
    return _guard(
        member,
        can_edit_chat_message(member, message),
        Forbidden,
        "You can only edit your own messages in an open room.",
    )


def ensure_can_delete_chat_message(user: Any, message: Any) -> User:
    member = ensure_signed_in(user)
    return _guard(member, can_delete_chat_message(member, message), Forbidden, "You can only delete your own messages.")


def ensure_can_remove_chat_message(user: Any, message: Any) -> User:
    member = ensure_moderator(user)
    return _guard(member, can_remove_chat_message(member, message), Forbidden, "That message was already removed.")


TEMPLATE_HELPERS["can_host_checkin"] = can_host_checkin
TEMPLATE_HELPERS["can_manage_checkin"] = can_manage_checkin
TEMPLATE_HELPERS["can_moderate_chat"] = can_moderate_chat


# --- community: blocking, reactions, follows, profiles, reveals (issue 8) ------------------------


def can_block(user: Any, target: Any) -> bool:
    """Members block and mute other members. Moderators stay reachable, and moderate with their own tools."""
    member = signed_in(user)
    if member is None or not isinstance(target, User) or target.id == member.id:
        return False
    return not member.is_moderator and not target.is_moderator and target.deleted_at is None


def can_react(user: Any, post: Post) -> bool:
    member = signed_in(user)
    if member is None or not can_view_post_body(member, post) or not can_view_thread(member, post.thread):
        return False
    return post.author_id is None or post.is_anonymous or post.author_id not in hidden_author_ids(member)


def can_follow(user: Any, thread: Thread) -> bool:
    return signed_in(user) is not None and can_view_thread(user, thread)


def can_bookmark(user: Any, post: Post) -> bool:
    return signed_in(user) is not None and can_view_thread(user, post.thread) and post.deleted_at is None


def can_reveal_author(user: Any, post: Post | Thread) -> bool:
    return is_moderator(user) and post.is_anonymous and post.author_id is not None


def ensure_can_block(user: Any, target: Any) -> User:
    member = ensure_signed_in(user)
    if not can_block(member, target):
        if getattr(target, "is_moderator", False) or member.is_moderator:
            raise Forbidden("Moderators can't be blocked or muted, and don't block: they need to reach everyone.")
        raise Forbidden("You can't block or mute that account.")
    return member


def ensure_can_react(user: Any, post: Post) -> User:
    member = ensure_signed_in(user)
    return _guard(member, can_react(member, post), Forbidden, "You can't react to that post.")


def ensure_can_follow(user: Any, thread: Thread) -> User:
    member = ensure_signed_in(user)
    ensure_can_view_thread(member, thread)
    return member


def ensure_can_bookmark(user: Any, post: Post) -> User:
    member = ensure_signed_in(user)
    return _guard(member, can_bookmark(member, post), NotFound, "That post doesn't exist or was removed.")


def ensure_can_reveal_author(user: Any, post: Post) -> User:
    member = ensure_moderator(user)
    return _guard(
        member,
        can_reveal_author(member, post),
        Forbidden,
        "Only anonymous posts by a current member have an author to reveal.",
    )


TEMPLATE_HELPERS["can_block"] = can_block
TEMPLATE_HELPERS["can_react"] = can_react
TEMPLATE_HELPERS["can_follow"] = can_follow
TEMPLATE_HELPERS["can_bookmark"] = can_bookmark
TEMPLATE_HELPERS["can_reveal_author"] = can_reveal_author
