"""Peer reports: "this breaks the rules" and "I'm worried about this person". Both land in the one review queue.

A worried report is care, not complaint: it never hides the post or restricts the writer, and a reporter
can send only a few in a time window so it cannot be turned into harassment by volume.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from forum import limits, permissions
from forum.extensions import db
from forum.models import PeerReport, Post, ReviewEvent, ReviewItem, User, utcnow
from forum.models.moderation import REPORT_KINDS
from forum.services import personal_data, review
from forum.services.errors import RateLimited, invalid
from forum.services.transaction import after_commit, write_transaction
from forum.services.validation import clean_text

_PRIORITY_FOR_KIND = {"worried": "urgent", "rules": "review"}
_LEVEL_RANK = {"none": 0, "concern": 1, "unknown": 2, "crisis": 3}


def report_post(actor: Any, post: Post, *, kind: object, reason: object = "") -> PeerReport:
    reporter = permissions.ensure_can_report_post(actor, post)
    if kind not in REPORT_KINDS:
        raise invalid("kind", "Choose “breaks the rules” or “I'm worried about this person”.")
    assert isinstance(kind, str)
    text = clean_text("reason", reason, max_len=limits.REPORT_REASON_MAX, required=False)
    with write_transaction() as session:
        existing = _same_report(session, reporter, post, kind)
        if existing is not None:  # a second click adds nothing to the queue; something new to say does
            _add_to_report(session, existing, post, kind, text)
            return existing
        if kind == "worried":
            _check_worried_limit(session, reporter)
        item = _item_for(session, post, kind, text)
        report = PeerReport(
            reporter_id=reporter.id, target_type="post", target_id=post.id, kind=kind, reason=text, item_id=item.id
        )
        session.add(report)
        session.add(ReviewEvent(item_id=item.id, action=f"reported_{kind}", note=text))
        _tell_moderators(item, post, kind)
    return report


def _add_to_report(session: Session, report: PeerReport, post: Post, kind: str, text: str) -> None:
    """More words on a report already made ("she also told me she has the pills") reach the moderators on
    the post's open item, as a new report's would."""
    if not text or text == report.reason or text in report.reason.split("\n\n"):
        return
    item = _item_for(session, post, kind, text)
    report.reason = f"{report.reason}\n\n{text}".strip()
    report.item_id = item.id
    session.add(ReviewEvent(item_id=item.id, action=f"reported_{kind}", note=text))
    _tell_moderators(item, post, kind)


def _same_report(session: Session, reporter: User, post: Post, kind: str) -> PeerReport | None:
    return session.scalar(
        select(PeerReport).where(
            PeerReport.reporter_id == reporter.id,
            PeerReport.target_type == "post",
            PeerReport.target_id == post.id,
            PeerReport.kind == kind,
        )
    )


def worried_reports_in_window(session: Session, reporter_id: int) -> int:
    since = utcnow() - timedelta(hours=int(current_app.config["WORRIED_REPORT_WINDOW_HOURS"]))
    count = session.scalar(
        select(func.count(PeerReport.id)).where(
            PeerReport.reporter_id == reporter_id, PeerReport.kind == "worried", PeerReport.created_at >= since
        )
    )
    return int(count or 0)


def _check_worried_limit(session: Session, reporter: User) -> None:
    # Counted inside the write transaction (which holds the write lock), so two quick reports can't both slip under.
    limit = int(current_app.config["WORRIED_REPORT_LIMIT"])
    if worried_reports_in_window(session, reporter.id) < limit:
        return
    window_hours = int(current_app.config["WORRIED_REPORT_WINDOW_HOURS"])
    oldest = session.scalar(
        select(func.min(PeerReport.created_at)).where(
            PeerReport.reporter_id == reporter.id,
            PeerReport.kind == "worried",
            PeerReport.created_at >= utcnow() - timedelta(hours=window_hours),
        )
    )
    retry = int(((oldest or utcnow()) + timedelta(hours=window_hours) - utcnow()).total_seconds()) + 1
    raise RateLimited(
        "You've sent several of these recently; thank you for looking out for people. The moderators have them. "
        "If someone is in danger right now, please contact local emergency services.",
        retry_after=max(retry, 1),
    )


def _item_for(session: Session, post: Post, kind: str, text: str) -> ReviewItem:
    reason = {"source": "report", "kind": kind, "detail": text}
    priority = _PRIORITY_FOR_KIND[kind]
    level = post.risk_level
    if kind == "worried" and _LEVEL_RANK.get(level, 0) < _LEVEL_RANK["concern"]:
        level = "concern"
    item = session.scalar(
        select(ReviewItem).where(
            ReviewItem.target_type == "post", ReviewItem.target_id == post.id, ReviewItem.status == "open"
        )
    )
    if item is None:
        item = ReviewItem(
            target_type="post",
            target_id=post.id,
            subject_user_id=post.author_id,
            priority=priority,
            level=level,
            reasons=[reason],
        )
        session.add(item)
        session.flush()
        return item
    item.reasons = [*item.reasons, reason]
    if priority == "urgent":
        item.priority = "urgent"
    if _LEVEL_RANK.get(level, 0) > _LEVEL_RANK.get(item.level, 0):
        item.level = level
    item.version += 1
    return item


def _tell_moderators(item: ReviewItem, post: Post, kind: str) -> None:
    update = {"item_id": item.id, "version": item.version, "status": item.status, "action": f"reported_{kind}"}
    after_commit(lambda: review._queue_changed(update))
    if item.priority == "urgent":
        payload = {
            "item_id": item.id,
            "level": item.level,
            "excerpt": "A member is worried about the person who wrote this post.",
            "where": {"kind": "thread", "thread_id": post.thread_id, "post_id": post.id},
        }
        after_commit(lambda: review._alert(payload))


# --- personal data ----------------------------------------------------------------------------------


_KINDS = {
    "check_in_requested": "asked for a check-in",
    review.REFUSED_WORDS_EVENT: "refused words kept for the moderators",
}


def _export(user: User) -> dict[str, Any]:
    """The reports this person made, what they asked the moderators for (check-ins, replies to them), and
    refused urgent words that were kept for the moderators."""
    reports = db.session.scalars(select(PeerReport).where(PeerReport.reporter_id == user.id).order_by(PeerReport.id))
    requests = db.session.scalars(
        select(ReviewEvent)
        .where(ReviewEvent.actor_id == user.id, ReviewEvent.action.in_(review.WRITTEN_TO_MODERATORS))
        .order_by(ReviewEvent.id)
    )
    return {
        "reports": [
            {"kind": r.kind, "post_id": r.target_id, "reason": r.reason, "created_at": r.created_at.isoformat()}
            for r in reports
        ],
        "to_the_moderators": [
            {"note": e.note, "kind": _KINDS[e.action], "created_at": e.created_at.isoformat()} for e in requests
        ],
    }


# What stands where a deleted reporter's words were: the moderators still see that words were given.
REASON_ERASED = "(erased with the reporter's account)"


def _erase(session: Session, user: User, keep_posts: bool) -> None:
    """A report stays for the moderators, since it is about someone else's safety, but no longer names its
    maker. Its reason is the maker's own words: with "delete" they go, from the report, the review item's
    reasons and the item's history; with "keep" they stay, like the posts. What the person wrote to the
    moderators about themself goes with the items about them (privacy._forget_screenings)."""
    if not keep_posts:
        for report in list(session.scalars(select(PeerReport).where(PeerReport.reporter_id == user.id))):
            _erase_reason(session, report)
    session.execute(update(PeerReport).where(PeerReport.reporter_id == user.id).values(reporter_id=None))


def _erase_reason(session: Session, report: PeerReport) -> None:
    """Each report (and each addition to it) copied its words into a reason and an event of the item open
    at the time; neither names the reporter, so they are found by their words among the items about the post."""
    if not report.reason:
        return
    items = list(
        session.scalars(
            select(ReviewItem)
            .where(ReviewItem.target_type == report.target_type, ReviewItem.target_id == report.target_id)
            .order_by(ReviewItem.id)
        )
    )
    _erase_from_reasons(items, report)
    _erase_from_history(session, items, report)
    report.reason = REASON_ERASED


def _erase_from_reasons(items: list[ReviewItem], report: PeerReport) -> None:
    is_theirs = _words_of(report)
    for item in items:
        item.reasons = [
            {**reason, "detail": REASON_ERASED}
            if reason.get("source") == "report"
            and reason.get("kind") == report.kind
            and is_theirs(reason.get("detail"))
            else reason
            for reason in item.reasons
        ]


def _erase_from_history(session: Session, items: list[ReviewItem], report: PeerReport) -> None:
    is_theirs = _words_of(report)
    events = session.scalars(
        select(ReviewEvent)
        .where(ReviewEvent.item_id.in_([item.id for item in items]), ReviewEvent.action == f"reported_{report.kind}")
        .order_by(ReviewEvent.id)
    )
    for event in list(events):
        if is_theirs(event.note):
            event.note = REASON_ERASED


def _words_of(report: PeerReport) -> Callable[[object], bool]:
    """A test for "these words are one of the texts this report added" (its reason joins them with blank
    lines, see _add_to_report). It says yes only as often as the report holds the text: another reporter who
    wrote the very same words keeps theirs."""
    joined = f"\n\n{report.reason}\n\n"
    found: Counter[str] = Counter()

    def is_theirs(text: object) -> bool:
        if not isinstance(text, str) or not text:
            return False
        if found[text] >= joined.count(f"\n\n{text}\n\n"):
            return False
        found[text] += 1
        return True

    return is_theirs


personal_data.register("reports_and_requests", export=_export, erase=_erase)
