"""A member's private inbox of messages from the moderators: reach-outs and notices of actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from forum import permissions
from forum.extensions import db
from forum.models import ModeratorMessage, ReviewEvent, User, utcnow
from forum.services import personal_data
from forum.services.transaction import write_transaction


def inbox(actor: Any, *, limit: int = 100) -> list[ModeratorMessage]:
    member = permissions.ensure_signed_in(actor)
    query = (
        select(ModeratorMessage)
        .where(ModeratorMessage.recipient_id == member.id)
        .order_by(ModeratorMessage.created_at.desc(), ModeratorMessage.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Written:
    """Something the member wrote to the moderators (a check-in request's note, a reply from this inbox)."""

    note: str
    created_at: datetime


def conversation(actor: Any, *, limit: int = 100) -> list[ModeratorMessage | Written]:
    """The inbox with the member's own notes to the moderators in it, newest first: both sides of it."""
    member = permissions.ensure_signed_in(actor)
    written = db.session.execute(
        select(ReviewEvent.note, ReviewEvent.created_at)
        .where(ReviewEvent.actor_id == member.id, ReviewEvent.action == "check_in_requested", ReviewEvent.note != "")
        .order_by(ReviewEvent.id.desc())
        .limit(limit)
    )
    entries: list[ModeratorMessage | Written] = [*inbox(member, limit=limit), *(Written(*row) for row in written)]
    entries.sort(key=lambda entry: entry.created_at, reverse=True)
    return entries[:limit]


def unread_count(actor: Any) -> int:
    member = permissions.signed_in(actor)
    if member is None:
        return 0
    count = db.session.scalar(
        select(func.count(ModeratorMessage.id)).where(
            ModeratorMessage.recipient_id == member.id, ModeratorMessage.read_at.is_(None)
        )
    )
    return int(count or 0)


def mark_all_read(actor: Any) -> int:
    member = permissions.ensure_signed_in(actor)
    with write_transaction() as session:
        result = session.execute(
            update(ModeratorMessage)
            .where(ModeratorMessage.recipient_id == member.id, ModeratorMessage.read_at.is_(None))
            .values(read_at=utcnow())
        )
    return int(getattr(result, "rowcount", 0) or 0)


# --- personal data ----------------------------------------------------------------------------------


def _export(user: User) -> dict[str, Any]:
    """The moderators' messages to this person: reach-outs and the reasons given for any action."""
    messages = db.session.scalars(
        select(ModeratorMessage).where(ModeratorMessage.recipient_id == user.id).order_by(ModeratorMessage.id)
    )
    return {
        "messages": [
            {
                "kind": m.kind,
                "text": Markup(m.body_html).striptags(),  # noqa: S704  (sanitised at write time; only read as text here)
                "created_at": m.created_at.isoformat(),
                "read": m.read_at is not None,
            }
            for m in messages
        ]
    }


def _erase(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(ModeratorMessage).where(ModeratorMessage.recipient_id == user.id))


personal_data.register("messages_from_moderators", export=_export, erase=_erase)
