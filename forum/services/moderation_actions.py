"""What a moderator can do with a review item: one function, one transaction, every step audited.

Each action names the item version the moderator saw; a stale version gets 409 and the fresh state,
so two moderators never act on the same item at once without knowing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forum import permissions
from forum.extensions import db
from forum.models import ModeratorMessage, Post, ReviewDecision, ReviewItem, User, utcnow
from forum.models.moderation import ACTIONS
from forum.rendering import render_markdown
from forum.services import accounts, events, notifications, review
from forum.services.errors import ValidationFailed, invalid
from forum.services.transaction import after_commit, write_transaction
from forum.services.validation import clean_text

NOTE_MAX = 4000
MAX_RESTRICTION_HOURS = 24 * 90
DEFAULT_RESTRICTION_HOURS = 24
# Actions that protect the person or others: on a concern/crisis screening they agree with the model.
PROTECTIVE = ("reach_out", "hide", "lock_thread", "silence", "suspend", "escalate")
# Actions that take something away from the person; a worried report alone never leads to them.
PENALTIES = ("hide", "silence", "suspend")

DEFAULT_REACH_OUT = (
    "Hi, I'm one of the moderators here. I read what you shared and wanted to check in with you. "
    "How are you doing right now? You're not a burden, and you don't have to get through this alone. "
    "If you'd like to talk, write back to us from your messages page (only the moderators see it), "
    "or reach one of the services listed below at any time."
)


@dataclass
class ActionContext:
    session: Session
    item: ReviewItem
    moderator: User
    note: str
    hours: int


def act(
    actor: Any, item_id: int, *, action: object, note: object = "", version: object, hours: object = None
) -> ReviewItem:
    moderator = permissions.ensure_can_see_queue(actor)
    if action not in ACTIONS:
        raise invalid("action", f"Action must be one of: {', '.join(ACTIONS)}.")
    assert isinstance(action, str)
    with write_transaction() as session:
        # The item first: acting on one that does not exist is a 404, whatever the note says.
        item = review.lock_item(session, item_id, version)
        text = clean_text("note", note, max_len=NOTE_MAX, required=action in ("note", "escalate"))
        duration = _clean_hours(hours) if action in ("silence", "suspend") else 0
        if item.status != "open" and action not in ("note", "lift"):  # a resolved item's silence can be lifted
            raise review.stale(item, "This item is already resolved.")
        review.ensure_not_claimed_by_other(item, moderator)
        context = ActionContext(session=session, item=item, moderator=moderator, note=text, hours=duration)
        details = _HANDLERS[action](context) or {}
        if action in PROTECTIVE or action == "mark_safe":
            _record_decision(context, action)
        review.record(session, item, moderator, action, note=text, details=details)
    db.session.refresh(item)
    return item


def _clean_hours(hours: object) -> int:
    if hours in (None, ""):
        return DEFAULT_RESTRICTION_HOURS
    try:
        value = int(str(hours))
    except ValueError:
        raise invalid("hours", "Give the length in whole hours.") from None
    if not 1 <= value <= MAX_RESTRICTION_HOURS:
        raise invalid("hours", f"Choose between 1 and {MAX_RESTRICTION_HOURS} hours.")
    return value


# --- the actions --------------------------------------------------------------------------------


def _mark_safe(ctx: ActionContext) -> dict[str, Any]:
    released = _release_hold(ctx)
    review.mark_resolved(ctx.item)
    return {"released_hold": released}


def _reach_out(ctx: ActionContext) -> dict[str, Any]:
    subject = _subject(ctx)
    message = _send(ctx, subject, "reach_out", ctx.note or DEFAULT_REACH_OUT)
    return {"message_id": message.id}


def _hide(ctx: ActionContext) -> dict[str, Any]:
    _refuse_penalty_from_worry(ctx)
    post = _target_post(ctx)
    post.visibility = "hidden"
    notifications.forget_post(ctx.session, post.id)
    if post.author is not None:
        why = ctx.note or "It didn't fit the community guidelines."
        body = (
            "A moderator hid one of your posts. It is kept, not deleted, and only moderators can read it now.\n\n"
            f"Why: {why}\n\nIf things are hard right now, the people listed below are there for you."
        )
        _send(ctx, post.author, "hidden", body)
    return {"post_id": post.id}


def _lock_thread(ctx: ActionContext) -> dict[str, Any]:
    post = _target_post(ctx)
    post.thread.locked = True
    return {"thread_id": post.thread_id}


def _silence(ctx: ActionContext) -> dict[str, Any]:
    _refuse_penalty_from_worry(ctx)
    subject = _subject(ctx)
    permissions.ensure_can_restrict_user(ctx.moderator, subject)
    before = subject.silenced_until
    subject.silenced_until = _later(before, ctx.hours)
    if subject.silenced_until == before:  # a longer one runs already: nothing new to tell them
        return {"user_id": subject.id, "until": before.isoformat(), "kept_longer": True}
    body = (
        f"A moderator paused your posting until {_when(subject.silenced_until)}. You can still read everything.\n\n"
        f"Why: {ctx.note or 'To give the conversation some room.'}"
    )
    _send(ctx, subject, "silenced", body)
    return {"user_id": subject.id, "until": subject.silenced_until.isoformat()}


def _suspend(ctx: ActionContext) -> dict[str, Any]:
    _refuse_penalty_from_worry(ctx)
    subject = _subject(ctx)
    permissions.ensure_can_restrict_user(ctx.moderator, subject)
    subject.suspended_until = _later(subject.suspended_until, ctx.hours)
    body = (
        f"A moderator suspended your account until {_when(subject.suspended_until)}.\n\n"
        f"Why: {ctx.note or 'A serious breach of the community guidelines.'}"
    )
    _send(ctx, subject, "suspended", body)
    # Joins this transaction: sessions, tokens and sockets end with the same commit as the suspension.
    accounts.end_sessions(subject)
    return {"user_id": subject.id, "until": subject.suspended_until.isoformat()}


def _later(until: datetime | None, hours: int) -> datetime:
    """A new silence or suspension never shortens one already running: a second moderator's shorter
    one (from another item) would otherwise end the first early without anyone deciding so."""
    proposed = utcnow() + timedelta(hours=hours)
    return until if until is not None and until > proposed else proposed


def _when(moment: datetime) -> str:
    return f"{moment:%d %B %Y, %H:%M} UTC"


def _lift(ctx: ActionContext) -> dict[str, Any]:
    """End a silence or a suspension early, and tell the person."""
    subject = _subject(ctx)
    permissions.ensure_can_restrict_user(ctx.moderator, subject)
    if not (subject.is_silenced or subject.is_suspended):
        raise invalid("action", "They are neither silenced nor suspended.")
    subject.silenced_until = subject.suspended_until = None
    why = f"\n\nThe moderator's note: {ctx.note}" if ctx.note else ""
    _send(ctx, subject, "lifted", f"A moderator lifted the pause on your account: you can post and chat again.{why}")
    return {"user_id": subject.id}


def _escalate(ctx: ActionContext) -> dict[str, Any]:
    ctx.item.escalated_at = utcnow()
    admin_ids = list(ctx.session.scalars(select(User.id).where(User.role == "admin", User.deleted_at.is_(None))))
    payload = {"item_id": ctx.item.id, "by": ctx.moderator.username, "note": ctx.note[:280]}
    notifications.tell_admins_of_escalation(
        ctx.session, admin_ids, item_id=ctx.item.id, moderator_id=ctx.moderator.id, note=ctx.note
    )
    after_commit(lambda: _alert_admins(admin_ids, payload))
    return {"admins": len(admin_ids)}


def _note(ctx: ActionContext) -> dict[str, Any]:
    return {}


def _resolve_action(ctx: ActionContext) -> dict[str, Any]:
    # Resolving is the review the "hold" policy waits for; a post the moderator wanted gone is hidden instead.
    released = _release_hold(ctx)
    review.mark_resolved(ctx.item)
    return {"released_hold": released}


_HANDLERS: dict[str, Callable[[ActionContext], dict[str, Any] | None]] = {
    "mark_safe": _mark_safe,
    "reach_out": _reach_out,
    "hide": _hide,
    "lock_thread": _lock_thread,
    "silence": _silence,
    "suspend": _suspend,
    "lift": _lift,
    "escalate": _escalate,
    "note": _note,
    "resolve": _resolve_action,
}


# --- helpers ------------------------------------------------------------------------------------


def _release_hold(ctx: ActionContext) -> bool:
    if ctx.item.target_type != "post":
        return False
    post = ctx.session.get(Post, ctx.item.target_id)
    if post is None or post.visibility != "held":
        return False
    post.visibility = "visible"
    if post.number == 1 and post.thread.visibility == "held":
        post.thread.visibility = "visible"
    # The hold kept the post out of everyone's notifications; now public, it is announced like any new post,
    # inside this transaction, so the release and its notifications commit together.
    events.post_created(post.id)
    return True


def _target_post(ctx: ActionContext) -> Post:
    post = ctx.session.get(Post, ctx.item.target_id) if ctx.item.target_type == "post" else None
    if post is None:
        raise invalid("action", "That action applies to posts only.")
    return post


def _subject(ctx: ActionContext) -> User:
    subject = ctx.session.get(User, ctx.item.subject_user_id) if ctx.item.subject_user_id else None
    if subject is None or subject.deleted_at is not None:
        raise invalid("action", "The person this item is about has left Hearth.")
    return subject


def _refuse_penalty_from_worry(ctx: ActionContext) -> None:
    """A peer's worry is a reason to reach out, never to take something away from the person."""
    sources = {(reason.get("source"), reason.get("kind")) for reason in ctx.item.reasons}
    if sources and sources <= {("report", "worried")}:
        raise ValidationFailed(
            "This item comes only from members worried about the person. Reach out instead; "
            "a worried report never hides or restricts anyone.",
            fields={"action": ["Not available for worried reports."]},
        )


