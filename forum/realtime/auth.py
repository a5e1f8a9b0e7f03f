"""Who is on the other end of a socket: the session cookie in a browser, `auth={"token": ...}` elsewhere."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import bindparam, select

from forum import permissions
from forum.extensions import db
from forum.models import ApiToken, User
from forum.services.accounts import _token_hash


def socket_user(auth: Any) -> User | None:
    """The signed-in, active person for this connection, or None (the connection is then refused)."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        # accounts.user_for_token's rules, as the statement built once below: a thousand clients
        # reconnecting at once each run it at connect.
        user = db.session.scalar(_LIVE_TOKEN_HOLDER, {"token_hash": _token_hash(auth["token"])})
        return user if user is not None and user.is_active else None
    return permissions.signed_in(current_user)


def still_valid(user_id: int, session_version: int) -> User | None:
    """Re-checked on every event: a logout, suspension or password change elsewhere ends the socket's rights."""
    db.session.expire_all()
    user = db.session.get(User, user_id)
    if user is None or user.session_version != session_version or not user.is_active:
        return None
    return user


# The rules of accounts.user_for_token (not revoked, made under the person's current session version) as
# one statement built once: every event of a token socket runs it, and the token row itself isn't needed.
_LIVE_TOKEN_HOLDER = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.session_version == User.session_version,
    )
)


def token_still_valid(user_id: int, token: str) -> User | None:
    """For token sockets: the token itself must still be live (revoking one token ends its sockets' rights)."""
    db.session.expire_all()
    user = db.session.scalar(_LIVE_TOKEN_HOLDER, {"token_hash": _token_hash(token)})
    if user is None or user.id != user_id or not user.is_active:
        return None
    return user
