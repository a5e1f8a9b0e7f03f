"""The review queue: what moderators should look at, urgent first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from forum import permissions
from forum.extensions import db
from forum.models import AuditLog, ReviewEvent, ReviewItem, ScreeningRecord, User, utcnow
from forum.queries import Page
from forum.services.errors import Conflict, NotFound, invalid
from forum.services.screening import ScreenResult, screen_text
from forum.services.transaction import after_commit, write_transaction

_PRIORITY_FOR_LEVEL = {"crisis": "urgent", "unknown": "urgent", "concern": "review"}
_LEVEL_RANK = {"none": 0, "concern": 1, "unknown": 2, "crisis": 3}


def queue_screening(
    session: Session,
    *,
    target_type: str,
    target_id: int,
    subject_user_id: int | None,
    result: ScreenResult,
    screening: ScreeningRecord,
    excerpt: str,
    where: dict[str, Any],
) -> ReviewItem | None:
    """Put a screened piece of writing in the queue when it needs a human; alert after commit."""
    if not result.needs_review:
        return None
    reason = {"source": "screening", "kind": result.level, "detail": result.error or "", "score": result.score}
    item = _open_item_for(session, target_type, target_id)
    if item is None:
        item = ReviewItem(
            target_type=target_type,
            target_id=target_id,
            subject_user_id=subject_user_id,
            priority=_PRIORITY_FOR_LEVEL[result.level],
            level=result.level,
            score=result.score,
            reasons=[reason],
            screening_id=screening.id,
        )
        session.add(item)
        session.flush()
        session.add(ReviewEvent(item_id=item.id, action="created", note=f"screening: {result.level}"))
    else:
        _escalate(item, result, reason, screening)
        session.add(ReviewEvent(item_id=item.id, action="rescreened", note=f"screening: {result.level}"))
    if item.priority == "urgent":
        payload = {"item_id": item.id, "level": item.level, "excerpt": excerpt[:280], "where": where}
        after_commit(lambda: _alert(payload))
    update = {"item_id": item.id, "version": item.version, "status": item.status, "action": "screened"}
    after_commit(lambda: _queue_changed(update))
    return item


def _open_item_for(session: Session, target_type: str, target_id: int) -> ReviewItem | None:
    return session.scalar(
        select(ReviewItem).where(
            ReviewItem.target_type == target_type,
            ReviewItem.target_id == target_id,
            ReviewItem.status == "open",
        )
    )


def _escalate(item: ReviewItem, result: ScreenResult, reason: dict[str, Any], screening: ScreeningRecord) -> None:
    item.reasons = [*item.reasons, reason]
    if _LEVEL_RANK[result.level] > _LEVEL_RANK.get(item.level, 0):
        item.level = result.level
        item.priority = _PRIORITY_FOR_LEVEL[result.level]
        item.score = result.score
        item.screening_id = screening.id
    item.version += 1


CHECK_IN_NOTE_MAX = 1000


def request_check_in(actor: object, *, note: str = "", source: str = "support_panel") -> ReviewItem:
    """The person asked a moderator to check in with them: an urgent item about them, alerted live. Their
    note is screened: crisis words in it make the item a crisis, as they would in a post."""
    from forum.services.validation import clean_text

    member = permissions.ensure_signed_in(actor)
    # Never refused for a long note: the moderators get its first CHECK_IN_NOTE_MAX characters (callers say so).
    first = note[:CHECK_IN_NOTE_MAX] if isinstance(note, str) else note
    text = clean_text("note", first, max_len=CHECK_IN_NOTE_MAX, required=False)
    level = "crisis" if text and screen_text(text).level == "crisis" else "unknown"
    with write_transaction() as session:
        item = _open_item_for(session, "user", member.id)
        reason = {"source": "check_in_request", "kind": source, "detail": text}
        if item is None:
            item = ReviewItem(target_type="user", target_id=member.id, subject_user_id=member.id, priority="urgent",
                              level=level, reasons=[reason])  # fmt: skip
            session.add(item)
            session.flush()
        elif not text and _already_asked(item):
            return item  # the button pressed again: the moderators already have it
        else:
            item.reasons = [*item.reasons, reason]
            item.priority, item.level = "urgent", _higher_level(item.level, level)
            item.version += 1
        session.add(ReviewEvent(item_id=item.id, actor_id=member.id, action="check_in_requested", note=text))
        crisis = level == "crisis"
        payload = {
            "item_id": item.id,
            "level": "crisis" if crisis else "check_in",
            "excerpt": text[:280] if crisis else f"{member.username} asked a moderator to check in with them.",
            "where": {"kind": "user", "user_id": member.id},
        }
        after_commit(lambda: _alert(payload))
    db.session.refresh(item)
    return item


# Crisis words that were refused (a pause, a lock, a closed room, a used-up allowance) reach the moderators
# all the same: the writer gets the lines at once, and someone should know. The words go in an urgent item
# about the person, as a screened post's would; a flood adds at most REFUSED_WORDS_PER_ITEM to one item.
REFUSED_WORDS_EVENT = "refused_words_kept"
REFUSED_WORDS_PER_ITEM = 5
REFUSED_WORDS_KEPT_CHARS = 2000
# The events whose note is the member's own writing to the moderators (exported, erased with the account).
WRITTEN_TO_MODERATORS = ("check_in_requested", REFUSED_WORDS_EVENT)


def keep_refused_crisis_words(
    actor: object, words: str, result: ScreenResult, *, refusal: str, place: str, link: str | None = None
) -> ReviewItem | None:
    """Put refused words that screened urgent in front of the moderators. `refusal`: what the writer was
    told; `place`: where they were written (a path, a chat room), `link` the page it was about. None for a
    guest, for words that are not urgent, or once the open item holds enough."""
    member = permissions.signed_in(actor)
    if member is None or not result.is_urgent:
        return None
    kept = words[:REFUSED_WORDS_KEPT_CHARS]
    reason = {"source": "refused_words", "kind": refusal, "detail": kept, "place": place, "link": link}
    with write_transaction() as session:
        item = _open_item_for(session, "user", member.id)
        if item is None:
            item = ReviewItem(target_type="user", target_id=member.id, subject_user_id=member.id, priority="urgent",
                              level=result.level, reasons=[reason])  # fmt: skip
            session.add(item)
            session.flush()
        elif _refused_words_held(item) >= REFUSED_WORDS_PER_ITEM:
            return None
        else:
            item.reasons = [*item.reasons, reason]
            item.priority, item.level = "urgent", _higher_level(item.level, result.level)
            item.version += 1
        session.add(ReviewEvent(item_id=item.id, actor_id=member.id, action=REFUSED_WORDS_EVENT, note=kept))
        where = {"kind": "user", "user_id": member.id}
        payload = {"item_id": item.id, "level": result.level, "excerpt": kept[:280], "where": where}
        after_commit(lambda: _alert(payload))
    return item


def _already_asked(item: ReviewItem) -> bool:
    return any(reason.get("source") == "check_in_request" for reason in item.reasons)


def _refused_words_held(item: ReviewItem) -> int:
    return sum(1 for reason in item.reasons if reason.get("source") == "refused_words")


def _higher_level(level: str, other: str) -> str:
    return other if _LEVEL_RANK[other] > _LEVEL_RANK.get(level, 0) else level


def mark_resolved(item: ReviewItem) -> None:
    """Close an item (the caller's transaction records why, and moves its version on)."""
    item.status = "resolved"
    item.resolved_at = utcnow()
    item.claimed_until = None


def _alert(payload: dict[str, Any]) -> None:
    from forum.realtime import alert_moderators

    alert_moderators(payload)


# --- reading the queue --------------------------------------------------------------------------

_URGENT_FIRST = case((ReviewItem.priority == "urgent", 0), else_=1)


QUEUE_PAGE_SIZE = 50


def queue(viewer: Any, *, status: str = "open", page: int = 1, per_page: int = QUEUE_PAGE_SIZE) -> Page:
    """Open items urgent first, then whoever has waited longest; resolved items newest first. One page of them."""
    permissions.ensure_can_see_queue(viewer)
    if status not in ("open", "resolved"):
        raise invalid("status", "Status must be open or resolved.")
    total = db.session.scalar(select(func.count(ReviewItem.id)).where(ReviewItem.status == status)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    order = (
        (_URGENT_FIRST, ReviewItem.waiting_since, ReviewItem.id)
        if status == "open"
        else (ReviewItem.resolved_at.desc(), ReviewItem.id.desc())
    )
    query = (
        select(ReviewItem)
        .where(ReviewItem.status == status)
        .options(
            joinedload(ReviewItem.subject_user),
            joinedload(ReviewItem.claimed_by),
            joinedload(ReviewItem.screening),
            selectinload(ReviewItem.subject_post),  # subject_name: is the post anonymous? One query a page
        )
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(items=list(db.session.scalars(query)), page=page, pages=pages, total=total)


def get_item(viewer: Any, item_id: int) -> ReviewItem:
    permissions.ensure_can_see_queue(viewer)
    item = db.session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound("That review item doesn't exist.")
    return item


def claimed_by(item: ReviewItem) -> int | None:
    """Who holds the item right now; an expired claim holds nothing (claims expire on read, no sweeper)."""
    if item.claimed_until is None or item.claimed_until <= utcnow():
        return None
    return item.claimed_by_id


def item_state(item: ReviewItem) -> dict[str, Any]:
    """The item as a moderator sees it: what a stale writer gets back with its 409."""
    holder = claimed_by(item)
    return {
        "id": item.id,
        "target_type": item.target_type,
        "target_id": item.target_id,
        "subject": None if subject_is_anonymous(item) else _user_ref(item.subject_user),
        "subject_anonymous": subject_is_anonymous(item),
        "priority": item.priority,
        "level": item.level,
        "score": item.score,
        "reasons": list(item.reasons),
        "signals": list(item.screening.signals) if item.screening else [],
        "model_version": item.screening.model_version if item.screening else None,
        "status": item.status,
        "claimed_by": _user_ref(item.claimed_by) if holder is not None else None,
        "claimed_until": item.claimed_until.isoformat() if holder is not None and item.claimed_until else None,
        "version": item.version,
        "escalated": item.escalated_at is not None,
        "waiting_since": item.waiting_since.isoformat(),
        "created_at": item.created_at.isoformat(),
        "first_action_at": item.first_action_at.isoformat() if item.first_action_at else None,
        "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
    }


ANONYMOUS_SUBJECT = "the anonymous author"


def subject_is_anonymous(item: ReviewItem) -> bool:
    """The item is about a post written anonymously. Moderators act on its writer (reach out, silence) without
    being shown who it is: seeing that is a reveal, which asks a reason and is audited (privacy.md)."""
    if item.target_type != "post" or item.subject_user_id is None:
        return False
    post = item.subject_post
    return post is not None and post.is_anonymous and post.author_id == item.subject_user_id


def subject_name(item: ReviewItem) -> str | None:
    """Who the item is about, as a moderator's page names them; None when nobody still here."""
    if item.subject_user is None:
        return None
    return ANONYMOUS_SUBJECT if subject_is_anonymous(item) else item.subject_user.username


def _user_ref(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "username": user.username}


# --- claiming -----------------------------------------------------------------------------------


def claim_minutes() -> int:
    return int(current_app.config["REVIEW_CLAIM_MINUTES"])


def lock_item(session: Session, item_id: int, version: object) -> ReviewItem:
    """The item, row-locked, if the caller saw its current version; otherwise 409 with the fresh state."""
    item = session.get(ReviewItem, item_id, with_for_update=True, populate_existing=True)
    if item is None:
        raise NotFound("That review item doesn't exist.")
    if not isinstance(version, int) or isinstance(version, bool):
        raise invalid("version", "Send the version of the item you are acting on.")
    if version != item.version:
        raise stale(item, "Someone else changed this item since you loaded it. Here is what it looks like now.")
    return item


def stale(item: ReviewItem, message: str) -> Conflict:
    return Conflict(message, item=item_state(item))


def ensure_not_claimed_by_other(item: ReviewItem, moderator: User) -> None:
    holder = claimed_by(item)
    if holder is not None and holder != moderator.id:
        name = item.claimed_by.username if item.claimed_by else "another moderator"
        raise stale(item, f"{name} is working on this item. Their claim ends at {item.claimed_until:%H:%M} UTC.")


def claim(actor: Any, item_id: int, *, version: object) -> ReviewItem:
    moderator = permissions.ensure_can_see_queue(actor)
    with write_transaction() as session:
        item = lock_item(session, item_id, version)
        if item.status != "open":
            raise stale(item, "This item is already resolved.")
        ensure_not_claimed_by_other(item, moderator)
        now = utcnow()
        item.claimed_by_id = moderator.id
        item.claimed_until = now + timedelta(minutes=claim_minutes())
        record(session, item, moderator, "claim", note=f"until {item.claimed_until:%H:%M} UTC", now=now)
    db.session.refresh(item)
    return item


def record(
    session: Session,
    item: ReviewItem,
    moderator: User,
    action: str,
    *,
    note: str = "",
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Every moderator step: the item's history, the audit log, a new version, and a live queue update."""
    when = now or utcnow()
    if item.first_action_at is None:
        item.first_action_at = when
    item.version += 1
    session.add(ReviewEvent(item_id=item.id, actor_id=moderator.id, action=action, note=note, created_at=when))
    session.add(
        AuditLog(
            actor_id=moderator.id,
            action=action,
            target_type=item.target_type,
            target_id=item.target_id,
            item_id=item.id,
            reason=note,
            details={"item_id": item.id, "version": item.version, **(details or {})},
            created_at=when,
        )
    )
    update = {"item_id": item.id, "version": item.version, "status": item.status, "action": action}
    after_commit(lambda: _queue_changed(update))


def _queue_changed(payload: dict[str, Any]) -> None:
    from forum.realtime.moderation import queue_changed

    queue_changed(payload)
