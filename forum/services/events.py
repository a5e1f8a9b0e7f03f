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
