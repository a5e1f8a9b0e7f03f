"""A member's private inbox of messages from the moderators: reach-outs and notices of actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from forum import permissions
from forum.extensions import db
from forum.models import ModeratorMessage, utcnow
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
