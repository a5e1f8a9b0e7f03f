"""Hearth: a peer-support forum organised around the four IPT problem areas."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    _use_template_environment(app)
    _configure(app, config)
    _bind_extensions(app)
    _register_http(app)
    _register_realtime(app)
    _register_cli(app)
    _trust_proxies(app)
    return app


def _use_template_environment(app: Flask) -> None:
    from forum.templating import TemplateEnvironment

    app.jinja_environment = TemplateEnvironment  # before anything makes app.jinja_env


def _configure(app: Flask, config: Mapping[str, Any] | None) -> None:
    from forum.config import load_config
    from forum.logs import configure_logging

    load_config(app, config)
    configure_logging(app)


def _bind_extensions(app: Flask) -> None:
    from forum import auth, ratelimits
    from forum.database import configure_engine, engine_options, include_in_migrations
    from forum.extensions import csrf, db, migrate

    options = {**engine_options(app), **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    import forum.models  # noqa: F401  (register every table before binding)

    db.init_app(app)
    configure_engine(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        include_object=include_in_migrations,
    )
    csrf.init_app(app)
    ratelimits.init_app(app)
    auth.init_app(app)


def _register_http(app: Flask) -> None:
    from forum import errors, security, templating
    from forum.blueprints import register_blueprints

    templating.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    register_blueprints(app)


def _register_realtime(app: Flask) -> None:
    from forum.extensions import socketio
    from forum.realtime import Packet, SocketMiddleware, client_manager, forget_closed_sockets

    if app.config["SOCKETIO_ASYNC_MODE"] == "gevent":
        _lighter_greenlets()
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        serializer=Packet,
        # The Redis queue when REDIS_URL is set; our managers add the cross-process internal channel.
        client_manager=client_manager(app.config.get("REDIS_URL")),
        cors_allowed_origins=list(app.config["CORS_ALLOWED_ORIGINS"]),
        manage_session=False,
    )
    forget_closed_sockets(socketio.server)
    socketio.sockio_mw = app.wsgi_app = SocketMiddleware(socketio.sockio_mw)  # type: ignore[method-assign]
    from forum.realtime.handlers import register_handlers

    register_handlers(socketio)


def _lighter_greenlets() -> None:
    """Stop gevent recording, for each greenlet it starts, the stack that started it.

    The record (up to ten frames, each with its line number worked out) serves only debugging dumps
    (gevent.util.format_run_info). Every WebSocket starts three greenlets and a fresh one for each
    ping, and each kept its record for as long as it lived: measured, a thousand clients reconnecting
    at once spent about 3% of the worker's time here, and each connected client held about 34 records.
    """
    import gevent

    gevent.config.track_greenlet_tree = False


def _register_cli(app: Flask) -> None:
    from forum.cli import register_commands

    register_commands(app)


def _trust_proxies(app: Flask) -> None:
    # Last, so it wraps Socket.IO's middleware too: sockets see the same client address and scheme.
    from forum.security import trust_proxies

    trust_proxies(app)
