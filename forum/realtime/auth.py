"""Who is on the other end of a socket: the session cookie in a browser, `auth={"token": ...}` elsewhere."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from forum import permissions
from forum.extensions import db
from forum.models import User
from forum.realtime import TOKEN_HASH_KEY
from forum.services import accounts

# The account a socket was opened by (User.account_stamp), kept with the connection: its events are
# re-checked against it, so a socket never acts for whoever is given the id of an account deleted meanwhile.
ACCOUNT_STAMP_KEY = "hearth.account_stamp"


def socket_user(auth: Any) -> User | None:
    """The signed-in, active person for this connection, or None (the connection is then refused)."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        user = accounts.user_for_token(auth["token"])
        if user is not None:  # so revoking the token can find this connection (forum.realtime.disconnect_token)
            request.environ[TOKEN_HASH_KEY] = accounts.token_hash(auth["token"])
    else:
        user = permissions.signed_in(current_user)
    if user is not None:
        request.environ[ACCOUNT_STAMP_KEY] = user.account_stamp()
    return user


def still_valid(user_id: int, session_version: int) -> User | None:
    """Re-checked on every event: a logout, suspension or password change elsewhere ends the socket's rights,
    and so does the account's deletion, even once its id has been given to someone new (in a socket's own
    context the account must be the one that opened it)."""
    db.session.expire_all()
    user = db.session.get(User, user_id)
    if user is None or user.session_version != session_version or not user.is_active:
        return None
    if has_request_context() and not accounts.same_account(user, request.environ.get(ACCOUNT_STAMP_KEY)):
        return None
    return user


def token_still_valid(user_id: int, token: str) -> User | None:
    """For token sockets: the token itself must still be live (revoking one token ends its sockets' rights)."""
    db.session.expire_all()
    user = accounts.user_for_token(token)
    return user if user is not None and user.id == user_id else None
