"""People and their credentials."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.base import UTCDateTime, created_at_column, utcnow

ROLES = ("member", "moderator", "admin")


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"
    # Never give a deleted account's id to someone new (SQLite would, without AUTOINCREMENT): sign-in cookies,
    # sockets, rate limits, logs and moderation records name people by id after their row is gone.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30), nullable=False)
    # Case-insensitive uniqueness: "Sam" and "sam" are the same person to readers.
    username_key: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default="member", nullable=False)
    # Bumped at logout, password change and suspension: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1, nullable=False)
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bio: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # The bio as sanitised HTML, rendered once when it is saved (forum.services.profiles).
    bio_html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    pronouns: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    trusted: Mapped[bool] = mapped_column(default=False, nullable=False)
    # Off until the person says yes: only then may moderator decisions on their posts become training rows.
    training_opt_in: Mapped[bool] = mapped_column(default=False, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def get_id(self) -> str:
        """What the session and remember-me cookies name the person by: "id:session version:account stamp".

        The session version ends every older cookie when it is bumped (logout, password change, suspension).
        The stamp keeps a cookie of a deleted account from ever naming whoever was given its id next: an id
        and a version alone could match a stranger's new account (forum/auth.py reads it back).
        """
        return f"{self.id}:{self.session_version}:{self.account_stamp()}"

    def account_stamp(self) -> str:
        """What tells this account from any other that ever had its id: its name key and when it was made.

        Sign-in cookies, sockets and data passes carry it beside the id. Ids are never given out twice
        (AUTOINCREMENT on SQLite, sequences on PostgreSQL), but a SQLite database not yet migrated, or a table
        rebuilt by hand, would still do it, and a deleted person's other device must then not find itself
        signed in as whoever got the id next. The name is retired when its account goes, and the time differs
        anyway: a stranger never matches. A digest, so a cookie never holds the name or the time in clear.
        """
        made = f"{self.id}:{self.username_key}:{self.created_at.isoformat()}"
        return hashlib.sha256(made.encode()).hexdigest()[:16]

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None and not self.is_suspended

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > utcnow()

    @property
    def is_silenced(self) -> bool:
        return self.silenced_until is not None and self.silenced_until > utcnow()

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A bearer token; only its SHA-256 is stored, so a database leak gives no usable token."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # Tokens die with the session version they were made under (password change, suspension).
    session_version: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")


class RetiredName(db.Model):  # type: ignore[name-defined,misc]
    """The pseudonym of a deleted account, as a keyed hash, so nobody else can take it.

    Quotes, mentions and replies still carry the old name; a newcomer wearing it would be taken
    for the person who left. Only the hash is kept: the name cannot be listed from the database.
    """

    __tablename__ = "retired_names"

    name_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    retired_at: Mapped[datetime] = created_at_column()
