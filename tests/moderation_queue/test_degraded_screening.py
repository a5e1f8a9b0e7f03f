"""The model file is missing or corrupt: the forum still starts, keeps every post, and treats risk as unknown."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.models import Post, ReviewItem
from forum.services import accounts
from tests.support.live import LiveServer

from .helpers import CALM_TEXT

pytestmark = pytest.mark.slow


def _post_json(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_a_corrupt_model_file_degrades_to_risk_unknown_without_losing_the_post(
    live_database_url: str, tmp_path: Path
) -> None:
    garbage = tmp_path / "model.npz"
    garbage.write_bytes(b"this is not a model \x00\x01\x02")
    server = LiveServer(live_database_url, env={"HEARTH_MODEL_PATH": str(garbage)})
    server.start()
    try:
        with server.app.app_context():
            accounts.register("sam", "correct horse battery")
        _status, token = _post_json(
            server.url + "/api/v1/tokens", {"username": "sam", "password": "correct horse battery"}
        )
        status, created = _post_json(
            server.url + "/api/v1/boards/grief-and-loss/threads",
            {"title": "Her recipe books", "body": CALM_TEXT},
            token["token"],
        )
        assert status == 201
        assert created["screening"]["level"] == "unknown"
        assert created["screening"]["support"]["resources"], "the author still sees support"
        with server.app.app_context():
            post = db.session.get(Post, created["post"]["id"])
            assert post is not None and post.body_md == CALM_TEXT and post.risk_level == "unknown"
            item = db.session.scalar(select(ReviewItem).where(ReviewItem.target_id == post.id))
            assert item is not None and item.priority == "urgent" and item.level == "unknown"
        log = server.log()
        assert "DEGRADED" in log and "model.npz" in log, log
    finally:
        server.stop()
