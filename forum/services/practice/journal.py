"""The private journal: written for one reader, the author.

A journal entry is screened so the author can be shown support at once, but the result stays on the
entry itself: it is never written to the shared screenings table and never queued for moderators.
Moderators hear about it only when the author asks them to check in (request_check_in below).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from forum import limits, permissions
from forum.extensions import db
from forum.guides import Guide, get_guide
from forum.models import JournalEntry, ReviewItem, User, utcnow
from forum.rendering import render_markdown
from forum.services import idempotency, personal_data, review, screening
from forum.services.errors import Conflict, invalid
from forum.services.screening import ScreenResult
from forum.services.transaction import write_transaction
from forum.services.validation import clean_single_line, clean_text

TITLE_MAX = 150
CHECK_IN_NOTE_MAX = review.CHECK_IN_NOTE_MAX
PER_PAGE = 20


@dataclass(frozen=True)
class JournalOutcome:
    entry: JournalEntry
    screen: ScreenResult


@dataclass(frozen=True)
class Draft:
    title: str
    guide_slug: str | None
    body_md: str
    body_html: str
    screen: ScreenResult


# --- writing ------------------------------------------------------------------------------------


def _prepare(title: object, body: object, guide_slug: object) -> Draft:
    clean_title = clean_single_line("title", title, max_len=TITLE_MAX, required=False)
    body_md = clean_text("body", body, max_len=limits.BODY_MAX)
    slug = _clean_guide(guide_slug)
    result = screening.screen_text(f"{clean_title}\n\n{body_md}" if clean_title else body_md)
    return Draft(clean_title, slug, body_md, render_markdown(body_md), result)


def _clean_guide(value: object) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or get_guide(value) is None:
        raise invalid("guide", "There is no guide with that name.")
    return value


def write_entry(
    actor: Any, *, body: object, title: object = "", guide_slug: object = None, idempotency_key: object = None
) -> JournalOutcome:
    member = permissions.ensure_signed_in(actor)
    key = idempotency.clean_key(idempotency_key)
    existing = _existing_entry(member, key)
    if existing is not None:
        return existing
    draft = _prepare(title, body, guide_slug)
    repeated = _same_words_just_saved(member, draft)
    if repeated is not None:
        return JournalOutcome(entry=repeated, screen=draft.screen)
    entry = JournalEntry(
        user_id=member.id,
        title=draft.title,
        guide_slug=draft.guide_slug,
        body_md=draft.body_md,
        body_html=draft.body_html,
        screen_level=draft.screen.level,
        model_version=draft.screen.model_version,
        idempotency_key=key,
    )
    raced = idempotency.add_once(entry, lambda: _existing_entry(member, key))
    return raced or JournalOutcome(entry=entry, screen=draft.screen)


# Back to a saved entry's form and Save again: the page came back with a new idempotency key (journal pages are
# never cached), so the key cannot tell. The same words saved again this soon are the same entry.
REPEAT_WINDOW = timedelta(minutes=10)


def _same_words_just_saved(member: User, draft: Draft) -> JournalEntry | None:
    latest = db.session.scalar(
        select(JournalEntry).where(JournalEntry.user_id == member.id).order_by(JournalEntry.id.desc()).limit(1)
    )
    if latest is None or latest.created_at < utcnow() - REPEAT_WINDOW:
        return None
    same = (latest.title, latest.body_md, latest.guide_slug) == (draft.title, draft.body_md, draft.guide_slug)
    return latest if same else None


def _existing_entry(member: User, key: str | None) -> JournalOutcome | None:
    """The entry a first submit with this key made, with the support its text calls for."""
    if key is None:
        return None
    entry = db.session.scalar(
        select(JournalEntry).where(JournalEntry.user_id == member.id, JournalEntry.idempotency_key == key)
    )
    if entry is None:
        return None
    return JournalOutcome(entry=entry, screen=_prepare(entry.title, entry.body_md, entry.guide_slug).screen)


CHANGED_ELSEWHERE = (
    "This entry was changed somewhere else (another tab or device) after you opened it, so nothing was saved. "
    "Your words are still in the box. Save again to replace that version with yours, or open the entry to read it."
)


def version_of(entry: JournalEntry) -> str:
    """What an edit form carries of the entry it was opened on, to tell a later save from a stale one."""
    return (entry.edited_at or entry.created_at).isoformat()


def edit_entry(
    actor: Any, entry: JournalEntry, *, body: object, title: object = "", seen: object = None
) -> JournalOutcome:
    """`seen`: version_of(entry) when its form was opened; a save over a change made since is refused (409)
    rather than silently losing it. None saves whatever the entry is now."""
    permissions.ensure_can_edit_journal(actor, entry)
    if seen is not None and seen != version_of(entry):
        raise Conflict(CHANGED_ELSEWHERE)
    draft = _prepare(title, body, entry.guide_slug)
    with write_transaction():
        entry.title = draft.title
        entry.body_md = draft.body_md
        entry.body_html = draft.body_html
        entry.screen_level = draft.screen.level
        entry.model_version = draft.screen.model_version
        entry.edited_at = utcnow()
    return JournalOutcome(entry=entry, screen=draft.screen)


def delete_entry(actor: Any, entry: JournalEntry) -> None:
    permissions.ensure_can_edit_journal(actor, entry)
    with write_transaction() as session:
        session.delete(entry)


def request_check_in(actor: Any, *, note: object = "") -> ReviewItem:
    """The author chose to tell a moderator. Only their own note goes along, never the entry's words."""
    return review.request_check_in(actor, note=note if isinstance(note, str) else "", source="journal")


# --- reading ------------------------------------------------------------------------------------


def get_entry(entry_id: int) -> JournalEntry | None:
    return db.session.get(JournalEntry, entry_id)


def entries_for(user: User, page: int = 1) -> tuple[list[JournalEntry], int]:
    """One page of the author's entries, newest first, and the number of pages."""
    total = db.session.scalar(select(func.count()).where(JournalEntry.user_id == user.id)) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        select(JournalEntry)
        .where(JournalEntry.user_id == user.id)
        .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return list(rows), pages


def prompt_starter(guide: Guide) -> str:
    """The guide's reflection prompts as a starting text the author writes under."""
    return "".join(f"**{prompt}**\n\n\n" for prompt in guide.prompts)


def guides_with_prompts() -> list[Guide]:
    from forum.guides import all_guides

    return [guide for guide in all_guides().values() if guide.prompts]


# --- personal data ------------------------------------------------------------------------------


def export(user: User) -> dict[str, Any]:
    rows = list(
        db.session.scalars(select(JournalEntry).where(JournalEntry.user_id == user.id).order_by(JournalEntry.id))
    )
    entries = [
        {
            "id": row.id,
            "title": row.title,
            "guide": row.guide_slug,
            "body": row.body_md,
            "written_at": row.created_at.isoformat(),
            "edited_at": row.edited_at.isoformat() if row.edited_at else None,
        }
        for row in rows
    ]
    markdown = {f"journal/{row.created_at:%Y-%m-%d}-{row.id}.md": _as_markdown(row) for row in rows}
    return {"entries": entries, "markdown": markdown}


def _as_markdown(entry: JournalEntry) -> str:
    heading = entry.title or f"Journal, {entry.created_at:%d %B %Y}"
    return f"# {heading}\n\n{entry.body_md}\n"


def erase(session: Session, user: User, keep_posts: bool) -> None:
    # Private writing is never kept, whatever the person chose for their public posts.
    session.execute(delete(JournalEntry).where(JournalEntry.user_id == user.id))


personal_data.register("journal", export=export, erase=erase)