def _send(ctx: ActionContext, recipient: User, kind: str, body: str) -> ModeratorMessage:
    message = ModeratorMessage(
        recipient_id=recipient.id,
        sender_id=ctx.moderator.id,
        item_id=ctx.item.id,
        kind=kind,
        body_html=render_markdown(body),
    )
    ctx.session.add(message)
    ctx.session.flush()
    message_id = message.id
    after_commit(lambda: events.moderator_message_sent(message_id))
    return message


def _record_decision(ctx: ActionContext, action: str) -> None:
    screening = ctx.item.screening
    screened = screening.level if screening else None
    if action == "mark_safe":
        label = "none"
        agrees = None if screened not in ("concern", "crisis") else False
    else:
        label = screened if screened in ("concern", "crisis") else "concern"
        agrees = True if screened in ("concern", "crisis") else None
    ctx.session.add(
        ReviewDecision(
            item_id=ctx.item.id,
            screening_id=screening.id if screening else None,
            moderator_id=ctx.moderator.id,
            action=action,
            label=label,
            screened_level=screened,
            model_version=screening.model_version if screening else None,
            agrees=agrees,
        )
    )


def _alert_admins(admin_ids: list[int], payload: dict[str, Any]) -> None:
    from forum.realtime.moderation import alert_admins

    alert_admins(admin_ids, payload)
