"""Group check-ins: scheduling, the host's controls, the mood rounds, the summary, and forgetting transcripts.

A check-in runs scheduled -> open -> mood_round -> open_talk -> closing_round -> closed. The closing
round mirrors the mood round: each person shares an end mood (1-10) and one word before the host
closes, so the summary compares the same people's start and end without asking anyone after they left.
The host may close early from any state. Mood shares are chat messages (kind "mood"): they go through
the same screening, are part of the transcript, and are erased with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from forum import permissions, ratelimits
from forum.extensions import db
from forum.models import User, utcnow
from forum.models.chat import CHECKIN_STATES, ChatMessage, ChatRoom, CheckIn, CheckInMood, CheckInParticipant
from forum.services import chat, events, notifications, personal_data, screening
from forum.services.chat_errors import RoomClosed, RoomNotOpen
from forum.services.errors import Conflict, NotFound, invalid
from forum.services.transaction import after_commit, write_transaction
from forum.services.validation import clean_single_line

AREAS = ("grief", "role_transitions", "disputes", "deficits")
TITLE_MIN, TITLE_MAX = 5, 150
LENGTH_MIN, LENGTH_MAX = 15, 180
CAPACITY_MIN, CAPACITY_MAX = 2, 30
WORD_MAX = 24
# A check-in's title once its host has left and asked for their words to go with them.
CALLED_OFF_TITLE = "A check-in"
NEXT_STATE = {
    "scheduled": "open",
    "open": "mood_round",
    "mood_round": "open_talk",
    "open_talk": "closing_round",
    "closing_round": "closed",
}
_ONE_WORD = re.compile(r"^[^\s]+$")


@dataclass(frozen=True)
class Summary:
    participants: int
    average_start: float | None
    average_end: float | None
    shared_start: int
    shared_end: int
    # The same people at both ends: the two averages above can be over different groups (someone left
    # early, someone came late), so only these say how the group's mood moved.
    shared_both: int = 0
    both_start: float | None = None
    both_end: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "participants": self.participants,
            "average_start": self.average_start,
            "average_end": self.average_end,
            "shared_start": self.shared_start,
            "shared_end": self.shared_end,
            "shared_both": self.shared_both,
            "both_start": self.both_start,
            "both_end": self.both_end,
        }


# --- scheduling ------------------------------------------------------------------------------------


def schedule(
    actor: Any,
    *,
    title: object,
    area: object,
    starts_at: object,
    length_minutes: object,
    capacity: object,
) -> CheckIn:
    host = permissions.ensure_can_host_checkin(actor)
    clean_title = clean_single_line("title", title, min_len=TITLE_MIN, max_len=TITLE_MAX)
    clean_area = _clean_area(area)
    start = _clean_start(starts_at)
    length = _clean_int("length_minutes", length_minutes, LENGTH_MIN, LENGTH_MAX)
    places = _clean_int("capacity", capacity, CAPACITY_MIN, CAPACITY_MAX)
    with write_transaction() as session:
        room = ChatRoom(key=f"checkin-new-{host.id}-{utcnow().timestamp()}", kind="checkin", title=clean_title)
        session.add(room)
        session.flush()
        checkin = CheckIn(
            room_id=room.id,
            host_id=host.id,
            title=clean_title,
            area=clean_area,
            starts_at=start,
            length_minutes=length,
            capacity=places,
        )
        session.add(checkin)
        session.flush()
        room.key = f"checkin-{checkin.id}"
    return checkin


def _clean_area(area: object) -> str | None:
    if area in (None, ""):
        return None
    if area not in AREAS:
        raise invalid("area", "Choose one of the four areas, or none.")
    return str(area)


def _clean_start(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise invalid("starts_at", "Choose a start date and time.")
    if value.tzinfo is None:
        raise invalid("starts_at", "The start time needs a time zone.")
    if value < utcnow() - timedelta(hours=1):
        raise invalid("starts_at", "The start time is in the past.")
    if value > utcnow() + SCHEDULE_AHEAD:
        raise invalid("starts_at", f"Choose a start within the next {SCHEDULE_AHEAD.days} days.")
    return value


# How far ahead a check-in can be put on the calendar: year 9999 is a typo, not a plan.
SCHEDULE_AHEAD = timedelta(days=90)


def _clean_int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(field, f"Choose a number from {low} to {high}.")
    return value


def get_checkin(checkin_id: int) -> CheckIn:
    checkin = db.session.get(CheckIn, checkin_id)
    if checkin is None:
        raise NotFound("That check-in doesn't exist.")
    return checkin


def upcoming() -> list[CheckIn]:
    """Check-ins not yet closed, soonest first, then those closed in the last day (their summaries)."""
    running = select(CheckIn).where(CheckIn.state != "closed").order_by(CheckIn.starts_at)
    recent = (
        select(CheckIn)
        .where(CheckIn.state == "closed", CheckIn.closed_at > utcnow() - timedelta(days=1))
        .order_by(CheckIn.closed_at.desc())
    )
    return list(db.session.scalars(running)) + list(db.session.scalars(recent))


# --- places ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Places:
    taken: int
    mine: bool


def save_place(actor: Any, checkin: CheckIn) -> CheckIn:
    """Keep a place in a check-in before it opens (the person is told when it starts, and the place is theirs
    however many arrive first), or take part in one that runs. Looking in takes no place; this does."""
    member = permissions.ensure_signed_in(actor)
    if checkin.state == "closed":
        raise RoomClosed("This check-in has ended.")
    chat.add_participant(member, checkin)
    return checkin


def give_up_place(actor: Any, checkin: CheckIn) -> CheckIn:
    """Hand a saved place back before the check-in opens, for someone else. Once it has opened, taking part
    is part of its record (the mood rounds, the summary), so leaving is just leaving the room."""
    member = permissions.ensure_signed_in(actor)
    if checkin.state != "scheduled":
        raise Conflict("This check-in has already started; you can simply leave the room.")
    with write_transaction() as session:
        given_back = session.execute(
            delete(CheckInParticipant).where(
                CheckInParticipant.checkin_id == checkin.id, CheckInParticipant.user_id == member.id
            )
        )
        if given_back.rowcount:  # type: ignore[attr-defined]
            chat.announce_places(checkin)
    return checkin


def places(viewer: Any, shown: list[CheckIn]) -> dict[int, Places]:
    """For each check-in shown: how many places are taken, and whether the viewer holds one (one query)."""
    member = permissions.signed_in(viewer)
    ids = [checkin.id for checkin in shown]
    if not ids:
        return {}
    mine = CheckInParticipant.user_id == (member.id if member is not None else -1)
    rows = db.session.execute(
        select(CheckInParticipant.checkin_id, func.count(), func.max(case((mine, 1), else_=0)))
        .where(CheckInParticipant.checkin_id.in_(ids))
        .group_by(CheckInParticipant.checkin_id)
    )
    found = {checkin_id: Places(taken, bool(held)) for checkin_id, taken, held in rows}
    return {checkin_id: found.get(checkin_id, Places(0, False)) for checkin_id in ids}


# How many check-ins one page may ask to hear about (chat.js asks for the first this many it shows).
WATCH_MAX = 100


def watchable(checkin_ids: object) -> list[int]:
    """The check-in ids a page asks to hear the places of, once each; refused unless a short list of ids."""
    if not isinstance(checkin_ids, list) or not all(type(i) is int for i in checkin_ids):
        raise invalid("places", "Send a list of check-in ids.")
    if len(checkin_ids) > WATCH_MAX:
        raise invalid("places", f"At most {WATCH_MAX} check-ins at once.")
    return sorted(set(checkin_ids))


def watched_places(viewer: Any, checkin_ids: list[int]) -> list[dict[str, Any]]:
    """The places of the check-ins a page shows, as `places` events say them, for a page that starts to
    listen: whatever changed between its render and now. `mine`: whether the viewer holds one."""
    shown = list(
        db.session.scalars(
            select(CheckIn).options(joinedload(CheckIn.room)).where(CheckIn.id.in_(checkin_ids)).order_by(CheckIn.id)
        )
    )
    held = places(viewer, shown)
    return [{**chat.places_payload(c, held[c.id].taken), "mine": held[c.id].mine} for c in shown]


# --- the host's controls ----------------------------------------------------------------------------


def advance(actor: Any, checkin: CheckIn, to_state: object) -> CheckIn:
    """Move to the next state, or close from any state. Anything else is refused."""
    permissions.ensure_can_manage_checkin(actor, checkin)
    if to_state not in CHECKIN_STATES:
        raise invalid("state", "That isn't a check-in state.")
    if checkin.state == "closed":
        raise Conflict("This check-in has already ended.")
    if to_state != "closed" and NEXT_STATE.get(checkin.state) != to_state:
        raise Conflict(
            f"A check-in in {checkin.state.replace('_', ' ')} can't move to {str(to_state).replace('_', ' ')}."
        )
    with write_transaction() as session:
        locked = session.get(CheckIn, checkin.id, with_for_update=True, populate_existing=True)
        assert locked is not None
        if locked.state != checkin.state:
            raise Conflict("Someone else changed this check-in just now.")
        now = utcnow()
        locked.state = str(to_state)
        if to_state == "open":
            locked.opened_at = now
            _announce_opening(locked)
        if to_state == "closed":
            locked.closed_at = now
            locked.room.closed_at = now
        payload = _announce_state_after_commit(locked)
        chat.announce_places(locked, payload["taken"])  # the list and people looking in see the new state
    return checkin


def _announce_opening(checkin: CheckIn) -> None:
    """Tell everyone who signed up that the check-in has started (after the commit)."""
    participant_ids = list(
        db.session.scalars(select(CheckInParticipant.user_id).where(CheckInParticipant.checkin_id == checkin.id))
    )
    checkin_id, title = checkin.id, checkin.title
    url = f"/chat/{checkin.room.key}"
    after_commit(lambda: events.check_in_starting(checkin_id, title, participant_ids, url))


def public_state(checkin: CheckIn) -> dict[str, Any]:
    """What anyone let in may see of a check-in, someone looking in without a place included."""
    return {
        "id": checkin.id,
        "room": checkin.room.key,
        "title": checkin.title,
        "state": checkin.state,
        "host": checkin.host.username if checkin.host else None,
        "starts_at": checkin.starts_at.isoformat(),
        "length_minutes": checkin.length_minutes,
        "capacity": checkin.capacity,
        "taken": chat.participant_count(checkin),
    }


def checkin_state(checkin: CheckIn) -> dict[str, Any]:
    """public_state with what only the people taking part see: the round's shares, and the summary."""
    state = public_state(checkin)
    state["round"] = mood_round(checkin)
    if checkin.state == "closed":
        state["summary"] = summary(checkin).to_dict()
    return state


