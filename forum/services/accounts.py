"""Accounts: registration, credentials, sessions and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from forum import limits
from forum.extensions import db
from forum.hashing import keyed_hash
from forum.models import ROLES, ApiToken, ModeratorMessage, RetiredName, User, utcnow
from forum.services.errors import Conflict, NotAuthenticated, Suspended, ValidationFailed, invalid
from forum.services.transaction import write_transaction
from forum.services.validation import clean_single_line
from forum.statements import prebuilt


@lru_cache(maxsize=4)
def _hasher_for(profile: str) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher.from_parameters(getattr(profiles, profile))
    # A hash of a random password, verified against when the username is unknown, so a wrong
    # username costs the same time as a wrong password and answers the same.
    return hasher, hasher.hash(secrets.token_hex(16))


def _hasher() -> PasswordHasher:
    """Argon2id; the profile is configurable so tests can use the cheapest one. Rehash on login when it changes."""
    return _hasher_for(current_app.config["ARGON2_PROFILE"])[0]


def _dummy_hash() -> str:
    return _hasher_for(current_app.config["ARGON2_PROFILE"])[1]


_USERNAME_RE = re.compile(limits.USERNAME_PATTERN)
_PHONE_RE = re.compile(r"^\+?[\d\-_]{7,}$")
BAD_CREDENTIALS = "That username and password don't match an account."


def normalise_username(username: str) -> str:
    return username.casefold()


def validate_username(raw: object) -> str:
    username = clean_single_line("username", raw, min_len=limits.USERNAME_MIN, max_len=limits.USERNAME_MAX)
    if "@" in username:
        raise invalid("username", "Please choose a pseudonym, not an email address.")
    if not _USERNAME_RE.match(username):
        raise invalid("username", "Use only letters, digits, _ and -.")
    if _PHONE_RE.match(username):
        raise invalid("username", "Please choose a pseudonym, not a phone number.")
    return username


# Names a member could use to pass as staff ("moderator", "hearth_team", "admin2"): staff badges show who
# the moderators are, and a member's name must not pretend otherwise. Staff accounts, made by an admin
# from the shell, may use them.
_STAFF_WORDS = frozenset(
    ("admin", "admins", "administrator", "mod", "mods", "moderator", "moderators", "staff", "hearth", "official",
     "system", "helpline")
)  # fmt: skip
_STAFF_PREFIXES = ("admin", "moderator", "hearth", "staff")


# Digits that stand in for letters in look-alike names ("m0derator", "adm1n").
_LOOK_ALIKE = str.maketrans("013457", "oieast")


def _sounds_like_staff(username: str) -> bool:
    folded = unicodedata.normalize("NFKC", username).casefold()
    return any(_staff_words_in(name) for name in (folded, folded.translate(_LOOK_ALIKE)))


def _staff_words_in(name: str) -> bool:
    words = [word for word in re.split(r"[_\-\d]+", name) if word]
    return name.startswith(_STAFF_PREFIXES) or any(word in _STAFF_WORDS for word in words)


def validate_password(raw: object, username: str) -> str:
    if not isinstance(raw, str):
        raise invalid("password", "Must be text.")
    if len(raw) < limits.PASSWORD_MIN:
        raise invalid("password", f"Use at least {limits.PASSWORD_MIN} characters.")
    if len(raw) > limits.PASSWORD_MAX:
        raise invalid("password", f"Use at most {limits.PASSWORD_MAX} characters.")
    if "\x00" in raw:
        raise invalid("password", "Contains a null byte.")
    if raw.casefold() == username.casefold():
        raise invalid("password", "Your password can't be your username.")
    return raw


def _validate_email(raw: object) -> str | None:
    if raw in (None, ""):
        return None
    email = clean_single_line("email", raw, max_len=limits.EMAIL_MAX)
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise invalid("email", "That doesn't look like an email address.")
    return email


def register(username: object, password: object, *, email: object = None, role: str = "member") -> User:
    name = validate_username(username)
    secret = validate_password(password, name)
    address = _validate_email(email)
    if role not in ROLES:
        raise invalid("role", f"Role must be one of {', '.join(ROLES)}.")
    if role == "member" and _sounds_like_staff(name):
        raise invalid("username", "That name is kept for the Hearth team. Please choose another.")
    with write_transaction() as session:
        key = normalise_username(name)
        if session.scalar(select(User.id).where(User.username_key == key)) is not None or _is_retired(session, key):
            raise Conflict("That username is taken.", fields={"username": ["That username is taken."]})
        user = User(username=name, username_key=key, password_hash=_hasher().hash(secret), email=address, role=role)
        session.add(user)
    return user


def retired_name_hash(username: str) -> str:
    return keyed_hash(b"retired-name", normalise_username(username))


def _is_retired(session: Session, username_key: str) -> bool:
    return session.get(RetiredName, retired_name_hash(username_key)) is not None


def same_account(user: User, stamp: object) -> bool:
    """`stamp` was made for this very account, not an earlier one that had its id (User.account_stamp)."""
    return isinstance(stamp, str) and hmac.compare_digest(stamp, user.account_stamp())


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username_key == normalise_username(username)))


def authenticate(username: object, password: object) -> User:
    """The user whose credentials these are, or NotAuthenticated with one message for every failure."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise NotAuthenticated(BAD_CREDENTIALS)
    user = find_user(username) if username else None
    if user is None or user.deleted_at is not None:
        _verify(_dummy_hash(), password)
        raise NotAuthenticated(BAD_CREDENTIALS)
    if not _verify(user.password_hash, password):
        raise NotAuthenticated(BAD_CREDENTIALS)
    if user.is_suspended:
        until = user.suspended_until
        assert until is not None
        raise Suspended(
            f"This account is suspended until {until:%d %B %Y, %H:%M} UTC.",
            suspended_until=until.isoformat(),
            notice_id=_latest_suspension_notice(user),
            user_id=user.id,
        )
    if _hasher().check_needs_rehash(user.password_hash):
        with write_transaction():
            user.password_hash = _hasher().hash(password)
    return user


