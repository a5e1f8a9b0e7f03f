"""Chat tests: make sure the screening model is built once, before any server process needs it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _screening_model_ready() -> None:
    # A server process that finds no cached model trains one on its first message, which can take
    # longer than a socket ack waits; building it here once lets every server load it from disk.
    import moderation

    moderation.screen("warming up the screening model")
