"""The JSON API for search, notifications and supportive reactions: thin adapters over the services."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from forum import ratelimits
from forum.blueprints.notifications import destination
from forum.extensions import db
from forum.models import User
from forum.models.community import REACTION_KINDS
from forum.search import search
from forum.services import notifications, posting, social
from forum.services.errors import NotFound, invalid

from . import community_schemas as cs
from .common import actor, error_responses, signed_in

blp = Blueprint("api_community", __name__, url_prefix="/api/v1", description="Search, notifications and reactions")


_document_errors = error_responses(blp)
_signed_in = signed_in(blp)


@blp.route("/search", methods=["GET"])
@ratelimits.limited("search", methods=("GET",))
@blp.arguments(cs.SearchQuery, location="query")
@blp.response(200, cs.SearchOut)
@_document_errors
def search_posts(args: dict[str, Any]) -> Any:
    board = posting.get_board(args["board"]) if args.get("board") else None
    author = None
    if args.get("author"):
        author = db.session.scalar(select(User).where(User.username_key == args["author"].lstrip("@").casefold()))
        if author is None or author.deleted_at is not None:
            raise NotFound("There is no member with that name.")
    results = search(current_user, args["q"], board=board, author=author, sort=args["sort"], page=args["page"])
    from forum.templating import author_name

    return {
        "hits": [
            {
                "post_id": hit.post.id,
                "thread_id": hit.post.thread_id,
                "number": hit.post.number,
                "board": hit.post.thread.board.slug,
                "author": author_name(current_user, hit.post),
                "title_html": str(hit.title_html),
                "snippet_html": None if hit.post.content_note else str(hit.snippet_html),
                "content_note": hit.post.content_note,
                "created_at": hit.post.created_at,
            }
            for hit in results.hits
        ],
        "page": results.page,
        "has_more": results.has_more,
        "withheld": results.withheld,
        "no_words": results.no_words,
        "support": results.support,
    }


@blp.route("/notifications", methods=["GET"])
@blp.arguments(cs.NotificationListQuery, location="query")
@blp.response(200, cs.NotificationList)
@_signed_in
@_document_errors
def list_notifications(args: dict[str, Any]) -> Any:
    member = actor()
    items = notifications.recent(member, before_id=args.get("before"))
    return {
        "notifications": [
            {
                "id": n.id,
                "kind": n.kind,
                "actor": notifications.actor_name(n),
                "thread_id": n.thread_id,
                "post_id": n.post_id,
                "body_html": n.body_html,
                "url": destination(n),
                "read": n.read_at is not None,
                "created_at": n.created_at,
            }
            for n in items
        ],
        "unread": notifications.unread_count(member),
    }


@blp.route("/notifications/read", methods=["POST"])
@blp.arguments(cs.MarkRead)
@blp.response(200, cs.UnreadOut)
@_signed_in
@_document_errors
def mark_notifications_read(body: dict[str, Any]) -> Any:
    member = actor()
    notifications.mark_read(member, None if body["all"] else body["ids"])
    return {"unread": notifications.unread_count(member)}


_REACTION_KIND = {
    "in": "path",
    "name": "kind",
    "description": "The reaction: one of the supportive kinds.",
    "schema": {"type": "string", "enum": list(REACTION_KINDS)},
}


def _reaction(post_id: int, kind: str, on: bool) -> dict[str, Any]:
    if kind not in REACTION_KINDS:
        raise invalid("kind", f"Choose one of {', '.join(REACTION_KINDS)}.")
    member = actor()
    return {"counts": social.set_reaction(member, posting.get_post(post_id), kind, on)}


@blp.route("/posts/<int:post_id>/reactions/<kind>", methods=["PUT"], parameters=[_REACTION_KIND])
@ratelimits.limited("react", methods=("PUT",))
@blp.response(200, cs.ReactionCounts)
@_signed_in
@_document_errors
def add_reaction(post_id: int, kind: str) -> Any:
    return _reaction(post_id, kind, True)


@blp.route("/posts/<int:post_id>/reactions/<kind>", methods=["DELETE"], parameters=[_REACTION_KIND])
@blp.response(200, cs.ReactionCounts)
@_signed_in
@_document_errors
def remove_reaction(post_id: int, kind: str) -> Any:
    return _reaction(post_id, kind, False)
