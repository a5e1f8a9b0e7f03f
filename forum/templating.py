"""Template globals: permission answers, dates, the support panel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, session, url_for
from flask_login import current_user

from forum import permissions


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(permissions.TEMPLATE_HELPERS)
    app.jinja_env.globals["author_name"] = author_name
    app.jinja_env.globals["support_content"] = support_content
    app.jinja_env.globals["url_by_id"] = url_by_id
    app.jinja_env.globals["ID"] = ID
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["iso"] = lambda value: value.isoformat() if value else ""
    app.context_processor(_context)


def _context() -> dict[str, Any]:
    # The real user object, not the LocalProxy: templates ask about it dozens of times per page.
    return {"me": current_user._get_current_object(), "pending_support": session.get("support")}


# Stands for the id in url_by_id(). Above any id the database hands out (ids are 32-bit), so it can only
# match the place where an id was asked for.
ID = 2**31 + 12345


def url_by_id(endpoint: str, anchor: str = "", **values: Any) -> Callable[[int], str]:
    """url_for once per page for links that differ only by one id: pass ID where that id goes.

    A page of posts or threads otherwise builds the same route dozens of times."""
    head, _, tail = url_for(endpoint, **values).partition(str(ID))
    return lambda id_: f"{head}{id_}{tail}{anchor}"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d %b %Y, %H:%M UTC")


def author_name(viewer: Any, post: Any) -> str:
    if post.author is None:
        return "a former member"
    if post.is_anonymous and not permissions.can_see_author(viewer, post):
        return "a member"
    return str(post.author.username)


def support_content(level: str, guide_slugs: list[str]) -> dict[str, Any]:
    """Words, crisis lines and guide links for the support panel."""
    from flask import current_app, url_for

    from forum.guides import get_guide
    from forum.support import support_payload

    payload = support_payload(level, current_app.config["SUPPORT_REGION"], guide_slugs) or {}
    guides = [get_guide(slug) for slug in guide_slugs]
    return {
        "words": payload.get("words", []),
        "resources": payload.get("resources", []),
        "guides": [{"title": g.title, "url": url_for("guides.guide", slug=g.slug)} for g in guides if g],
    }