def _announce_state(payload: dict[str, Any], target: str) -> None:
    from forum import realtime

    realtime.deliver("checkin", payload, room=target)


# --- moods ------------------------------------------------------------------------------------------


def _phase_for(checkin: CheckIn) -> str:
    if checkin.state in ("mood_round", "open_talk"):
        return "start"
    if checkin.state == "closing_round":
        return "end"
    raise RoomNotOpen("Moods are shared in the mood round and the closing round.")


def share_mood(
    actor: Any, checkin: CheckIn, *, mood: object, word: object, client_id: object, remote_addr: str | None = None
) -> chat.SendOutcome:
    """One person's mood (1-10) and one word for the current round: a chat message, screened like any other."""
    room = checkin.room
    member = permissions.ensure_signed_in(actor)
    key = chat.clean_client_id(client_id)
    replay = chat.replayed(member, key, room)
    if replay is not None:
        return replay
    member = permissions.ensure_can_send_in_chat_room(member, room, checkin)
    joined = chat.is_participant(checkin, member.id)
    if not joined and permissions.can_manage_checkin(member, checkin):
        raise RoomNotOpen("The host and moderators run the rounds; the people taking part share in them.")
    phase = _phase_for(checkin)
    value = _clean_int("mood", mood, 1, 10)
    one_word = clean_single_line("word", word, min_len=1, max_len=WORD_MAX)
    if not _ONE_WORD.match(one_word):
        raise invalid("word", "Just one word.")
    if _has_shared(checkin, member, phase):
        raise Conflict("You've already shared your mood for this round.")
    ratelimits.enforce("chat", member, remote_addr=remote_addr)
    if not joined:
        # Sharing is taking part: it takes a place (within capacity), so the summary counts the sharer.
        chat.add_participant(member, checkin)
    result = _screen_mood(value, one_word)
    label = "at the start" if phase == "start" else "at the end"
    body_md = f"Mood {value}/10 {label}: {one_word}"
    from forum.rendering import render_markdown

    # Plain ids: the write may run in another caller's batch and session, after this one ended its reads.
    checkin_id, member_id = checkin.id, member.id

    def add_mood(session: Any, message: ChatMessage) -> None:
        session.add(
            CheckInMood(
                checkin_id=checkin_id, user_id=member_id, phase=phase, mood=value, word=one_word, message_id=message.id
            )
        )

    extra = {"mood": {"phase": phase, "value": value, "word": one_word}}
    return chat.store_message(
        member,
        room,
        client_id=key,
        body_md=body_md,
        body_html=render_markdown(body_md),
        result=result,
        kind="mood",
        extra=extra,
        on_commit=add_mood,
    )


