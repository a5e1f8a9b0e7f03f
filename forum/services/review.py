"""The review queue: what moderators should look at, urgent first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forum.models import ReviewEvent, ReviewItem, ScreeningRecord, utcnow
from forum.services.screening import ScreenResult
from forum.services.transaction import after_commit

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


def request_check_in(actor: object, *, note: str = "", source: str = "support_panel") -> ReviewItem:
    """The person asked a moderator to check in with them: an urgent item about them, alerted live."""
    from forum import permissions
    from forum.extensions import db
    from forum.services.transaction import write_transaction
    from forum.services.validation import clean_text

    member = permissions.ensure_signed_in(actor)
    text = clean_text("note", note, max_len=1000, required=False)
    with write_transaction() as session:
        item = _open_item_for(session, "user", member.id)
        reason = {"source": "check_in_request", "kind": source, "detail": text}
        if item is None:
            item = ReviewItem(
                target_type="user",
                target_id=member.id,
                subject_user_id=member.id,
                priority="urgent",
                level="unknown",
                reasons=[reason],
            )
            session.add(item)
            session.flush()
        else:
            item.reasons = [*item.reasons, reason]
            item.priority = "urgent"
            item.version += 1
        session.add(ReviewEvent(item_id=item.id, actor_id=member.id, action="check_in_requested", note=text))
        payload = {
            "item_id": item.id,
            "level": "check_in",
            "excerpt": f"{member.username} asked a moderator to check in with them.",
            "where": {"kind": "user", "user_id": member.id},
        }
        after_commit(lambda: _alert(payload))
    db.session.refresh(item)
    return item


def _alert(payload: dict[str, Any]) -> None:
    from forum.realtime import alert_moderators

    alert_moderators(payload)


def resolve_stale_claims() -> None:
    """Claims expire on read (see claimed_by()); nothing to sweep. Kept for the CLI's maintenance hook."""


def claimed_by(item: ReviewItem) -> int | None:
    if item.claimed_until is None or item.claimed_until <= utcnow():
        return None
    return item.claimed_by_id
