"""Homework: a guide's practice added to the person's week, checked off with a short reflection.

A reflection is screened as a journal entry is, for its writer alone: crisis words in it bring them the support
panel and their plan at once, and nobody else is told (the result is not stored or queued)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forum import permissions
from forum.extensions import db
from forum.guides import Guide, get_guide
from forum.models import HomeworkItem, User, utcnow
from forum.rendering import render_markdown
from forum.services import idempotency, personal_data, screening
from forum.services.errors import NotFound, invalid
from forum.services.practice.days import parse_day, person_today, week_of
from forum.services.screening import ScreenResult
from forum.services.transaction import write_transaction
from forum.services.validation import clean_text

REFLECTION_MAX = 2000
# A practice is meant for this week; further out than this, it is a plan, not homework.
MAX_DAYS_AHEAD = 60
DEFAULT_DAYS_AHEAD = 6


@dataclass(frozen=True)
class WeekSummary:
    start: date
    end: date
    done: list[HomeworkItem]
    open_this_week: list[HomeworkItem]
    overdue: list[HomeworkItem]
    practised: list[tuple[str, int]]
    text: str


# --- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeAdded:
    item: HomeworkItem
    already_listed: bool  # the same practice was open for the same day: that one came back, nothing was added


def add_practice(
    actor: Any, guide_slug: object, *, due_on: object = None, local_today: object = None, idempotency_key: object = None
) -> HomeworkItem:
    member = permissions.ensure_signed_in(actor)
    key = idempotency.clean_key(idempotency_key)
    existing = _existing_item(member, key)
    if existing is not None:
        return existing
    guide = _practice_guide(guide_slug)
    due = _due_day(due_on, person_today(local_today))
    item = HomeworkItem(
        user_id=member.id,
        guide_slug=guide.slug,
        guide_title=guide.title,
        practice=guide.practice,
        due_on=due,
        idempotency_key=key,
    )
    return idempotency.add_once(item, lambda: _existing_item(member, key)) or item


def add_practice_once(
    actor: Any, guide_slug: object, *, due_on: object = None, local_today: object = None, idempotency_key: object = None
) -> PracticeAdded:
    """The guide page's "add to my week": pressed again while the same practice is still open for the same
    day, it gives that one back rather than a twin. Practising it twice is still a choice: another day."""
    member = permissions.ensure_signed_in(actor)
    if _existing_item(member, idempotency.clean_key(idempotency_key)) is None:  # a double click is not a twin
        guide = _practice_guide(guide_slug)
        twin = _open_item(member, guide.slug, _due_day(due_on, person_today(local_today)))
        if twin is not None:
            return PracticeAdded(twin, already_listed=True)
    item = add_practice(member, guide_slug, due_on=due_on, local_today=local_today, idempotency_key=idempotency_key)
    return PracticeAdded(item, already_listed=False)


def _practice_guide(slug: object) -> Guide:
    guide = get_guide(slug) if isinstance(slug, str) else None
    if guide is None or not guide.practice:
        raise NotFound("There is no guide practice with that name.")
    return guide


def _due_day(due_on: object, today: date) -> date:
    due = parse_day("due_on", due_on) or today + timedelta(days=DEFAULT_DAYS_AHEAD)
    if due < today:
        raise invalid("due_on", "Choose today or a day ahead.")
    if due > today + timedelta(days=MAX_DAYS_AHEAD):
        raise invalid("due_on", f"Choose a day within the next {MAX_DAYS_AHEAD} days.")
    return due


def _open_item(member: User, guide_slug: str, due: date) -> HomeworkItem | None:
    return db.session.scalar(
        select(HomeworkItem)
        .where(
            HomeworkItem.user_id == member.id,
            HomeworkItem.guide_slug == guide_slug,
            HomeworkItem.due_on == due,
            HomeworkItem.done_on.is_(None),
        )
        .order_by(HomeworkItem.id)
        .limit(1)
    )


def _existing_item(member: User, key: str | None) -> HomeworkItem | None:
    if key is None:
        return None
    return db.session.scalar(
        select(HomeworkItem).where(HomeworkItem.user_id == member.id, HomeworkItem.idempotency_key == key)
    )


@dataclass(frozen=True)
class Completed:
    item: HomeworkItem
    screen: ScreenResult  # of the reflection, for its writer only; level "none" when there is none


_NOTHING_WRITTEN = ScreenResult(level="none", score=None, area=None, guides=[])


def complete(actor: Any, item: HomeworkItem, *, reflection: object = "", local_today: object = None) -> Completed:
    permissions.ensure_can_manage_homework(actor, item)
    text = clean_text("reflection", reflection, max_len=REFLECTION_MAX, required=False)
    done_on = person_today(local_today)
    html = render_markdown(text) if text else ""
    result = screening.screen_text(text) if text else _NOTHING_WRITTEN
    with write_transaction():
        item.done_on = done_on
        item.done_at = utcnow()
        item.reflection_md = text
        item.reflection_html = html
    return Completed(item, result)


def reopen(actor: Any, item: HomeworkItem) -> HomeworkItem:
    permissions.ensure_can_manage_homework(actor, item)
    with write_transaction():
        item.done_on = None
        item.done_at = None
    return item


def remove(actor: Any, item: HomeworkItem) -> None:
    permissions.ensure_can_manage_homework(actor, item)
    with write_transaction() as session:
        session.delete(item)


# --- reading ------------------------------------------------------------------------------------


def get_item(item_id: int) -> HomeworkItem | None:
    return db.session.get(HomeworkItem, item_id)


def items_for(user: User) -> list[HomeworkItem]:
    """Open practices by due date, then what was done, most recent first."""
    rows = list(db.session.scalars(select(HomeworkItem).where(HomeworkItem.user_id == user.id)))
    open_items = sorted((row for row in rows if row.done_on is None), key=lambda row: (row.due_on, row.id))
    done = sorted((row for row in rows if row.done_on is not None), key=lambda row: (row.done_on, row.id), reverse=True)
    return open_items + done


def weekly_summary(user: User, today: date) -> WeekSummary:
    start, end = week_of(today)
    rows = list(
        db.session.scalars(
            select(HomeworkItem).where(HomeworkItem.user_id == user.id).order_by(HomeworkItem.due_on, HomeworkItem.id)
        )
    )
    done = [row for row in rows if row.done_on is not None and start <= row.done_on <= end]
    open_this_week = [row for row in rows if row.done_on is None and today <= row.due_on <= end]
    overdue = [row for row in rows if row.done_on is None and row.due_on < today]
    practised = Counter(row.practice for row in done).most_common()
    summary = WeekSummary(start, end, done, open_this_week, overdue, practised, text="")
    return WeekSummary(start, end, done, open_this_week, overdue, practised, text=_describe(summary))


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _describe(week: WeekSummary) -> str:
    span = f"This week ({week.start.day} {week.start:%b} to {week.end.day} {week.end:%b})"
    if week.done:
        what = "; ".join(f"\u201c{practice}\u201d {_times(count)}" for practice, count in week.practised)
        parts = [f"{span} you practised {_times(len(week.done))}: {what}."]
    else:
        parts = [f"{span} nothing is checked off yet. Small steps count, and so does trying."]
    if week.open_this_week:
        parts.append(f"{len(week.open_this_week)} still planned before Sunday.")
    if week.overdue:
        parts.append(f"{len(week.overdue)} past its day: keep it, move it or let it go.")
    return " ".join(parts)


# --- personal data ------------------------------------------------------------------------------


def export(user: User) -> dict[str, Any]:
    rows = db.session.scalars(select(HomeworkItem).where(HomeworkItem.user_id == user.id).order_by(HomeworkItem.id))
    return {
        "items": [
            {
                "guide": row.guide_slug,
                "guide_title": row.guide_title,
                "practice": row.practice,
                "due_on": row.due_on.isoformat(),
                "done_on": row.done_on.isoformat() if row.done_on else None,
                "reflection": row.reflection_md,
                "added_at": row.created_at.isoformat(),
            }
            for row in rows
        ]
    }


def erase(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(HomeworkItem).where(HomeworkItem.user_id == user.id))


personal_data.register("homework", export=export, erase=erase)