# A mood this low is put in front of the moderators (as concern, for review) whatever the word says.
LOW_MOOD = 2


def _screen_mood(value: int, word: str) -> screening.ScreenResult:
    """A mood word says how the person feels. Alone, "suicidal" reads as a mention of the word (concern);
    as "feeling suicidal" it is what it is (crisis). A word or two is too little for the model to call
    crisis on ("feeling better" and "ready" once were), so only the safety net's phrases may: the phrased
    reading counts when they find crisis in it, and the model's own crisis on a mood word is kept as concern,
    in front of moderators without the urgent alarm."""
    said = screening.screen_text(word)
    felt = screening.screen_text(f"feeling {word}")
    result = felt if _phrase_says_crisis(felt) else said
    if result.level == "crisis" and not _phrase_says_crisis(result):
        result = replace(result, level="concern")
    if value <= LOW_MOOD and result.level == "none":
        low = {"kind": "rule", "label": f"mood {value}/10", "phrase": "", "start": 0, "end": 0}
        result = replace(result, level="concern", signals=[*result.signals, low])
    return result


def _phrase_says_crisis(result: screening.ScreenResult) -> bool:
    """Crisis found by a phrase of the safety net (moderation.lexicon), not by the model alone."""
    return result.level == "crisis" and any(signal.get("kind") == "lexicon" for signal in result.signals)