# --- a suspended person's own data ----------------------------------------------------------------------
#
# A suspension ends every session, but not the person's right to their own writing: after the right password
# the suspension page carries a short-lived pass that downloads their data export, and nothing else.

_SIGNED_FOR = "hearth-suspended-data"  # the signer salt: a pass for this and nothing else
DATA_PASS_MINUTES = 15


def data_pass(user_id: int) -> str:
    """A signed pass to this person's own data export, for the suspension page (valid DATA_PASS_MINUTES)."""
    user = db.session.get(User, user_id)
    assert user is not None
    return _pass_signer().dumps({"id": user.id, "v": user.session_version, "a": user.account_stamp()})


def holder_of_data_pass(token: object) -> User:
    """The person a data pass was given to; NotAuthenticated once it has expired or their sessions ended."""
    expired = NotAuthenticated("That download button has expired or is not valid. Sign in again for a new one.")
    if not isinstance(token, str) or not token:
        raise expired
    try:
        claims = _pass_signer().loads(token, max_age=DATA_PASS_MINUTES * 60)
    except BadSignature:
        raise expired from None
    user = db.session.get(User, claims.get("id")) if isinstance(claims, dict) else None
    if user is None or user.deleted_at is not None or user.session_version != claims.get("v"):
        raise expired
    if not same_account(user, claims.get("a")):  # the id was given to someone else since
        raise expired
    return user


def _pass_signer() -> URLSafeTimedSerializer:
    secret = current_app.secret_key
    assert secret is not None  # config refuses to start without one
    return URLSafeTimedSerializer(secret, salt=_SIGNED_FOR)


def set_trusted(user: User, trusted: bool) -> User:
    """A trusted member may host live check-ins (permissions.can_host_checkin)."""
    with write_transaction():
        user.trusted = trusted
    return user


def _latest_suspension_notice(user: User) -> int | None:
    """The moderators' message that says why, shown only after the right password."""
    return db.session.scalar(
        select(ModeratorMessage.id)
        .where(ModeratorMessage.recipient_id == user.id, ModeratorMessage.kind == "suspended")
        .order_by(ModeratorMessage.id.desc())
        .limit(1)
    )


def suspension_notice(error: Suspended) -> ModeratorMessage | None:
    return db.session.get(ModeratorMessage, error.notice_id) if error.notice_id is not None else None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def end_sessions(user: User) -> None:
    """Invalidate every session cookie, remember-me cookie and token of this user."""
    with write_transaction():
        user.session_version += 1
        for token in user.tokens:
            if token.revoked_at is None:
                token.revoked_at = utcnow()
    _disconnect_sockets(user)


def _disconnect_sockets(user: User) -> None:
    from forum.services.transaction import after_commit

    def disconnect() -> None:
        from forum.realtime import disconnect_user

        disconnect_user(user.id)

    after_commit(disconnect)


def change_password(user: User, current: object, new: object) -> None:
    if not isinstance(current, str) or not _verify(user.password_hash, current):
        raise invalid("current_password", "That isn't your current password.")
    secret = validate_password(new, user.username)
    with write_transaction():
        user.password_hash = _hasher().hash(secret)
        user.session_version += 1
        for token in user.tokens:
            if token.revoked_at is None:
                token.revoked_at = utcnow()
        _disconnect_sockets(user)


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(f"Role must be one of {', '.join(ROLES)}.")
    with write_transaction():
        user.role = role
        # Sockets were let in with the old role (a moderator's hears crisis alerts): they reconnect with the new one.
        _disconnect_sockets(user)


# --- API tokens -------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    with write_transaction() as session:
        session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), session_version=user.session_version))
    return token


# The token's holder with the token's rules (not revoked, made under the person's current session
# version) in one statement built once: the API runs it on every request, and the token row itself
# isn't needed (loading it as an entity cost as much as the person).
_TOKEN_HOLDER = prebuilt(
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.session_version == User.session_version,
    )
)


def user_for_token(token: str) -> User | None:
    user = db.session.scalar(_TOKEN_HOLDER, {"token_hash": token_hash(token)})
    return user if user is not None and user.is_active else None


def revoke_token(token: str) -> bool:
    digest = token_hash(token)
    with write_transaction() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        _close_token_sockets(row.user_id, digest)
    return True


def _close_token_sockets(user_id: int, digest: str) -> None:
    """After the commit: the sockets opened with this token close too (they would go on hearing the
    rooms they joined; their next event would be refused, but a listener sends none)."""
    from forum.services.transaction import after_commit

    def close() -> None:
        from forum.realtime import disconnect_token

        disconnect_token(user_id, digest)

    after_commit(close)
