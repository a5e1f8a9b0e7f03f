"""Profiles: a pseudonym, an optional short bio and pronouns, the join date and a post count. No real names.

Also the one deliberate way to learn who wrote an anonymous post: a moderator's reveal, audited.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forum import limits, permissions
from forum.extensions import db
from forum.models import AuditLog, Post, Thread, User
from forum.rendering import render_markdown
from forum.services import personal_data
from forum.services.errors import NotFound
from forum.services.transaction import write_transaction
from forum.services.validation import clean_single_line, clean_text

AVATAR_HUES = 8
REVEAL_REASON_MIN = 10


def get_profile(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username_key == username.casefold()))
    if user is None or user.deleted_at is not None:
        raise NotFound("There is no member with that name.")
    return user


def public_post_count(user: User) -> int:
    """Posts others can see under this name. Anonymous posts are left out: counting them would unmask them."""
    query = (
        select(func.count(Post.id))
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Post.author_id == user.id,
            Post.is_anonymous.is_(False),
            Post.deleted_at.is_(None),
            Post.visibility == "visible",
            Thread.deleted_at.is_(None),
            Thread.visibility == "visible",
        )
    )
    return int(db.session.scalar(query) or 0)


def initials(name: str) -> str:
    parts = [part for part in name.replace("-", " ").replace("_", " ").split() if part]
    if len(parts) >= 2:
        return (parts[0][0] + parts[1][0]).upper()
    return name[:2].upper() if name else "?"


def avatar_hue(name: str) -> int:
    """A stable colour slot per name (site.css has .avatar-hue-0..7), so avatars differ without uploads."""
    return hashlib.sha256(name.casefold().encode()).digest()[0] % AVATAR_HUES


def update_profile(actor: Any, *, bio: object, pronouns: object) -> User:
    member = permissions.ensure_signed_in(actor)
    clean_bio = clean_text("bio", bio, max_len=limits.BIO_MAX, required=False)
    clean_pronouns = clean_single_line("pronouns", pronouns, max_len=limits.PRONOUNS_MAX, required=False)
    bio_html = render_markdown(clean_bio) if clean_bio else ""
    with write_transaction() as session:
        user = session.get(User, member.id)
        assert user is not None
        user.bio = clean_bio
        user.bio_html = bio_html
        user.pronouns = clean_pronouns
    return user


def reveal_author(actor: Any, post: Post, *, reason: object) -> User:
    """Tell a moderator who wrote an anonymous post, and write down who asked, when and why."""
    moderator = permissions.ensure_can_reveal_author(actor, post)
    why = clean_text("reason", reason, max_len=1000, min_len=REVEAL_REASON_MIN)
    with write_transaction() as session:
        session.add(
            AuditLog(
                actor_id=moderator.id,
                action="reveal_author",
                target_type="post",
                target_id=post.id,
                reason=why,
                details={"thread_id": post.thread_id, "author_id": post.author_id},
            )
        )
    author = db.session.get(User, post.author_id)
    assert author is not None
    return author


# --- personal data ---------------------------------------------------------------------------------


def _export(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "pronouns": user.pronouns,
        "bio": user.bio,
        "role": user.role,
        "joined": user.created_at.isoformat(),
        "markdown": {"profile.md": f"# {user.username}\n\nPronouns: {user.pronouns or '-'}\n\n{user.bio}\n"},
    }


def _erase(session: Session, user: User, keep_posts: bool) -> None:
    # The row itself goes in the accounts step of the deletion; its words go now.
    user.bio = ""
    user.bio_html = ""
    user.pronouns = ""
    user.email = None


personal_data.register("profile", export=_export, erase=_erase)
