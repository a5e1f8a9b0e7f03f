"""The person's day. Dates are stored as dates (the day the person lived), never derived from a timestamp later."""

from __future__ import annotations

from datetime import date, timedelta

from forum.models import utcnow
from forum.services.errors import invalid


def utc_today() -> date:
    return utcnow().date()


def parse_day(field: str, value: object) -> date | None:
    """A date from a form or JSON (ISO "YYYY-MM-DD"), None when absent."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) > 10:
        raise invalid(field, "Use a date like 2025-03-14.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(field, "Use a date like 2025-03-14.") from None


def person_today(local_today: object) -> date:
    """The person's own today when their browser told us, else the server's UTC day.

    Every time zone on Earth is within a day of UTC, so anything further off is a wrong clock or a forgery.
    """
    server = utc_today()
    sent = parse_day("local_today", local_today)
    if sent is None:
        return server
    if abs((sent - server).days) > 1:
        raise invalid("local_today", "Your device's date looks wrong; please check its clock.")
    return sent


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday around day."""
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)
