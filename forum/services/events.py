"""After-commit fan-out of forum events. Other modules subscribe here instead of being called by posting."""

from __future__ import annotations

from collections.abc import Callable

_post_created: list[Callable[[int], None]] = []


def on_post_created(handler: Callable[[int], None]) -> Callable[[int], None]:
    _post_created.append(handler)
    return handler


def post_created(post_id: int) -> None:
    for handler in _post_created:
        handler(post_id)


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
