"""Relations between people: blocking (both ways) and muting (one way)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import created_at_column


class Block(db.Model):  # type: ignore[name-defined,misc]
    """blocker_id blocked blocked_id: neither then sees the other's posts or messages."""

    __tablename__ = "blocks"
    __table_args__ = (
        UniqueConstraint("blocker_id", "blocked_id", name="uq_blocks_pair"),
        CheckConstraint("blocker_id <> blocked_id", name="ck_blocks_not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    # "block" hides both ways; "mute" hides the other's writing from the muter only.
    kind: Mapped[str] = mapped_column(String(8), default="block", nullable=False)
    created_at: Mapped[datetime] = created_at_column()
