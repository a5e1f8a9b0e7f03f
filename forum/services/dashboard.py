"""What the moderators' dashboard, the "needs a reply" list, the audit log and export-feedback read.

Read-only: nothing here writes. Percentiles are computed in Python over the bounded window of urgent items,
so SQLite and PostgreSQL give the same answers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from forum import permissions
from forum.extensions import db
from forum.models import AuditLog, Post, ReviewDecision, ReviewItem, Thread, utcnow

LEVELS = ("crisis", "unknown", "concern", "none")


@dataclass(frozen=True)
class ResponseTimes:
    days: int
    count: int
    waiting: int  # urgent items in the window nobody has acted on yet
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class Agreement:
    model_version: str
    decisions: int
    agreed: int

    @property
    def share(self) -> float:
        return self.agreed / self.decisions if self.decisions else 0.0


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: always one of the observed values, which is what a moderator can check."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def open_items_by_level(viewer: Any) -> dict[str, int]:
    permissions.ensure_can_see_queue(viewer)
    rows = db.session.execute(
        select(ReviewItem.level, func.count(ReviewItem.id))
        .where(ReviewItem.status == "open")
        .group_by(ReviewItem.level)
    )
    counts = dict.fromkeys(LEVELS, 0)
    counts.update({level: int(count) for level, count in rows})
    return counts


def response_times(viewer: Any, days: int) -> ResponseTimes:
    permissions.ensure_can_see_queue(viewer)
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        select(ReviewItem.created_at, ReviewItem.first_action_at).where(
            ReviewItem.priority == "urgent", ReviewItem.created_at >= since
        )
    ).all()
    minutes = [(acted - created).total_seconds() / 60 for created, acted in rows if acted is not None]
    return ResponseTimes(
        days=days,
        count=len(minutes),
        waiting=sum(1 for _created, acted in rows if acted is None),
        median_minutes=percentile(minutes, 0.5),
        p90_minutes=percentile(minutes, 0.9),
    )


def agreement_by_model(viewer: Any) -> list[Agreement]:
    """Per model version: of the screenings a moderator judged, how many judgements agreed with the screening.

    Only the latest decision per screening counts, so a moderator correcting themself is not double-counted.
    """
    permissions.ensure_can_see_queue(viewer)
    latest = (
        select(func.max(ReviewDecision.id))
        .where(ReviewDecision.agrees.is_not(None), ReviewDecision.model_version.is_not(None))
        .group_by(ReviewDecision.screening_id)
    )
    rows = db.session.execute(
        select(
            ReviewDecision.model_version,
            func.count(ReviewDecision.id),
            func.sum(case((ReviewDecision.agrees.is_(True), 1), else_=0)),
        )
        .where(ReviewDecision.id.in_(latest))
        .group_by(ReviewDecision.model_version)
        .order_by(ReviewDecision.model_version)
    )
    return [Agreement(str(version), int(total), int(agreed or 0)) for version, total, agreed in rows]


# --- threads nobody has answered ------------------------------------------------------------------

_RISK_ORDER = case(
    (Thread.risk_level == "crisis", 0),
    (Thread.risk_level == "unknown", 1),
    (Thread.risk_level == "concern", 2),
    else_=3,
)


def needs_reply(viewer: Any, *, limit: int = 100) -> list[Thread]:
    """Threads still alone after NEEDS_REPLY_HOURS: the riskiest first, then the longest waiting."""
    permissions.ensure_can_see_queue(viewer)
    cutoff = utcnow() - timedelta(hours=int(current_app.config["NEEDS_REPLY_HOURS"]))
    query = (
        select(Thread)
        .where(
            Thread.post_count == 1,
            Thread.created_at <= cutoff,
            Thread.deleted_at.is_(None),
            Thread.visibility != "hidden",
            Thread.locked.is_(False),
        )
        .options(joinedload(Thread.board), joinedload(Thread.author))
        .order_by(_RISK_ORDER, Thread.created_at, Thread.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


# --- the audit log ------------------------------------------------------------------------------


def audit_entries(viewer: Any, *, item_id: int | None = None, limit: int = 200) -> list[AuditLog]:
    permissions.ensure_can_see_queue(viewer)
    query = select(AuditLog).options(joinedload(AuditLog.actor)).order_by(AuditLog.id.desc()).limit(limit)
    if item_id is not None:
        query = query.where(AuditLog.item_id == item_id)
    return list(db.session.scalars(query))


# --- training rows from decisions ---------------------------------------------------------------


def feedback_rows() -> Iterator[tuple[str, str]]:
    """(text, label) for each item's latest decision on a post that still exists, whose author opted in.

    The text is what the screen read: the title and body for an opening post, the body for a reply.
    Deleted posts are left out: the person took their words back, and training on them would keep them.
    """
    latest = select(func.max(ReviewDecision.id)).group_by(ReviewDecision.item_id)
    decisions = db.session.scalars(
        select(ReviewDecision).where(ReviewDecision.id.in_(latest)).order_by(ReviewDecision.id)
    ).all()
    items = {
        item.id: item
        for item in db.session.scalars(select(ReviewItem).where(ReviewItem.id.in_([d.item_id for d in decisions])))
    }
    post_ids = [items[d.item_id].target_id for d in decisions if items[d.item_id].target_type == "post"]
    posts = {
        post.id: post
        for post in db.session.scalars(select(Post).where(Post.id.in_(post_ids)).options(joinedload(Post.thread)))
    }
    for decision in decisions:
        item = items[decision.item_id]
        post = posts.get(item.target_id) if item.target_type == "post" else None
        if post is None or post.deleted_at is not None or not _author_opted_in(post):
            continue
        text = f"{post.thread.title}\n\n{post.body_md}" if post.number == 1 else post.body_md
        yield text, decision.label


def _author_opted_in(post: Post) -> bool:
    # No member's writing trains the model without their yes (MODEL_CARD.md, the privacy page).
    return post.author is not None and post.author.training_opt_in


def label_counts(rows: list[tuple[str, str]]) -> Counter[str]:
    return Counter(label for _text, label in rows)
