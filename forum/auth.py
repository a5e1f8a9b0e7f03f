"""Who is asking: session cookies for pages, bearer tokens for the API, one loader for both."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, Request, flash, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_url, login_user, logout_user
from sqlalchemy import bindparam, select

from forum.extensions import db, login_manager
from forum.logs import security_event
from forum.models import User
from forum.services import accounts
from forum.statements import prebuilt


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.jinja_env.globals["suspended_until"] = suspended_until


# Built once: every signed-in request runs it, and a prepared statement skips building and keying it anew.
_USER_BY_ID = prebuilt(select(User).where(User.id == bindparam("user_id")))


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # Cookies made before the stamp existed ("id:version") are refused: they are exactly the ones that
    # could name a stranger, and signing in once more is all it costs their holder.
    parts = session_id.split(":")
    if len(parts) != 3:
        return None
    user_id, version, stamp = parts
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.scalars(_USER_BY_ID, {"user_id": int(user_id)}).first()
    if user is not None and not accounts.same_account(user, stamp):
        return None  # the id belongs to someone else now: not theirs, and not theirs to be told about
    if user is not None and user.is_suspended:
        request.environ[_SUSPENDED_UNTIL] = user.suspended_until  # _unauthorized says so, not "sign in"
        return None
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


_SUSPENDED_UNTIL = "hearth.suspended_until"


def suspended_until() -> datetime | None:
    """Until when the account signed in on this browser is suspended, or None. Its pages say so: as a
    guest's pages they would not tell someone suspended mid-session what happened."""
    current_user._get_current_object()  # loads the session's user: the loader notes a suspension
    until: datetime | None = request.environ.get(_SUSPENDED_UNTIL)
    return until


@login_manager.unauthorized_handler
def _unauthorized() -> ResponseReturnValue:
    """A page that needs a signed-in person. Someone whose account was suspended while signed in is told so
    (with the crisis lines), not sent to a sign-in page that would only refuse them; the moderators'
    message, which says why, waits for their password. Everyone else signs in, as Flask-Login would ask."""
    until = request.environ.get(_SUSPENDED_UNTIL)
    if until is not None:
        message = f"This account is suspended until {until:%d %B %Y, %H:%M} UTC. "
        message += "Sign in to read the moderators' message."
        return render_template("auth/suspended.html", message=message, notice=None, suspension_page=True), 403
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


@login_manager.request_loader
def _load_user_from_token(request: Request) -> User | None:
    token = bearer_token(request)
    return accounts.user_for_token(token) if token else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def start_session(user: User, *, remember: bool) -> None:
    # A fresh session at login: nothing an attacker planted in the old cookie survives.
    session.clear()
    login_user(user, remember=remember)
    security_event("login", user_id=user.id)


def end_session(user: User) -> None:
    user_id = user.id
    accounts.end_sessions(user)
    logout_user()
    session.clear()
    security_event("logout", user_id=user_id)
