"""Small arrangers the community tests share."""

from __future__ import annotations

from typing import Any

from forum.models import Board, Thread, User
from forum.services import posting


def board(slug: str = "grief-and-loss") -> Board:
    return posting.get_board(slug)


def thread_by(
    author: User, title: str = "Missing my mum", body: str = "I keep finding her recipes.", **kw: Any
) -> Thread:
    return posting.create_thread(author, board(kw.pop("slug", "grief-and-loss")), title=title, body=body, **kw).thread


def reply(author: User, thread: Thread, body: str, **kw: Any) -> Any:
    return posting.create_reply(author, thread, body=body, **kw).post
