"""In-app notifications and each person's choice of which kinds they want."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.accounts import User
from forum.models.base import UTCDateTime, created_at_column
from forum.models.forum import Post, Thread

# reply: a reply in a thread you started; mention: @you; quote: someone quoted you;
# followed: new activity in a thread or board you follow; moderator: a message from the moderators;
# check_in: a group check-in you joined is starting.
# The kinds a person can switch off (the settings page lists them). Staff also get "escalated" (an item
# handed to the admins), which nobody switches off.
NOTIFICATION_KINDS = ("reply", "mention", "quote", "followed", "moderator", "check_in")
KIND_LABELS = {
    "reply": "Replies to threads you started",
    "mention": "Someone mentions you (@name)",
    "quote": "Someone quotes you",
    "followed": "New posts in threads and boards you follow",
    "moderator": "Messages from the moderators",
    "check_in": "A check-in you joined is starting",
}


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """Something a person should hear about. Points at the writing; never copies another person's words."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
        # Notifications are deleted when what they point at goes; pages and live clients hold their ids
        # (open, mark read, "before"), which must never come to name a newer notification.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # Null for anonymous posts and former members: the list then says "a member".
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # Only for moderator messages and check-ins: the moderators' own words (sanitised HTML) or a link.
    body_html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    url: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    thread: Mapped[Thread | None] = relationship()
    post: Mapped[Post | None] = relationship()


class NotificationSetting(db.Model):  # type: ignore[name-defined,misc]
    """A kind the person switched off (or back on); every kind is on until they say otherwise."""

    __tablename__ = "notification_settings"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_notification_settings_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    enabled: Mapped[bool] = mapped_column(nullable=False)
