"""Who is asking: session cookies for pages, bearer tokens for the API, one loader for both."""

from __future__ import annotations

from flask import Flask, Request, session
from flask_login import login_user, logout_user
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


# Built once: every signed-in request runs it, and a prepared statement skips building and keying it anew.
_USER_BY_ID = prebuilt(select(User).where(User.id == bindparam("user_id")))


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # The id carries the session version: logout, password change and suspension bump it,
    # which ends every older session and remember-me cookie on the server side.
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.scalars(_USER_BY_ID, {"user_id": int(user_id)}).first()
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


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
