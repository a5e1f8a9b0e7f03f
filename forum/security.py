"""Response headers that hold for every page: CSP without inline script, no framing, no sniffing.

Also where the app learns to believe a reverse proxy about the client's address and scheme, and
only as many proxies as the deployment says (FORUM_TRUSTED_PROXIES, default 0: believe none).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "worker-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
ID_MAX = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL


class DatabaseId(IntegerConverter):
    """`<int:...>` in every URL, bounded to what an id column can hold.

    Without a bound, /t/99999999999999999999 reaches PostgreSQL, which refuses the number with an error
    (a 500); past the bound the route simply does not match (a 404), like any other unknown id.
    """

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    # Before any blueprint adds a rule: converters are looked up as rules are added.
    app.url_map.converters["int"] = DatabaseId
    _document_bounded_ids()
    app.after_request(_set_headers)
    app.session_interface = SignedCookieSessions()


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per set of keys. Flask builds
    one on every request, and a chat socket opens the session on every event (a request context each),
    even when it carries no cookie. The serializer keeps no per-request state: the same keys, salt and
    methods sign and check alike."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[str | bytes, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        found = self._serializers.get(keys)
        if found is None:
            found = super().get_signing_serializer(app)
            if found is not None:
                self._serializers[keys] = found
        return found


def _document_bounded_ids() -> None:
    from flask_smorest.spec.plugins import integerconverter2paramschema

    from forum.extensions import api

    if not any(converter is DatabaseId for converter, _func in api._converters):
        api.register_converter(DatabaseId, integerconverter2paramschema)


def trust_proxies(app: Flask) -> None:
    """Wrap the whole WSGI stack (Socket.IO included) in ProxyFix for exactly N trusted hops.

    With 0, X-Forwarded-* headers are ignored: anyone could send them, and believing them would let
    a client pick its own rate-limit key or fake HTTPS.
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]


# Every answer's headers, unless the view set its own.
ALWAYS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    # Same-origin keeps Referer for Flask-WTF's HTTPS check while telling other sites nothing.
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


def _set_headers(response: Response) -> Response:
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    headers.extend([(name, value) for name, value in ALWAYS if name.lower() not in present])
    if request.is_secure:
        # Only over HTTPS (directly, or as told by a trusted proxy): browsers ignore it on plain HTTP anyway.
        headers.setdefault("Strict-Transport-Security", HSTS)
    if _is_private(response):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def _is_private(response: Response) -> bool:
    # Anything shown to a signed-in person, every API answer and every form page may be personal.
    if request.path.startswith("/static/"):
        return False
    if request.path.startswith("/api/") or request.method != "GET":
        return True
    # A page that writes the session cookie (a CSRF token, a flash) must not be replayed from a shared cache.
    return bool(getattr(current_user, "is_authenticated", False)) or session.modified


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: every "back to where you were" goes through here,
    because an open redirect after signing in or acting is a phishing tool. Browsers read a backslash as a
    slash ("/\\evil.example" is "//evil.example") and drop tabs and newlines, so neither ever passes."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target
