"""Shared pieces for the security suite: switching rate limits on, capturing security log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from forum import ratelimits


@pytest.fixture
def limits_on(app: Flask) -> Any:
    """Turn rate limits on for this test with fresh (in-memory) counters; `limits_on(post={...})` overrides rules."""

    def enable(**overrides: dict[str, str | None]) -> None:
        app.config["RATELIMIT_ENABLED"] = True
        app.config["RATELIMITS"] = overrides
        ratelimits.buckets().storage.reset()

    enable()
    yield enable
    ratelimits.buckets().storage.reset()


class SecurityLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.lines]
        return [event for event in parsed if name is None or event["event"] == name]


@pytest.fixture
def security_log() -> Iterator[SecurityLog]:
    handler = SecurityLog()
    logger = logging.getLogger("forum.security")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
