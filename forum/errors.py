"""One error handler: JSON {"error": {code, message, fields}} under /api/, a friendly page elsewhere."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum.extensions import db
from forum.logs import security_event
from forum.models import Post
from forum.services import review
from forum.services.errors import ServiceError
from forum.services.screening import ScreenResult, screen_text
from forum.support import own_word_fields, own_words_sent, support_for_result, support_payload, words_in_request
from forum.templating import post_url

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def init_app(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> Response:
    body = {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}
    response = jsonify(body)
    response.status_code = status
    return response


def _service_error(error: ServiceError) -> Any:
    if error.status in (401, 403):
        security_event("permission_denied", status=error.status, code=error.code)
    refused = _refused_words(error)
    if refused is not None:
        _tell_moderators(refused, error)
    help_refused = _refused_help(error)
    if wants_json():
        extra = _safe_extra(error)
        support = support_for_result(refused.result) if refused is not None else None
        if support is None and help_refused:
            support = support_payload("crisis", current_app.config["SUPPORT_REGION"], [])
        if support is not None:
            extra["support"] = support
        response = json_error(error.status, error.code, error.message, error.fields, **extra)
    elif error.status == 401:
        flash(error.message, "info")
        return redirect("/login?next=" + request.path)
    elif refused is not None and _form_sent_words():
        response = _page(error.status, error.message, kept=_kept_submission(error, refused.result, help_refused))
    else:
        response = _page(error.status, error.message, support=_LINES if help_refused else None)
    if error.status == 429 and "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


# Kept on the error for the page's own use (errors._refused_help), not part of the API's answer.
_INTERNAL_EXTRA = ("action",)


def _safe_extra(error: ServiceError) -> dict[str, Any]:
    return {
        key: value
        for key, value in error.extra.items()
        if key not in _INTERNAL_EXTRA and isinstance(value, str | int | float | bool | dict)
    }


def _csrf_error(error: CSRFError) -> Any:
    security_event("csrf_failed")
    message = "This form expired or was sent from elsewhere. Please go back, reload the page and try again."
    if wants_json():
        return json_error(400, "csrf_failed", message)
    return _page(400, message)


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if wants_json():
        return _api_http_error(error, status)
    response = _page(status, error.description or "Something went wrong.")
    if status == 429:
        response.headers["Retry-After"] = _retry_after(error)
    _keep_allow(error, response)
    return response


def _api_http_error(error: HTTPException, status: int) -> Response:
    fields: dict[str, Any] = {}
    message = error.description or "Request failed."
    data = getattr(error, "data", None)
    if isinstance(data, dict) and "messages" in data:
        # webargs validation errors from flask-smorest: {"json": {"field": ["msg"]}}, or, for a body that
        # is not JSON at all, {"json": ["Invalid JSON body."]}
        for location_errors in data["messages"].values():
            if isinstance(location_errors, dict):
                fields.update(location_errors)
        message = "Some fields are missing or invalid."
        if _is_invalid_json(data["messages"]):
            status, message, fields = 400, "The body is not valid JSON.", {}
    response = json_error(status, _CODES.get(status, "error"), message, fields)
    if status == 429:
        response.headers["Retry-After"] = _retry_after(error)
    _keep_allow(error, response)
    return response


def _keep_allow(error: HTTPException, response: Response) -> None:
    """A 405 says which methods the address takes (RFC 9110): werkzeug's own answer has the Allow header."""
    allow = error.get_response().headers.get("Allow") if error.code == 405 else None
    if allow:
        response.headers["Allow"] = allow


def _is_invalid_json(messages: dict[str, Any]) -> bool:
    return any("Invalid JSON body" in str(found) for found in messages.values())


def _retry_after(error: HTTPException) -> str:
    header = error.get_response().headers.get("Retry-After")
    return header or "60"


