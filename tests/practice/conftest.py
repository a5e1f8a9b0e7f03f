"""Shared arrangements for the personal-practice tests."""

from __future__ import annotations

from typing import Any

import pytest

from forum.models import User

CRISIS_TEXT = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."


@pytest.fixture
def admin(make_user: Any) -> User:
    return make_user("ada_admin", role="admin")


@pytest.fixture
def other(make_user: Any) -> User:
    return make_user("river")
