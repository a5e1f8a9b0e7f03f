"""Configuration: defaults -> instance/config.py -> FORUM_* environment -> the mapping given to create_app."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "ENV_NAME": "development",
    "SQLALCHEMY_DATABASE_URI": None,  # filled in from the instance folder when unset
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "REDIS_URL": None,
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_DURATION_DAYS": 30,
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": True,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_HEADERS_ENABLED": True,
    # Security (forum/ratelimits.py, forum/security.py): per-action overrides like
    # {"post": {"per_account": "10/minute"}}, the "first day" of an account, and how many
    # reverse proxies in front of the app may be believed about the client address and scheme.
    "RATELIMITS": {},
    "RATELIMIT_NEW_ACCOUNT_HOURS": 24,
    "RATELIMIT_ADDRESS_SECRET": None,
    "TRUSTED_PROXIES": 0,
    "ARGON2_PROFILE": "RFC_9106_LOW_MEMORY",  # argon2.profiles name; Argon2id, 64 MiB, 3 passes
    "CRISIS_POLICY": "publish",  # or "hold"
    "SUPPORT_REGION": "default",
    # Moderation triage: claims expire so an item is never stuck with someone who walked away.
    "REVIEW_CLAIM_MINUTES": 15,
    "NEEDS_REPLY_HOURS": 6,
    "WORRIED_REPORT_LIMIT": 5,
    "WORRIED_REPORT_WINDOW_HOURS": 24,
    # Origins whose pages may open sockets. Unset: the development server's own (127.0.0.1 and localhost
    # on PORT, as `make run` serves); a deployment names its public origin (docs/deploy.md).
    "CORS_ALLOWED_ORIGINS": None,
    "SOCKETIO_ASYNC_MODE": "threading",
    # Live chat (forum/services/chat.py, checkins.py): messages a join shows without `after`, and how
    # long a closed check-in's transcript is kept before `flask chat purge` deletes it.
    "CHAT_HISTORY": 50,
    "CHAT_TRANSCRIPT_DAYS": 30,
    # People a chat join lists (forum/realtime/chat.py); clients page through `present` for the rest.
    "CHAT_PRESENT_PAGE": 100,
    # The Redis pub/sub channel Socket.IO processes share; deployments (and test servers) on one Redis keep apart.
    "SOCKETIO_CHANNEL": "flask-socketio",
    "POSTS_PER_PAGE": 20,
    "THREADS_PER_PAGE": 25,
    "SEED_ON_START": True,
    "PREFERRED_URL_SCHEME": "http",
    # flask-smorest / OpenAPI
    "API_TITLE": "Hearth API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

# Environment variables that are not plain strings.
_JSON_KEYS = {"CORS_ALLOWED_ORIGINS", "SQLALCHEMY_ENGINE_OPTIONS", "RATELIMITS"}
_BOOL_KEYS = {"SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "RATELIMIT_ENABLED", "SEED_ON_START"}
_INT_KEYS = {
    "REVIEW_CLAIM_MINUTES",
    "NEEDS_REPLY_HOURS",
    "WORRIED_REPORT_LIMIT",
    "WORRIED_REPORT_WINDOW_HOURS",
    "MAX_CONTENT_LENGTH",
    "POSTS_PER_PAGE",
    "THREADS_PER_PAGE",
    "REMEMBER_COOKIE_DURATION_DAYS",
    "RATELIMIT_NEW_ACCOUNT_HOURS",
    "TRUSTED_PROXIES",
    "CHAT_HISTORY",
    "CHAT_TRANSCRIPT_DAYS",
    "CHAT_PRESENT_PAGE",
}
# FORUM_DATABASE_URL is the documented name; SQLAlchemy wants its own key.
_ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(_from_environment(os.environ))
    if overrides:
        app.config.update(overrides)
    _fill_database_uri(app)
    _fill_secret_key(app)
    _fill_socket_origins(app, os.environ)
    _derive_cookie_settings(app)


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith("FORUM_"):
            continue
        key = name.removeprefix("FORUM_")
        key = _ALIASES.get(key, key)
        values[key] = _parse_value(key, raw)
    return values


def _parse_value(key: str, raw: str) -> Any:
    if key in _JSON_KEYS:
        return json.loads(raw)
    if key in _BOOL_KEYS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if key in _INT_KEYS:
        return int(raw)
    return raw


def _fill_database_uri(app: Flask) -> None:
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{Path(app.instance_path) / 'hearth.db'}"
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        # psycopg 3 is the driver we ship; SQLAlchemy would otherwise look for psycopg2.
        uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri


def _fill_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV_NAME"] == "production":
        raise RuntimeError("FORUM_SECRET_KEY must be set in production; refusing to start without it.")
    # Development: make one secret per checkout and keep it, so sessions survive restarts.
    key_file = Path(app.instance_path) / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def _fill_socket_origins(app: Flask, environ: Mapping[str, str]) -> None:
    """Without a setting, the development server's own origins, on the port it serves (PORT, as in wsgi.py):
    a fixed port here left every socket refused when the server ran on another one."""
    if app.config.get("CORS_ALLOWED_ORIGINS"):
        return
    port = environ.get("PORT", "5000")
    app.config["CORS_ALLOWED_ORIGINS"] = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


def _derive_cookie_settings(app: Flask) -> None:
    from datetime import timedelta

    days = min(int(app.config["REMEMBER_COOKIE_DURATION_DAYS"]), 30)
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=days)
    if app.config["PREFERRED_URL_SCHEME"] == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def is_sqlite(app: Flask) -> bool:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")