def _page(
    status: int, message: str, *, kept: dict[str, Any] | None = None, support: dict[str, Any] | None = None
) -> Response:
    page = render_template("error.html", status=status, message=message, kept=kept, support=support)
    return Response(page, status=status)


# The support panel with the crisis lines (templates/_macros.html support_panel), for a refused request for help.
_LINES = {"level": "crisis", "guides": []}


def _refused_help(error: ServiceError) -> bool:
    """A request for help (a check-in, a note to the moderators) refused by its flood guard: the person
    asked for someone, so the answer carries the lines whatever their words."""
    return error.status == 429 and error.extra.get("action") == "check_in_request"


# --- a refused form keeps what was written ---------------------------------------------------------

# Refusals of someone's writing that are not about the writing: not allowed now (a silence, a lock), or
# too much too fast. The words still get the support they call for, and a form keeps them.
_REFUSALS = (403, 429)


class RefusedWords(NamedTuple):
    words: str
    result: ScreenResult


def _refused_words(error: ServiceError) -> RefusedWords | None:
    """The person's own words in a refused write (support.own_words), screened; None for any other error,
    or a request without such words."""
    if error.status not in _REFUSALS or request.method not in ("POST", "PATCH", "PUT"):
        return None
    words = words_in_request()
    return RefusedWords(words, screen_text(words)) if words else None


def _tell_moderators(refused: RefusedWords, error: ServiceError) -> None:
    """Urgent words reach the moderators even when the write is refused. A failure here must not turn the
    refusal into a 500: the writer still gets their words back and the lines."""
    try:
        review.keep_refused_crisis_words(
            current_user,
            refused.words,
            refused.result,
            refusal=error.message,
            place=request.path,
            link=_page_written_on(),
        )
    except Exception:
        log.exception("refused urgent words could not be put in front of the moderators")


def _page_written_on() -> str | None:
    """The page a refused write was about (its thread, its post's thread, its board), for the moderators."""
    args = request.view_args or {}
    if "thread_id" in args:
        return url_for("boards.thread", thread_id=args["thread_id"])
    if "post_id" in args:
        post = db.session.get(Post, args["post_id"])
        return post_url(post) if post is not None else None
    if "slug" in args:
        return url_for("boards.board", slug=args["slug"])
    return None


def _form_sent_words() -> bool:
    """Whether a refused request was a form post with words of the person's own: they are shown again."""
    return request.method == "POST" and bool(request.form) and bool(own_words_sent())


def _kept_submission(error: ServiceError, result: ScreenResult, asked_for_help: bool = False) -> dict[str, Any]:
    """A refused form, shown again on the refusal page: its words stay in front of the person (after a rate
    limit with a button to send them again, the same idempotency key, so a double send is one post), and
    the support panel when the words call for it. Nothing is stored: the words live only in this page
    (urgent ones also reach the moderators: _tell_moderators)."""
    support = {"level": result.level, "guides": result.guides[:3]}
    fields = own_word_fields()
    text_field = next((name for name in fields if name != "title"), "body")
    not_resent = ("csrf_token", *fields)  # the kept page shows the words in fields of their own
    return {
        "action": request.path,
        "title": request.form.get("title") if "title" in fields else None,
        "text_field": text_field,
        "body": request.form.get(text_field, ""),
        "resent": [(name, value) for name, value in request.form.items(multi=True) if name not in not_resent],
        "retry_after": error.extra.get("retry_after"),
        "resend": error.status == 429,  # a rate limit passes; a silence or a lock does not
        "support": support
        if result.level in ("crisis", "concern", "unknown")
        else (_LINES if asked_for_help else None),
        # _tell_moderators kept urgent words for them: say so, so nobody thinks they went nowhere.
        "moderators_told": result.is_urgent and current_user.is_authenticated,
        "back": _same_site_referrer(),
    }


def _same_site_referrer() -> str:
    """Where the person came from, as a path on this site (the check-in form returns there)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return "/"
    return (referrer.path or "/") + (f"?{referrer.query}" if referrer.query else "")
