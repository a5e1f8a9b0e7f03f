"""Boards, threads, posts and their earlier versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.accounts import User
from forum.models.base import UTCDateTime, created_at_column, utcnow

RISK_LEVELS = ("none", "concern", "crisis", "unknown")
# visible: everyone; held: the author and moderators only (crisis "hold" policy); hidden: removed by a moderator.
VISIBILITIES = ("visible", "held", "hidden")


class Board(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    area: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(default=0, nullable=False)
    allows_anonymous: Mapped[bool] = mapped_column(default=False, nullable=False)
    # Kept in the write transaction so the home page never counts rows per view.
    thread_count: Mapped[int] = mapped_column(default=0, nullable=False)
    post_count: Mapped[int] = mapped_column(default=0, nullable=False)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Thread(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_board_activity", "board_id", "pinned", "last_activity_at"),
        # Links, notifications and moderation records name threads by id: a new thread must never take an old one's.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(150), nullable=False)
    pinned: Mapped[bool] = mapped_column(default=False, nullable=False)
    locked: Mapped[bool] = mapped_column(default=False, nullable=False)
    is_anonymous: Mapped[bool] = mapped_column(default=False, nullable=False)
    post_count: Mapped[int] = mapped_column(default=0, nullable=False)
    risk_level: Mapped[str] = mapped_column(String(16), default="none", nullable=False)
    visibility: Mapped[str] = mapped_column(String(16), default="visible", nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    board: Mapped[Board] = relationship()
    author: Mapped[User | None] = relationship()


class Post(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("author_id", "idempotency_key", name="uq_posts_author_idempotency"),
        Index("ix_posts_thread_number", "thread_id", "number"),
        Index("ix_posts_author", "author_id"),
        # Links (#p<id>), the search index, kept HTML, screenings, reports and review items name posts by id
        # without a foreign key: SQLite must never give a removed post's id to someone else's words.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Position in the thread, 1 for the opening post; pages are computed from it, not from OFFSET.
    number: Mapped[int] = mapped_column(nullable=False)
    body_md: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    content_note: Mapped[str | None] = mapped_column(String(120))
    is_anonymous: Mapped[bool] = mapped_column(default=False, nullable=False)
    risk_level: Mapped[str] = mapped_column(String(16), default="none", nullable=False)
    visibility: Mapped[str] = mapped_column(String(16), default="visible", nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    thread: Mapped[Thread] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    revisions: Mapped[list[PostRevision]] = relationship(
        back_populates="post", order_by="PostRevision.id", cascade="all, delete-orphan"
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PostRevision(db.Model):  # type: ignore[name-defined,misc]
    """An earlier version of a post, saved before each edit."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), nullable=False, index=True)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body_md: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    content_note: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = created_at_column()

    post: Mapped[Post] = relationship(back_populates="revisions")
