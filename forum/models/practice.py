"""Personal practice between sessions: homework from the guides, a private journal, a mood log, a relapse plan.

Everything here belongs to one person and is read by that person only: no moderator view, no search index.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime, created_at_column, utcnow


class HomeworkItem(db.Model):  # type: ignore[name-defined,misc]
    """One guide's practice that the person added to their week."""

    __tablename__ = "homework_items"
    __table_args__ = (
        Index("ix_homework_items_user_due", "user_id", "due_on"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_homework_items_user_idempotency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    guide_slug: Mapped[str] = mapped_column(String(80), nullable=False)
    # A copy of the guide's title and practice at the time, so a later guide edit doesn't rewrite history.
    guide_title: Mapped[str] = mapped_column(String(200), nullable=False)
    practice: Mapped[str] = mapped_column(String(300), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    done_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reflection_md: Mapped[str] = mapped_column(Text, default="", nullable=False)
    reflection_html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # Made by the form: the same practice may be added twice on purpose, but not by one double click.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class JournalEntry(db.Model):  # type: ignore[name-defined,misc]
    """A private journal entry. Its screening lives here, never in the shared screenings table."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_user_created", "user_id", "created_at"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_journal_entries_user_idempotency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(150), default="", nullable=False)
    guide_slug: Mapped[str | None] = mapped_column(String(80))
    body_md: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    # "none" | "concern" | "crisis" | "unknown", and the model that said so.
    screen_level: Mapped[str] = mapped_column(String(16), default="none", nullable=False)
    model_version: Mapped[str | None] = mapped_column(String(64))
    # Made by the form, so a double submit or a retry after a lost answer saves the entry once.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MoodEntry(db.Model):  # type: ignore[name-defined,misc]
    """One mood per person per day (the person's day, not the server's): a second entry replaces the first."""

    __tablename__ = "mood_entries"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_mood_entries_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    mood: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class RelapsePlan(db.Model):  # type: ignore[name-defined,misc]
    """The person's plan for the next hard time; one per person. Plain text, one item per line."""

    __tablename__ = "relapse_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False)
    warning_signs: Mapped[str] = mapped_column(Text, default="", nullable=False)
    triggers: Mapped[str] = mapped_column(Text, default="", nullable=False)
    what_helps: Mapped[str] = mapped_column(Text, default="", nullable=False)
    people: Mapped[str] = mapped_column(Text, default="", nullable=False)
    professionals: Mapped[str] = mapped_column(Text, default="", nullable=False)
    crisis_lines: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