def _has_shared(checkin: CheckIn, member: User, phase: str) -> bool:
    found = db.session.scalar(
        select(CheckInMood.id).where(
            CheckInMood.checkin_id == checkin.id, CheckInMood.user_id == member.id, CheckInMood.phase == phase
        )
    )
    return found is not None


def mood_round(checkin: CheckIn) -> list[dict[str, Any]]:
    """The shares so far, in order, for drawing the round (words are gone once the transcript is)."""
    rows = db.session.execute(
        select(CheckInMood.phase, CheckInMood.mood, CheckInMood.word, User.username)
        .outerjoin(User, User.id == CheckInMood.user_id)
        .where(CheckInMood.checkin_id == checkin.id)
        .order_by(CheckInMood.id)
    )
    return [
        {"phase": phase, "mood": mood, "word": word, "author": name or "a former member"}
        for phase, mood, word, name in rows
    ]


def summary_for(viewer: Any, checkin: CheckIn) -> Summary | None:
    """A closed check-in's summary, for the people who were there and those who ran it, as its talk is
    (permissions.can_read_chat_room): in a small group an average can be one person's own mood."""
    member = permissions.signed_in(viewer)
    if checkin.state != "closed" or member is None:
        return None
    there = chat.is_participant(checkin, member.id)
    return summary(checkin) if permissions.can_read_chat_room(member, checkin, is_participant=there) else None


