"""Screenings, the review queue and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.accounts import User
from forum.models.base import UTCDateTime, created_at_column

if TYPE_CHECKING:
    from forum.models.forum import Post

# What a review item or screening can point at.
TARGET_TYPES = ("post", "chat_message", "user", "journal")
PRIORITIES = ("urgent", "review")
ITEM_STATUSES = ("open", "resolved")


class ScreeningRecord(db.Model):  # type: ignore[name-defined,misc]
    """What moderation.screen said about one piece of writing, with the model that said it."""

    __tablename__ = "screenings"
    __table_args__ = (Index("ix_screenings_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(20), nullable=False)
    target_id: Mapped[int] = mapped_column(nullable=False)
    # "none" | "concern" | "crisis" | "unknown" (the screen failed: treated as urgent).
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float | None] = mapped_column(Float)
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    area: Mapped[str | None] = mapped_column(String(32))
    guides: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    model_version: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class ReviewItem(db.Model):  # type: ignore[name-defined,misc]
    """One thing a moderator should look at: a screening, a peer report or a check-in request."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_queue", "status", "priority", "waiting_since"),
        Index("ix_review_items_target", "target_type", "target_id", "status"),
        Index("ix_review_items_priority_created", "priority", "created_at"),
        # Staff notifications link to items by id in plain text: the link must never open another item.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(20), nullable=False)
    target_id: Mapped[int] = mapped_column(nullable=False)
    # The person the item is about (the author of the post or message), for check-ins and history.
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    priority: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float | None] = mapped_column(Float)
    # [{"source": "screening"|"report"|"check_in_request"|"refused_words", "kind": ..., "detail": ...}, ...]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Optimistic lock: an action names the version it saw; a stale one gets 409 and the fresh state.
    version: Mapped[int] = mapped_column(default=1, nullable=False)
    waiting_since: Mapped[datetime] = created_at_column()
    first_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when a moderator hands the item to the admins (suspensions of staff, legal, anything beyond them).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    screening: Mapped[ScreeningRecord | None] = relationship()
    subject_user: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])
    # The post an item is about, when it is about one: read-only (target_type and target_id say which), for
    # pages of many items that need each one's post (is it anonymous?) without a query per item.
    subject_post: Mapped[Post | None] = relationship(
        "Post",
        primaryjoin="and_(ReviewItem.target_type == 'post', foreign(ReviewItem.target_id) == Post.id)",
        viewonly=True,
    )
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    events: Mapped[list[ReviewEvent]] = relationship(
        back_populates="item", order_by="ReviewEvent.id", cascade="all, delete-orphan"
    )


class ReviewEvent(db.Model):  # type: ignore[name-defined,misc]
    """The history of a review item: created, claimed, each action."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    item: Mapped[ReviewItem] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class AuditLog(db.Model):  # type: ignore[name-defined,misc]
    """Who did what to whom, when and why: every moderation action and every reveal."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    target_type: Mapped[str] = mapped_column(String(20), nullable=False)
    target_id: Mapped[int | None] = mapped_column()
    # The review item an action was taken on, when there was one: the item page shows its audit trail.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    actor: Mapped[User | None] = relationship()


# --- triage: reports, decisions and messages to members ---------------------------------------

REPORT_KINDS = ("rules", "worried")
# What a moderator can do to a review item; "claim" is not an action but is recorded the same way.
ACTIONS = (
    "mark_safe",
    "reach_out",
    "hide",
    "lock_thread",
    "silence",
    "suspend",
    "lift",
    "escalate",
    "note",
    "resolve",
)


class PeerReport(db.Model):  # type: ignore[name-defined,misc]
    """A member pointing moderators at a post: it breaks the rules, or they are worried about the writer."""

    __tablename__ = "peer_reports"
    # The worried-report limit counts one reporter's reports in a time window.
    __table_args__ = (Index("ix_peer_reports_reporter_kind_time", "reporter_id", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_type: Mapped[str] = mapped_column(String(20), nullable=False)
    target_id: Mapped[int] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class ReviewDecision(db.Model):  # type: ignore[name-defined,misc]
    """A moderator's judgement on a screened item: the label that export-feedback turns into training rows.

    `agrees` compares the judgement with the screening: marking a concern or crisis screening safe
    disagrees; any protective action agrees. It is None when the screening had no opinion to compare.
    """

    __tablename__ = "review_decisions"
    __table_args__ = (Index("ix_review_decisions_version", "model_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), nullable=False, index=True)
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id", ondelete="SET NULL"))
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    # The training label: "none" | "concern" | "crisis".
    label: Mapped[str] = mapped_column(String(16), nullable=False)
    screened_level: Mapped[str | None] = mapped_column(String(16))
    model_version: Mapped[str | None] = mapped_column(String(64))
    agrees: Mapped[bool | None] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()


class ModeratorMessage(db.Model):  # type: ignore[name-defined,misc]
    """A private message from the moderators to one member: a supportive reach-out or a notice of an action."""

    __tablename__ = "moderator_messages"
    __table_args__ = (Index("ix_moderator_messages_recipient", "recipient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id", ondelete="SET NULL"))
    # "reach_out" | "hidden" | "silenced" | "suspended" | "lifted" | "locked"
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    # Rendered and sanitised at write time, like posts.
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    include_resources: Mapped[bool] = mapped_column(default=True, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])
