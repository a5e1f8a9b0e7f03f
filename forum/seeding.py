"""First-run data: the boards. Idempotent, so it runs on every start."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from forum.models import Board
from forum.services.transaction import write_transaction

BOARDS_FILE = Path(__file__).parent / "content" / "boards.json"


def seed_boards() -> int:
    """Create missing boards and refresh descriptions; returns how many were created."""
    specs = json.loads(BOARDS_FILE.read_text(encoding="utf-8"))
    created = 0
    with write_transaction() as session:
        existing = {board.slug: board for board in session.scalars(select(Board))}
        for spec in specs:
            board = existing.get(spec["slug"])
            if board is None:
                board = Board(slug=spec["slug"])
                session.add(board)
                created += 1
            board.title = spec["title"]
            board.description = spec["description"]
            board.area = spec.get("area")
            board.position = spec.get("position", 0)
            board.allows_anonymous = bool(spec.get("allows_anonymous", False))
    _seed_chat_rooms()
    return created


def _seed_chat_rooms() -> None:
    from forum.services.chat import ensure_board_rooms

    ensure_board_rooms()