def summary(checkin: CheckIn) -> Summary:
    participants = (
        db.session.scalar(
            select(func.count()).select_from(CheckInParticipant).where(CheckInParticipant.checkin_id == checkin.id)
        )
        or 0
    )
    rows = db.session.execute(
        select(CheckInMood.phase, func.avg(CheckInMood.mood), func.count())
        .where(CheckInMood.checkin_id == checkin.id)
        .group_by(CheckInMood.phase)
    ).all()
    averages = {phase: average for phase, average, _count in rows}
    counts = {phase: count for phase, _average, count in rows}
    shared_both, both_start, both_end = _same_people_at_both_ends(checkin.id)
    return Summary(
        participants=int(participants),
        average_start=_rounded(averages.get("start")),
        average_end=_rounded(averages.get("end")),
        shared_start=int(counts.get("start", 0)),
        shared_end=int(counts.get("end", 0)),
        shared_both=shared_both,
        both_start=_rounded(both_start),
        both_end=_rounded(both_end),
    )


def _same_people_at_both_ends(checkin_id: int) -> tuple[int, Any, Any]:
    """How many shared a mood at the start and at the end, and those people's averages at each."""
    start, end = aliased(CheckInMood), aliased(CheckInMood)
    count, at_start, at_end = db.session.execute(
        select(func.count(), func.avg(start.mood), func.avg(end.mood))
        .select_from(start)
        .join(end, (end.checkin_id == start.checkin_id) & (end.user_id == start.user_id) & (end.phase == "end"))
        .where(start.checkin_id == checkin_id, start.phase == "start")
    ).one()
    return int(count or 0), at_start, at_end


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# --- forgetting -------------------------------------------------------------------------------------


