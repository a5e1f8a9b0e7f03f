"""Logging: plain lines in development, and structured security events that never carry post text."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, has_request_context, request

security_log = logging.getLogger("forum.security")


def configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def security_event(event: str, **fields: Any) -> None:
    """One JSON line per security event. Callers pass ids and outcomes, never text or secrets."""
    record: dict[str, Any] = {"event": event, **fields}
    if has_request_context():
        record.setdefault("path", request.path)
        record.setdefault("method", request.method)
    security_log.info(json.dumps(record, default=str, sort_keys=True))
