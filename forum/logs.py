"""Logging: plain lines in development, and structured security events that never carry post text.

security_event() writes one JSON object per line to the "forum.security" logger. It takes ids and
outcomes only; fields whose names suggest writing or secrets are withheld even if a caller passes them.
Writes that matter for security are mirrored from the database session, so no service can forget them:
every audit-log row (moderation actions, reveals) and every deletion is logged once its commit succeeded.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

security_log = logging.getLogger("forum.security")

# Names whose values are people's words or credentials: never written to a log.
WITHHELD_FIELDS = frozenset(
    {
        "body", "body_md", "body_html", "text", "content", "content_note", "title", "message", "note", "reason",
        "bio", "query", "q", "password", "new_password", "current_password", "token", "secret", "email", "username",
        "details", "entry", "excerpt",
    }
)  # fmt: skip
_PENDING = "forum_security_pending"
_REQUEST_LINE_ADDRESS = re.compile(r"^\S+ - - \[")
_QUERY_STRING = re.compile(r"^([A-Z]+ [^ ?]*)\?\S*")


def configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    security_log.setLevel(logging.INFO)
    _redact_request_log()
    _mirror_security_writes()


class _NoClientAddress(logging.Filter):
    """Werkzeug's request lines carry the client address and the query string (a search is someone's words):
    the development server keeps neither. Production runs without an access log (deploy/gunicorn.conf.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and _REQUEST_LINE_ADDRESS.match(record.msg):
            record.msg = _REQUEST_LINE_ADDRESS.sub("client - - [", record.msg, count=1)
            if isinstance(record.args, tuple):
                record.args = tuple(_QUERY_STRING.sub(r"\1", a) if isinstance(a, str) else a for a in record.args)
        return True


def _redact_request_log() -> None:
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _NoClientAddress) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_NoClientAddress())


def security_event(event: str, **fields: Any) -> None:
    """One JSON line per security event. Callers pass ids and outcomes, never text or secrets."""
    record: dict[str, Any] = {"event": event}
    record.update({key: "[withheld]" if key in WITHHELD_FIELDS else value for key, value in fields.items()})
    if has_request_context():
        record.setdefault("path", _route())
        record.setdefault("method", request.method)
        record.setdefault("addr", _address_key())
        actor = _actor_id()
        if actor is not None:
            record.setdefault("actor_id", actor)
    security_log.info(json.dumps(record, default=str, sort_keys=True))


def _route() -> str:
    """The route, not the path: a path can name a person (/u/<username>/block) or carry what was typed into
    an address bar, and the log holds ids only."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _address_key() -> str:
    from forum.ratelimits import address_key

    return address_key()


def _actor_id() -> int | None:
    # Read the id from the identity map, never from attributes: events written after a commit must
    # not make the (now closed) session load the user again.
    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is None or state.identity is None:
        return None
    return int(state.identity[0])


# --- mirrored writes ------------------------------------------------------------------------------


def _mirror_security_writes() -> None:
    if event.contains(Session, "after_flush", _collect):
        return
    event.listen(Session, "after_flush", _collect)
    event.listen(Session, "after_commit", _emit)
    event.listen(Session, "after_soft_rollback", _discard)


def _collect(session: Session, _flush_context: Any) -> None:
    pending = session.info.setdefault(_PENDING, [])
    for obj in session.new:
        if type(obj).__name__ == "AuditLog":
            pending.append(("moderation_action", _audit_fields(obj)))
    for obj in session.dirty:
        if _soft_deleted_now(obj):
            pending.append(("deleted", {"target_type": _table(obj), "target_id": _id(obj), "soft": True}))
    for obj in session.deleted:
        pending.append(("deleted", {"target_type": _table(obj), "target_id": _id(obj), "soft": False}))


def _audit_fields(row: Any) -> dict[str, Any]:
    return {
        "action": row.action,
        "by_user_id": row.actor_id,
        "target_type": row.target_type,
        "target_id": row.target_id,
    }


def _soft_deleted_now(obj: Any) -> bool:
    state = inspect(obj)
    if "deleted_at" not in state.attrs:
        return False
    history = state.attrs.deleted_at.history
    return bool(history.added) and history.added[0] is not None and not any(history.deleted)


def _table(obj: Any) -> str:
    return str(getattr(obj, "__tablename__", type(obj).__name__))


def _id(obj: Any) -> Any:
    return getattr(obj, "id", None)


def _emit(session: Session) -> None:
    for name, fields in session.info.pop(_PENDING, []):
        try:
            security_event(name, **fields)
        except Exception:  # a log line must never undo or break a committed write
            logging.getLogger(__name__).exception("security event failed")


def _discard(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
