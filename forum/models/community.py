"""Relations between people and the forum: blocking and muting, follows, bookmarks and supportive reactions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
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


# --- following, bookmarks, reactions, profiles ----------------------------------------------------

# The supportive set, in display order. No counts are summed into a score anywhere.
REACTION_KINDS = ("hug", "me_too", "thank_you", "not_alone")
REACTION_LABELS = {"hug": "Hug", "me_too": "Me too", "thank_you": "Thank you", "not_alone": "You're not alone"}
THREAD_WATCH_LEVELS = ("follow", "mute")


class ThreadWatch(db.Model):  # type: ignore[name-defined,misc]
    """A person's choice about one thread: follow it (tell me about new posts) or mute it (never tell me)."""

    __tablename__ = "thread_watches"
    __table_args__ = (UniqueConstraint("user_id", "thread_id", name="uq_thread_watches_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class BoardFollow(db.Model):  # type: ignore[name-defined,misc]
    """Tell me when someone starts a thread on this board."""

    __tablename__ = "board_follows"
    __table_args__ = (UniqueConstraint("user_id", "board_id", name="uq_board_follows_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = created_at_column()


class Bookmark(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("user_id", "post_id", name="uq_bookmarks_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = created_at_column()


class Reaction(db.Model):  # type: ignore[name-defined,misc]
    """One person's supportive reaction to a post; each kind at most once per person and post."""

    __tablename__ = "reactions"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id", "kind", name="uq_reactions_once"),
        Index("ix_reactions_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
