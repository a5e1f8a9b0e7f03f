"""The JSON API under /api/v1, documented at /api/v1/openapi.json by flask-smorest."""

from __future__ import annotations

import importlib

from flask import Flask, request

from forum.extensions import api, csrf

from . import schemas
from .common import SIGN_IN_OPTIONAL, guard_request

# Each module defines `blp`, a flask_smorest.Blueprint mounted under /api/v1.
MODULES = (
    "forum.blueprints.api.core",
    "forum.blueprints.api.moderation",
    "forum.blueprints.api.community",
)


_BEARER = "A token from POST /api/v1/tokens."
_SESSION = (
    "The site's session cookie, from signing in on the site. Requests that change something also send "
    "the page's CSRF token in an X-CSRFToken header."
)


def attach(app: Flask) -> None:
    # Every documented error uses the shape the error handler really sends.
    type(api).ERROR_SCHEMA = schemas.ApiError
    description = 'Hearth\'s JSON API. Every error is {"error": {code, message, fields}}.'
    api.init_app(app, spec_kwargs={"info": {"description": description}, "security": SIGN_IN_OPTIONAL})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "description": _BEARER})
    session = {"type": "apiKey", "in": "cookie", "name": "session", "description": _SESSION}
    api.spec.components.security_scheme("session", session)
    for name in MODULES:
        blp = importlib.import_module(name).blp
        # Bearer-token clients carry no cookie to forge; cookie callers are checked in guard_request.
        csrf.exempt(blp)
        api.register_blueprint(blp)
    app.before_request(_guard_api_requests)


def _guard_api_requests() -> None:
    if request.path.startswith("/api/"):
        guard_request()
