"""The relapse-prevention plan: what the person wants in front of them on the next hard day.

The plan is deliberately not screened: it is where a person writes down their warning signs, and naming
them is the point, not a crisis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forum import permissions
from forum.extensions import db
from forum.models import RelapsePlan, User, utcnow
from forum.services import personal_data
from forum.services.errors import Conflict
from forum.services.transaction import write_transaction
from forum.services.validation import clean_text

FIELD_MAX = 2000


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    hint: str


SECTIONS = (
    Section("warning_signs", "My warning signs", "What you notice first when things start to slide."),
    Section("triggers", "Situations that set me off", "The interpersonal moments that tend to start it."),
    Section("what_helps", "What helps", "Things you can do yourself, even on a bad day."),
    Section("people", "People I can reach", "Friends or family, and how to reach them."),
    Section("professionals", "Professional contacts", "Your GP, therapist or care team, with numbers."),
    Section("crisis_lines", "Crisis lines", "Lines you can call or text any time."),
)
FIELDS = tuple(section.name for section in SECTIONS)


def get_plan(user: Any) -> RelapsePlan | None:
    member = permissions.signed_in(user)
    if member is None:
        return None
    return db.session.scalar(select(RelapsePlan).where(RelapsePlan.user_id == member.id))


def has_content(plan: RelapsePlan | None) -> bool:
    return plan is not None and any(getattr(plan, name).strip() for name in FIELDS)


def lines(plan: RelapsePlan, name: str) -> list[str]:
    return [line.strip() for line in str(getattr(plan, name)).splitlines() if line.strip()]


CHANGED_ELSEWHERE = (
    "Your plan was changed somewhere else (another tab or device) after you opened this page, so nothing was "
    "saved. Your words are still in the boxes. Save again to replace that version with yours, or reload to read it."
)


def version_of(plan: RelapsePlan | None) -> str:
    """What the plan form carries of the plan it was opened on ("none yet" before there is one)."""
    return plan.updated_at.isoformat() if plan is not None else "none yet"


def save_plan(actor: Any, *, seen: object = None, **values: object) -> RelapsePlan:
    """`seen`: version_of(the plan) when its form was opened; a save over a change made since is refused (409)
    rather than silently losing it. None saves whatever the plan is now."""
    member = permissions.ensure_signed_in(actor)
    cleaned = {name: clean_text(name, values.get(name), max_len=FIELD_MAX, required=False) for name in FIELDS}
    with write_transaction() as session:
        plan = session.scalar(select(RelapsePlan).where(RelapsePlan.user_id == member.id))
        if seen is not None and seen != version_of(plan):
            raise Conflict(CHANGED_ELSEWHERE)
        if plan is None:
            plan = RelapsePlan(user_id=member.id)
            session.add(plan)
        for name, text in cleaned.items():
            setattr(plan, name, text)
        plan.updated_at = utcnow()
    return plan


def crisis_lines_suggestion(resources: list[dict[str, str]]) -> str:
    """The support panel's crisis lines for the region, one per line, as a starting point the person can edit."""
    out = []
    for resource in resources:
        parts = [resource["name"]]
        if resource.get("contact"):
            parts.append(f": {resource['contact']}")
        if resource.get("url"):
            parts.append(f" ({resource['url']})")
        out.append("".join(parts))
    return "\n".join(out)


# --- personal data ------------------------------------------------------------------------------


def export(user: User) -> dict[str, Any]:
    plan = db.session.scalar(select(RelapsePlan).where(RelapsePlan.user_id == user.id))
    if plan is None:
        return {"plan": None}
    return {"plan": {name: getattr(plan, name) for name in FIELDS} | {"updated_at": plan.updated_at.isoformat()}}


def erase(session: Session, user: User, keep_posts: bool) -> None:
    session.execute(delete(RelapsePlan).where(RelapsePlan.user_id == user.id))


personal_data.register("relapse_plan", export=export, erase=erase)
