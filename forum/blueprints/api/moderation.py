"""The moderation API: the review queue, claims and actions, peer reports, check-ins and live screening."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from forum import ratelimits
from forum.services import moderation_actions, posting, reports, review, screening

from .common import actor, error_responses, guide_links, screening_dict, signed_in
from .moderation_schemas import (
    ActionIn,
    CheckInIn,
    CheckInOut,
    ClaimIn,
    ItemOut,
    QueueOut,
    QueueQuery,
    ReportIn,
    ReportOut,
    ScreenIn,
    ScreenOut,
)

blp = Blueprint("api_moderation", __name__, url_prefix="/api/v1", description="Review queue, reports and screening")


_document_errors = error_responses(blp)
_signed_in = signed_in(blp)


@blp.route("/moderation/queue", methods=["GET"])
@blp.arguments(QueueQuery, location="query")
@blp.response(200, QueueOut)
@_signed_in
@_document_errors
def get_queue(args: dict[str, Any]) -> Any:
    page = review.queue(actor(), status=args["status"], page=args["page"])
    return {
        "items": [review.item_state(item) for item in page.items],
        "page": page.page,
        "pages": page.pages,
        "total": page.total,
    }


@blp.route("/moderation/items/<int:item_id>", methods=["GET"])
@blp.response(200, ItemOut)
@_signed_in
@_document_errors
def get_item(item_id: int) -> Any:
    return review.item_state(review.get_item(actor(), item_id))


@blp.route("/moderation/items/<int:item_id>/claim", methods=["POST"])
@blp.arguments(ClaimIn)
@blp.response(200, ItemOut)
@_signed_in
@_document_errors
def claim_item(body: dict[str, Any], item_id: int) -> Any:
    """Claim the item for a while (REVIEW_CLAIM_MINUTES); a stale version or another's claim gets 409 and the item."""
    return review.item_state(review.claim(actor(), item_id, version=body["version"]))


@blp.route("/moderation/items/<int:item_id>/actions", methods=["POST"])
@blp.arguments(ActionIn)
@blp.response(200, ItemOut)
@_signed_in
@_document_errors
def act_on_item(body: dict[str, Any], item_id: int) -> Any:
    """Act on the item at the version you saw; a stale version gets 409 with the fresh item in error.item."""
    item = moderation_actions.act(
        actor(), item_id, action=body["action"], note=body["note"], version=body["version"], hours=body["hours"]
    )
    return review.item_state(item)


@blp.route("/posts/<int:post_id>/reports", methods=["POST"])
@ratelimits.limited("report", words=("reason",))
@blp.arguments(ReportIn)
@blp.response(201, ReportOut)
@_signed_in
@_document_errors
def report_post(body: dict[str, Any], post_id: int) -> Any:
    member = actor()
    report = reports.report_post(member, posting.get_post(post_id), kind=body["kind"], reason=body["reason"])
    return {"id": report.id, "post_id": report.target_id, "kind": report.kind, "created_at": report.created_at}


@blp.route("/check-ins", methods=["POST"])
@ratelimits.limited("check_in_request", words=("note",))
@blp.arguments(CheckInIn)
@blp.response(201, CheckInOut)
@_signed_in
@_document_errors
def request_check_in(body: dict[str, Any]) -> Any:
    """Ask a moderator to check in with you. Works from a draft too: nothing you are writing is sent or stored."""
    review.request_check_in(actor(), note=body["note"], source=body["source"])
    return {"requested": True}


@blp.route("/screen", methods=["POST"])
@ratelimits.limited("screen_draft")
@blp.arguments(ScreenIn)
@blp.response(200, ScreenOut)
@_signed_in
@_document_errors
def screen(body: dict[str, Any]) -> Any:
    """Screen text as the person types: level, area, guides and the support panel's contents. Never stored,
    never logged, no scores or signals."""
    actor()
    result = screening.screen_text(body["text"])
    return {**screening_dict(result), "guide_links": guide_links(result.guides)}
