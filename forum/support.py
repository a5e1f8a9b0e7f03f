"""What the person who wrote something sees: the support panel's resources and words."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

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


WORD_FIELDS = ("title", "body")


def words_in_request() -> str:
    """The title and body a request sends, from a form or as JSON, as screening reads them ("" if none)."""
    from flask import request

    data: Any = request.form if request.form else request.get_json(silent=True)
    if not isinstance(data, Mapping):
        return ""
    return "\n\n".join(str(data.get(name) or "") for name in WORD_FIELDS).strip()


def support_for_result(result: Any) -> dict[str, Any] | None:
    """The support panel's contents for a ScreenResult, or None when its words need none."""
    from flask import current_app

    return support_payload(result.level, current_app.config["SUPPORT_REGION"], result.guides)
