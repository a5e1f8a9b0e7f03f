"""The mood log: one 1-10 mood a day with a few tags, and what the days add up to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forum import permissions
from forum.extensions import db
from forum.models import MoodEntry, User, utcnow
from forum.services import personal_data
from forum.services.errors import invalid
from forum.services.practice.days import parse_day, person_today
from forum.services.transaction import write_transaction

MOOD_MIN, MOOD_MAX = 1, 10
TAGS = {
    "slept_well": "Slept well",
    "saw_someone": "Saw someone",
    "went_outside": "Went outside",
    "argued": "Argued",
}
# IPT's working idea: mood and relationships move together. This tag is the "social contact" the summary compares.
SOCIAL_TAG = "saw_someone"
BACKFILL_DAYS = 7
WINDOWS = (30, 90)


@dataclass(frozen=True)
class MoodLogged:
    entry: MoodEntry
    replaced: bool


@dataclass(frozen=True)
class Average:
    days: int
    mean: float | None


@dataclass(frozen=True)
class MoodSummary:
    start: date
    end: date
    window_days: int
    logged: int
    average: float | None
    lowest: int | None
    highest: int | None
    with_contact: Average
    without_contact: Average
    text: str


# --- writing ------------------------------------------------------------------------------------


def log_mood(
    actor: Any, *, mood: object, tags: object = (), day: object = None, local_today: object = None
) -> MoodLogged:
    """Record the mood for one day; a second entry for the same day replaces the first."""
    member = permissions.ensure_signed_in(actor)
    score = _clean_mood(mood)
    clean_tags = _clean_tags(tags)
    when = _clean_day(day, person_today(local_today))
    try:
        return _upsert(member, when, score, clean_tags)
    except IntegrityError:
        # Two taps raced past the lookup and the unique (user, day) index stopped the second: replace instead.
        return _upsert(member, when, score, clean_tags)


def _upsert(member: User, when: date, score: int, tags: list[str]) -> MoodLogged:
    with write_transaction() as session:
        entry = session.scalar(select(MoodEntry).where(MoodEntry.user_id == member.id, MoodEntry.day == when))
        replaced = entry is not None
        if entry is None:
            entry = MoodEntry(user_id=member.id, day=when, mood=score, tags=tags)
            session.add(entry)
        else:
            entry.mood = score
            entry.tags = tags
            entry.updated_at = utcnow()
        session.flush()
    return MoodLogged(entry=entry, replaced=replaced)


def _clean_mood(value: object) -> int:
    if isinstance(value, bool):
        raise invalid("mood", "Choose a number from 1 to 10.")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not MOOD_MIN <= value <= MOOD_MAX:
        raise invalid("mood", "Choose a number from 1 to 10.")
    return value


def _clean_tags(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise invalid("tags", "Tags must be a list.")
    unknown = [tag for tag in value if tag not in TAGS]
    if unknown:
        raise invalid("tags", f"Unknown tag. Choose from: {', '.join(TAGS.values())}.")
    return [tag for tag in TAGS if tag in value]


def _clean_day(value: object, today: date) -> date:
    when = parse_day("day", value) or today
    if when > today:
        raise invalid("day", "You can't log a mood for a day that hasn't happened yet.")
    if when < today - timedelta(days=BACKFILL_DAYS):
        raise invalid("day", f"You can fill in up to {BACKFILL_DAYS} days back.")
    return when


def earliest_backfill(today: date) -> date:
    return today - timedelta(days=BACKFILL_DAYS)


# --- reading ------------------------------------------------------------------------------------


def entry_for(user: User, day: date) -> MoodEntry | None:
    return db.session.scalar(select(MoodEntry).where(MoodEntry.user_id == user.id, MoodEntry.day == day))


def entries_between(user: User, start: date, end: date) -> list[MoodEntry]:
    rows = db.session.scalars(
        select(MoodEntry)
        .where(MoodEntry.user_id == user.id, MoodEntry.day >= start, MoodEntry.day <= end)
        .order_by(MoodEntry.day)
    )
    return list(rows)


def window(user: User, days: int, today: date) -> tuple[list[MoodEntry], MoodSummary]:
    start = today - timedelta(days=days - 1)
    entries = entries_between(user, start, today)
    return entries, summarise(entries, start, today)


def summarise(entries: list[MoodEntry], start: date, end: date) -> MoodSummary:
    moods = [entry.mood for entry in entries]
    social = [entry.mood for entry in entries if SOCIAL_TAG in entry.tags]
    alone = [entry.mood for entry in entries if SOCIAL_TAG not in entry.tags]
    summary = MoodSummary(
        start=start,
        end=end,
        window_days=(end - start).days + 1,
        logged=len(moods),
        average=_mean(moods),
        lowest=min(moods) if moods else None,
        highest=max(moods) if moods else None,
        with_contact=Average(days=len(social), mean=_mean(social)),
        without_contact=Average(days=len(alone), mean=_mean(alone)),
        text="",
    )
    return MoodSummary(**{**summary.__dict__, "text": describe(summary)})


def _mean(values: list[int]) -> float | None:
    return round(fmean(values), 1) if values else None


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def describe(summary: MoodSummary) -> str:
    """The chart in words, for screen readers and for anyone who'd rather read than look."""
    span = f"Over the last {summary.window_days} days ({_date(summary.start)} to {_date(summary.end)})"
    if not summary.logged:
        return f"{span} you haven't logged a mood yet."
    parts = [
        f"{span} you logged your mood on {_days(summary.logged)}.",
        f"Your average was {summary.average:.1f} out of 10, lowest {summary.lowest}, highest {summary.highest}.",
    ]
    social, alone = summary.with_contact, summary.without_contact
    if social.days and alone.days:
        parts.append(
            f"On the {_days(social.days)} you saw someone your average was {social.mean:.1f}; "
            f"on the {_days(alone.days)} without, {alone.mean:.1f}."
        )
    elif social.days:
        parts.append(f"You saw someone on every day you logged (average {social.mean:.1f}).")
    else:
        parts.append("None of these days is marked \u201csaw someone\u201d yet.")
    return " ".join(parts)


# --- personal data ------------------------------------------------------------------------------


def export(user: User) -> dict[str, Any]:
    rows = db.session.scalars(select(MoodEntry).where(MoodEntry.user_id == user.id).order_by(MoodEntry.day))
    return {"entries": [{"day": row.day.isoformat(), "mood": row.mood, "tags": list(row.tags)} for row in rows]}


def erase(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(MoodEntry).where(MoodEntry.user_id == user.id))


personal_data.register("mood_log", export=export, erase=erase)
