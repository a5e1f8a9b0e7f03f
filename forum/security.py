"""Response headers that hold for every page: CSP without inline script, no framing, no sniffing."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)


def init_app(app: Flask) -> None:
    app.after_request(_set_headers)


def _set_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Same-origin keeps Referer for Flask-WTF's HTTPS check while telling other sites nothing.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if _is_private(response):
        headers["Cache-Control"] = "no-store"
    return response


def _is_private(response: Response) -> bool:
    # Anything shown to a signed-in person, and every API answer, may be personal.
    if request.path.startswith("/static/"):
        return False
    return bool(getattr(current_user, "is_authenticated", False)) or request.path.startswith("/api/")
