"""One error handler: JSON {"error": {code, message, fields}} under /api/, a friendly page elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, flash, jsonify, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum.logs import security_event
from forum.services.errors import ServiceError

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
    if wants_json():
        response = json_error(error.status, error.code, error.message, error.fields, **_safe_extra(error))
    elif error.status == 401:
        flash(error.message, "info")
        return redirect("/login?next=" + request.path)
    else:
        response = _page(error.status, error.message)
    if error.status == 429 and "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def _safe_extra(error: ServiceError) -> dict[str, Any]:
    return {key: value for key, value in error.extra.items() if isinstance(value, str | int | float | bool | dict)}


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
    return response


def _api_http_error(error: HTTPException, status: int) -> Response:
    fields: dict[str, Any] = {}
    message = error.description or "Request failed."
    data = getattr(error, "data", None)
    if isinstance(data, dict) and "messages" in data:
        # webargs validation errors from flask-smorest: {"json": {"field": ["msg"]}}
        for location_errors in data["messages"].values():
            if isinstance(location_errors, dict):
                fields.update(location_errors)
        message = "Some fields are missing or invalid."
        if _is_invalid_json(fields):
            status, message, fields = 400, "The body is not valid JSON.", {}
    response = json_error(status, _CODES.get(status, "error"), message, fields)
    if status == 429:
        response.headers["Retry-After"] = _retry_after(error)
    return response


def _is_invalid_json(fields: dict[str, Any]) -> bool:
    return any("Invalid JSON body" in str(messages) for messages in fields.values())


def _retry_after(error: HTTPException) -> str:
    header = error.get_response().headers.get("Retry-After")
    return header or "60"


def _page(status: int, message: str) -> Response:
    response = Response(render_template("error.html", status=status, message=message), status=status)
    return response
