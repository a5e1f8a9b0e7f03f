"""The search page: titles and posts, filtered by board and author, newest or most relevant."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from forum import queries, ratelimits
from forum.extensions import db
from forum.models import Board, User
from forum.search import SORTS, search
from forum.services import posting
from forum.services.errors import NotFound

bp = Blueprint("search", __name__)


@bp.get("/search")
@ratelimits.limited("search", methods=("GET",))
def search_page() -> ResponseReturnValue:
    query = request.args.get("q", "", type=str)
    sort = request.args.get("sort", "relevant", type=str)
    sort = sort if sort in SORTS else "relevant"
    board_slug = request.args.get("board", "", type=str)
    author_name = request.args.get("author", "", type=str).strip().lstrip("@")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    board = _board_or_none(board_slug)
    author = _author_or_none(author_name)
    results = None
    unknown_author = bool(author_name) and author is None
    if query.strip() and not unknown_author:
        results = search(current_user, query, board=board, author=author, sort=sort, page=page)
    return render_template(
        "search.html",
        query=query,
        sort=sort,
        board_slug=board.slug if board else "",
        author_filter=author_name,
        unknown_author=unknown_author,
        boards=queries.boards(),
        results=results,
    )


def _board_or_none(slug: str) -> Board | None:
    if not slug:
        return None
    try:
        return posting.get_board(slug)
    except NotFound:
        return None


def _author_or_none(name: str) -> User | None:
    if not name:
        return None
    user = db.session.scalar(select(User).where(User.username_key == name.casefold()))
    return user if user is not None and user.deleted_at is None else None
