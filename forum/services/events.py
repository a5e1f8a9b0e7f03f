"""Fan-out of forum events. Other modules subscribe here instead of being called by posting."""

from __future__ import annotations

import logging
from collections.abc import Callable

from forum.extensions import db

log = logging.getLogger(__name__)

_post_created: list[Callable[[int], None]] = []


def on_post_created(handler: Callable[[int], None]) -> Callable[[int], None]:
    _post_created.append(handler)
    return handler


def post_created(post_id: int) -> None:
    """Call inside the write transaction that made the post public (new, or released from a hold).

    Subscribers write in that same transaction, so a post and what it causes (notifications) commit
    together, and one reply takes the write lock once, not twice. Each subscriber runs in a savepoint:
    one that fails is logged and undone, and the post is saved all the same.
    """
    session = db.session()
    for handler in _post_created:
        try:
            with session.begin_nested():
                handler(post_id)
        except Exception:
            log.exception("post_created subscriber %s failed for post %s", handler.__name__, post_id)


# --- moderator messages and check-ins (the notifications service subscribes) ----------------------

_moderator_message_sent: list[Callable[[int], None]] = []
_check_in_starting: list[Callable[[int, str, list[int], str], None]] = []


def on_moderator_message_sent(handler: Callable[[int], None]) -> Callable[[int], None]:
    _moderator_message_sent.append(handler)
    return handler


def moderator_message_sent(message_id: int) -> None:
    """Call after the commit that stored a ModeratorMessage."""
    for handler in _moderator_message_sent:
        handler(message_id)


def on_check_in_starting(
    handler: Callable[[int, str, list[int], str], None],
) -> Callable[[int, str, list[int], str], None]:
    _check_in_starting.append(handler)
    return handler


def check_in_starting(check_in_id: int, title: str, participant_ids: list[int], url: str) -> None:
    """Call when a group check-in opens, with the people who joined it and where to go."""
    for handler in _check_in_starting:
        handler(check_in_id, title, participant_ids, url)
