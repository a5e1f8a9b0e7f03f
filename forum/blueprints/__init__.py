"""HTTP blueprints: each module exposes `bp`, or `attach(app)` when it registers several. List new ones in MODULES."""

from __future__ import annotations

import importlib

from flask import Flask

MODULES = (
    "forum.blueprints.auth",
    "forum.blueprints.boards",
    "forum.blueprints.guides",
    "forum.blueprints.practice",
    "forum.blueprints.moderation",
    "forum.blueprints.chat",
    "forum.blueprints.search",
    "forum.blueprints.notifications",
    "forum.blueprints.profiles",
    "forum.blueprints.me",
    "forum.blueprints.api",
)


def register_blueprints(app: Flask) -> None:
    for name in MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "attach"):
            module.attach(app)
        else:
            app.register_blueprint(module.bp)
