"""What every API module shares: the acting user, CSRF for cookie callers, serialisers."""

from __future__ import annotations

import functools
from typing import Any

from flask import current_app, request, url_for
from flask_login import current_user

from forum import permissions
from forum.auth import bearer_token
from forum.extensions import csrf
from forum.models import Post, Thread, User
from forum.services.errors import ServiceError, ValidationFailed
from forum.services.screening import ScreenResult
from forum.support import support_payload
from forum.templating import author_name

# Statuses every endpoint may answer with, documented so clients (and schemathesis) expect them.
COMMON_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429)


def error_responses(blp: Any) -> Any:
    """A decorator for blp's views that documents every common error with the shape forum.errors sends."""
    from .schemas import ApiError

    def document(view: Any) -> Any:
        for status in COMMON_ERRORS:
            view = blp.alt_response(status, schema=ApiError, description="Error")(view)
        return view

    return document


# OpenAPI security requirements: the document's default (sign-in optional: a signed-in caller may see more)
# and what signed_in() puts on an operation that answers 401 to a stranger.
SIGN_IN_OPTIONAL: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"session": []}]
SIGN_IN_REQUIRED: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


def signed_in(blp: Any) -> Any:
    """A decorator for blp's views that only a signed-in caller may use: refuses anyone else with 401 before
    the view runs, and says so in the OpenAPI document (the operation's `security`)."""

    def require(view: Any) -> Any:
        @functools.wraps(view)
        def view_for_the_signed_in(*args: Any, **kwargs: Any) -> Any:
            permissions.ensure_signed_in(current_user)
            return view(*args, **kwargs)

        return blp.doc(security=SIGN_IN_REQUIRED)(view_for_the_signed_in)

    return require


def guard_request() -> None:
    """Before every API request: JSON bodies only, and CSRF when the caller uses the session cookie."""
    has_body = request.method in ("POST", "PUT", "PATCH") and _sends_a_body()
    if has_body and not request.is_json:
        raise ServiceError("Send a JSON body with Content-Type: application/json.")
    if has_body:
        _ensure_parseable()
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    if unsafe and bearer_token(request) is None and getattr(current_user, "is_authenticated", False):
        csrf.protect()


def _sends_a_body() -> bool:
    """A body is on its way: a Content-Length above 0, or chunks. No Content-Length at all is no body."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return chunked or bool(request.content_length)


def _ensure_parseable() -> None:
    """JSON nested a thousand deep is a few kilobytes and overflows Python's parser (RecursionError), which
    no JSON library in the stack turns into a client error: say so here, as for any body that is not JSON."""
    try:
        request.get_json(silent=True)
    except RecursionError:
        raise ServiceError("The body is not valid JSON: it is nested too deeply.") from None


def actor() -> User:
    return permissions.ensure_signed_in(current_user)


def ensure_body() -> None:
    if request.get_json(silent=True) is None and request.method in ("POST", "PATCH"):
        raise ValidationFailed("The body must be a JSON object.")


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role, "created_at": user.created_at}


def thread_dict(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "board": thread.board.slug,
        "title": thread.title,
        "author": _thread_author(thread),
        "pinned": thread.pinned,
        "locked": thread.locked,
        "post_count": thread.post_count,
        "created_at": thread.created_at,
        "last_activity_at": thread.last_activity_at,
    }


def _thread_author(thread: Thread) -> str | None:
    return author_name(current_user, thread)


def post_dict(post: Post) -> dict[str, Any]:
    """A post as the API shows it to this viewer: without its words when it is deleted or hidden, or
    when the viewer blocked or muted its author or was blocked by them (as the thread page does)."""
    from forum.post_views import hidden_reason, staff_role

    hidden = permissions.hides_writing(post.author_id, post.is_anonymous, permissions.hidden_author_ids(current_user))
    readable = permissions.can_view_post_body(current_user, post) and not hidden
    return {
        "id": post.id,
        "thread_id": post.thread_id,
        "number": post.number,
        "author": author_name(current_user, post),
        "author_role": staff_role(post),
        "body_html": post.body_html if readable else None,
        "hidden_reason": hidden_reason(current_user, post) if hidden else None,
        "content_note": post.content_note if readable else None,  # the writer's words too, as the page treats them
        "visibility": post.visibility,
        "deleted": post.deleted_at is not None,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
    }


def guide_links(slugs: list[str]) -> list[dict[str, str]]:
    """The guides named by a screening, with the titles a page shows and where they are."""
    from forum.guides import get_guide

    found = [guide for guide in map(get_guide, slugs) if guide is not None]
    return [{"slug": g.slug, "title": g.title, "url": url_for("guides.guide", slug=g.slug)} for g in found]


def screening_dict(result: ScreenResult) -> dict[str, Any]:
    region = current_app.config["SUPPORT_REGION"]
    return {**result.for_author(), "support": support_payload(result.level, region, result.guides)}
