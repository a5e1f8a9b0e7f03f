"""Live chat: rooms (one per board, one per check-in), messages, read marks, mutes, and group check-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.accounts import User
from forum.models.base import UTCDateTime, created_at_column
from forum.models.forum import Board

ROOM_KINDS = ("board", "checkin")
MESSAGE_KINDS = ("text", "mood")
# scheduled -> open -> mood_round -> open_talk -> closing_round -> closed
CHECKIN_STATES = ("scheduled", "open", "mood_round", "open_talk", "closing_round", "closed")
MOOD_PHASES = ("start", "end")


class ChatRoom(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "chat_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What clients name the room by: "board-<slug>" or "checkin-<id>".
    key: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[str] = mapped_column(String(150), nullable=False)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), unique=True)
    # One message per N seconds per person; 0 is off. Moderators are exempt.
    slow_mode_seconds: Mapped[int] = mapped_column(default=0, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()

    board: Mapped[Board | None] = relationship()

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class ChatMessage(db.Model):  # type: ignore[name-defined,misc]
    """Saved before it is sent: the id is the order, and what a reconnecting client asks "after"."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("author_id", "client_id", name="uq_chat_messages_author_client"),
        Index("ix_chat_messages_room_id", "room_id", "id"),
        Index("ix_chat_messages_author_room", "author_id", "room_id", "id"),
        # A rejoin asks for the retractions up to its `after`; without this index finding the few
        # retracted messages walked the room's whole history, so every rejoin cost more as the room grew.
        # It covers the query (every column it reads), so SQLite's planner, which without statistics
        # can't tell a partial index is small, still prefers it to ix_chat_messages_room_id.
        Index(
            "ix_chat_messages_room_retracted",
            "room_id",
            "id",
            "removed_by_id",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
        # Clients ask for messages "after" an id, read marks and review items hold ids without a foreign key:
        # a reused id would hide a message or show a moderator someone else's words.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("chat_rooms.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Made by the client, unique per author: a resend after a lost ack finds the first message.
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), default="text", nullable=False)
    body_md: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    risk_level: Mapped[str] = mapped_column(String(16), default="none", nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Deleted by the author (text erased) or removed by a moderator (text kept for the review record).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    room: Mapped[ChatRoom] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])

    @property
    def is_retracted(self) -> bool:
        return self.deleted_at is not None


class ChatReadMark(db.Model):  # type: ignore[name-defined,misc]
    """The last message id a person has seen in a room: unread counts are messages after it."""

    __tablename__ = "chat_read_marks"
    __table_args__ = (UniqueConstraint("room_id", "user_id", name="uq_chat_read_marks_room_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("chat_rooms.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    last_read_id: Mapped[int] = mapped_column(default=0, nullable=False)


class ChatMute(db.Model):  # type: ignore[name-defined,misc]
    """A moderator stopped a person from sending in one room until a time."""

    __tablename__ = "chat_mutes"
    __table_args__ = (Index("ix_chat_mutes_room_user", "room_id", "user_id", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("chat_rooms.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class CheckIn(db.Model):  # type: ignore[name-defined,misc]
    """A hosted group session with its own room."""

    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("length_minutes > 0", name="length_positive"),
        Index("ix_checkins_state_start", "state", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("chat_rooms.id", ondelete="CASCADE"), unique=True, nullable=False)
    host_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(150), nullable=False)
    area: Mapped[str | None] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    length_minutes: Mapped[int] = mapped_column(nullable=False)
    capacity: Mapped[int] = mapped_column(nullable=False)
    state: Mapped[str] = mapped_column(String(16), default="scheduled", nullable=False)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transcript_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    room: Mapped[ChatRoom] = relationship()
    host: Mapped[User | None] = relationship()


class CheckInParticipant(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "checkin_participants"
    __table_args__ = (UniqueConstraint("checkin_id", "user_id", name="uq_checkin_participants"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    joined_at: Mapped[datetime] = created_at_column()


class CheckInMood(db.Model):  # type: ignore[name-defined,misc]
    """One person's 1-10 mood and word, at the start (mood round) or the end (closing round)."""

    __tablename__ = "checkin_moods"
    __table_args__ = (
        UniqueConstraint("checkin_id", "user_id", "phase", name="uq_checkin_moods_phase"),
        CheckConstraint("mood >= 1 AND mood <= 10", name="mood_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    phase: Mapped[str] = mapped_column(String(8), nullable=False)
    mood: Mapped[int] = mapped_column(nullable=False)
    # Part of the transcript: erased with it. The number stays for the summary.
    word: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("chat_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
