from __future__ import annotations

from typing import Any

import pytest

from forum.models import User


@pytest.fixture
def admin(make_user: Any) -> User:
    return make_user("ada_admin", role="admin")
