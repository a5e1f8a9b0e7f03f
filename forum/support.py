"""What the person who wrote something sees: the support panel's resources and words."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

CONTENT = Path(__file__).parent / "content"


@lru_cache(maxsize=1)
def _support_content() -> dict[str, Any]:
    return json.loads((CONTENT / "support.json").read_text(encoding="utf-8"))


def resources_for(region: str) -> list[dict[str, str]]:
    regions = _support_content()["regions"]
    return list(regions.get(region) or regions["default"])


def support_payload(level: str, region: str, guides: list[str]) -> dict[str, Any] | None:
    """The panel for this screening level, or None when the writing needs no panel."""
    content = _support_content()
    if level in ("crisis", "unknown"):
        return {
            "level": level,
            "resources": resources_for(region),
            "words": content["words"],
            "guides": guides,
            "can_request_check_in": True,
        }
    if level == "concern":
        return {
            "level": level,
            "resources": resources_for(region),
            "words": content["concern_words"],
            "guides": guides,
            "can_request_check_in": True,
        }
    return None


# --- a person's own words in a request ----------------------------------------------------------------
#
# A view that takes someone's own writing (a post, a note to the moderators, a report's reason) says which
# fields hold it. A refusal of that request then still screens those words: the writer gets the support
# panel, urgent words reach the moderators, and a form shows them again (errors.py), and crisis words get
# through a full rate limit (ratelimits.limited). Views that are not marked (a moderator's note about
# someone else, a private journal, which moderators must never see) give no words.

_OWN_WORDS = "hearth_own_words"


def mark_own_words(fields: tuple[str, ...]) -> None:
    """Say, for this request, which fields hold the person's own words."""
    from flask import g

    setattr(g, _OWN_WORDS, fields)


def own_words(*fields: str) -> Callable[[F], F]:
    """Decorate a view (outermost of the app's own decorators) whose request carries the person's own
    words in `fields`. ratelimits.limited(words=...) marks the same way for limited views."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            mark_own_words(fields)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def own_word_fields() -> tuple[str, ...]:
    from flask import g

    fields: tuple[str, ...] = getattr(g, _OWN_WORDS, ())
    return fields


def own_words_sent() -> dict[str, str]:
    """The marked fields this request sends, from a form or as JSON, that are not empty."""
    from flask import request

    data: Any = request.form if request.form else request.get_json(silent=True)
    if not isinstance(data, Mapping):
        return {}
    sent = {name: str(data.get(name) or "").strip() for name in own_word_fields()}
    return {name: text for name, text in sent.items() if text}


def words_in_request() -> str:
    """The person's own words this request sends, as screening reads them ("" if none or not marked)."""
    return "\n\n".join(own_words_sent().values())


def support_for_result(result: Any) -> dict[str, Any] | None:
    """The support panel's contents for a ScreenResult, or None when its words need none."""
    from flask import current_app

    return support_payload(result.level, current_app.config["SUPPORT_REGION"], result.guides)
