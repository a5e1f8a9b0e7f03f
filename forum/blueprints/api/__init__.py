"""The JSON API under /api/v1, documented at /api/v1/openapi.json by flask-smorest."""

from __future__ import annotations

import importlib

from flask import Flask, request

from forum.extensions import api, csrf

from . import schemas
from .common import guard_request

# Each module defines `blp`, a flask_smorest.Blueprint mounted under /api/v1.
MODULES = (
    "forum.blueprints.api.core",
    "forum.blueprints.api.moderation",
    "forum.blueprints.api.community",
)


def attach(app: Flask) -> None:
    # Every documented error uses the shape the error handler really sends.
    type(api).ERROR_SCHEMA = schemas.ApiError
    description = 'Hearth\'s JSON API. Every error is {"error": {code, message, fields}}.'
    api.init_app(app, spec_kwargs={"info": {"description": description}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in MODULES:
        blp = importlib.import_module(name).blp
        # Bearer-token clients carry no cookie to forge; cookie callers are checked in guard_request.
        csrf.exempt(blp)
        api.register_blueprint(blp)
    app.before_request(_guard_api_requests)


def _guard_api_requests() -> None:
    if request.path.startswith("/api/"):
        guard_request()