def purge_transcripts(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete the messages of check-ins closed more than `days` ago (config CHAT_TRANSCRIPT_DAYS, default 30).

    The summary's numbers stay; the words go. Screening records and review items stay: they are the
    moderation history, and keep no quoted phrase (screening.forget_phrases). The messages stay as empty
    rows, as an erased account's do: SQLite gives a deleted row's id to the next message written, and a
    review item about the old message would then show someone else's words. Returns how many were purged.
    """
    keep_days = days if days is not None else int(current_app.config.get("CHAT_TRANSCRIPT_DAYS", 30))
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    due = list(
        db.session.scalars(
            select(CheckIn).where(
                CheckIn.state == "closed", CheckIn.closed_at <= cutoff, CheckIn.transcript_purged_at.is_(None)
            )
        )
    )
    for checkin in due:
        with write_transaction() as session:
            session.execute(
                update(CheckInMood).where(CheckInMood.checkin_id == checkin.id).values(word=None, message_id=None)
            )
            written = list(session.scalars(select(ChatMessage.id).where(ChatMessage.room_id == checkin.room_id)))
            screening.forget_phrases(session, "chat_message", written)
            gone_at = func.coalesce(ChatMessage.deleted_at, utcnow())
            session.execute(
                update(ChatMessage)
                .where(ChatMessage.room_id == checkin.room_id)
                .values(author_id=None, body_md="", body_html="", deleted_at=gone_at)
            )
            checkin.transcript_purged_at = utcnow()
    return len(due)


# --- personal data ----------------------------------------------------------------------------------


def _export(user: User) -> dict[str, Any]:
    """The check-ins they kept a place in, and the moods they shared there (their own; others' stay theirs)."""
    places = db.session.execute(
        select(CheckIn, CheckInParticipant.joined_at)
        .join(CheckInParticipant, CheckInParticipant.checkin_id == CheckIn.id)
        .where(CheckInParticipant.user_id == user.id)
        .order_by(CheckIn.starts_at)
    )
    moods = db.session.execute(
        select(CheckInMood, CheckIn.title)
        .join(CheckIn, CheckIn.id == CheckInMood.checkin_id)
        .where(CheckInMood.user_id == user.id)
        .order_by(CheckInMood.id)
    )
    return {
        "places": [
            {
                "checkin_id": checkin.id,
                "title": checkin.title,
                "starts_at": checkin.starts_at.isoformat(),
                "state": checkin.state,
                "place_kept_at": joined_at.isoformat(),
            }
            for checkin, joined_at in places
        ],
        "moods": [
            {
                "checkin_id": mood.checkin_id,
                "checkin_title": title,
                "phase": mood.phase,
                "mood": mood.mood,
                "word": mood.word,
                "shared_at": mood.created_at.isoformat(),
            }
            for mood, title in moods
        ],
    }


def _erase(session: Session, user: User, keep_posts: bool) -> None:
    """A mood word was said in the check-in's chat, and chat is erased whichever the choice, so the word goes
    either way. The row and its number stay, without a name (the account row's deletion empties user_id), as
    purge_transcripts leaves them: removing them would change the summary's averages and counts after the
    fact. The places go with the account row (ON DELETE CASCADE)."""
    session.execute(update(CheckInMood).where(CheckInMood.user_id == user.id).values(word=None))
    _call_off_hosted(session, user, keep_posts)
    _free_places_held(session, user)
    if not keep_posts:  # a title is the host's own words, as a post is: it goes when they ask for that
        session.execute(update(CheckIn).where(CheckIn.host_id == user.id).values(title=CALLED_OFF_TITLE))


def _free_places_held(session: Session, member: User) -> None:
    """The places the person held in check-ins still to come or running are free for someone else now, and
    every page showing those check-ins hears so (the cascade would free them without a word)."""
    held = list(
        session.scalars(
            select(CheckIn)
            .join(CheckInParticipant, CheckInParticipant.checkin_id == CheckIn.id)
            .where(CheckInParticipant.user_id == member.id, CheckIn.state != "closed")
        )
    )
    if not held:
        return
    session.execute(
        delete(CheckInParticipant).where(
            CheckInParticipant.user_id == member.id, CheckInParticipant.checkin_id.in_([c.id for c in held])
        )
    )
    for checkin in held:
        chat.announce_places(checkin)


def _call_off_hosted(session: Session, host: User, keep_posts: bool) -> None:
    """The host's check-ins that have not opened yet close now, and everyone with a place is told, rather
    than left waiting for someone who has left Hearth. One already running carries on: the people in it are
    talking, and a moderator can still move it on and close it."""
    waiting = session.scalars(select(CheckIn).where(CheckIn.host_id == host.id, CheckIn.state == "scheduled"))
    now = utcnow()
    for checkin in list(waiting):
        checkin.state, checkin.closed_at, checkin.room.closed_at = "closed", now, now
        members = session.scalars(
            select(CheckInParticipant.user_id).where(
                CheckInParticipant.checkin_id == checkin.id, CheckInParticipant.user_id != host.id
            )
        )
        notifications.tell_check_in_called_off(session, list(members), title=checkin.title if keep_posts else None)
        chat.announce_places(checkin)
        _announce_state_after_commit(checkin)


def _announce_state_after_commit(checkin: CheckIn) -> dict[str, Any]:
    """Within a write transaction: once it commits, everyone in the room hears the check-in's new state."""
    payload, target = checkin_state(checkin), chat.socket_room(checkin.room)
    after_commit(lambda: _announce_state(payload, target))
    return payload


personal_data.register("checkins", export=_export, erase=_erase)
