"""Live chat: the one write path for chat messages, and the room rules around it.

A message goes the way a post does: validate -> render -> screen -> one transaction (message,
screening record, review item) -> after commit: deliver to the room (minus people who blocked the
author or were blocked), the support panel to the sender alone, the moderators' alert (queued by
review.queue_screening). Socket.IO handlers and pages call these functions with the acting user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import ColumnElement, Label, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session, make_transient_to_detached

from forum import permissions, ratelimits
from forum.extensions import db
from forum.models import Block, Board, ScreeningRecord, User, utcnow
from forum.models.chat import ChatMessage, ChatMute, ChatReadMark, ChatRoom, CheckIn, CheckInParticipant
from forum.rendering import render_markdown
from forum.services import review, screening
from forum.services.chat_errors import Muted, SlowMode
from forum.services.errors import NotFound, ServiceError, invalid
from forum.services.screening import ScreenResult
from forum.services.transaction import GroupCommit, after_commit, write_transaction
from forum.services.validation import clean_single_line, clean_text
from forum.statements import prebuilt

log = logging.getLogger(__name__)

MESSAGE_MAX = 4000
CLIENT_ID_MAX = 64
HISTORY_DEFAULT = 50
# A reconnect after a long absence gets at most this many at once; the client asks again for more.
HISTORY_MAX = 500
# How many of the newest retractions a reconnecting client is told about: more than it can be showing.
RETRACTED_MAX = 200
CONTEXT_BEFORE = 5
MUTE_MAX_MINUTES = 60 * 24 * 30
SLOW_MODE_MAX_SECONDS = 3600


@dataclass(frozen=True)
class SendOutcome:
    screen: ScreenResult
    created: bool
    # What clients are sent, built from the values written: the ack costs no reload.
    payload: dict[str, Any]
    # A new message's columns as written; None when the message was already loaded (a replay, an edit).
    written: dict[str, Any] | None = None

    @property
    def message(self) -> ChatMessage:
        """The message as a row of this session, made on first use: the socket path needs only the payload.

        A new one is attached from the values written, without a query: it may have been committed in
        another caller's batch, after this session's read snapshot began, so a query here could miss it.
        """
        if self.written is None:
            message = db.session.get(ChatMessage, self.payload["id"])
            if message is None:
                raise NotFound("That message doesn't exist.")
            return message
        written = ChatMessage(**self.written)
        make_transient_to_detached(written)
        return db.session.merge(written, load=False)


@dataclass(frozen=True)
class RoomEntry:
    room: ChatRoom
    checkin: CheckIn | None
    # What the person hasn't seen, as the payloads clients are sent (message_payload's), oldest first.
    history: list[dict[str, Any]]
    has_more: bool
    last_read_id: int
    # Messages the client may still be showing (ids up to its `after`) that were deleted or removed since.
    retracted: list[dict[str, Any]]
    # Someone without a place looking in on a running check-in: shown its state and places, not its talk.
    looking_in: bool = False


def socket_room(room: ChatRoom | str) -> str:
    """The Socket.IO room that carries a chat room's events."""
    key = room if isinstance(room, str) else room.key
    return f"chat:{key}"


# --- rooms ----------------------------------------------------------------------------------------


def board_room_key(board: Board) -> str:
    return f"board-{board.slug}"


def ensure_board_rooms() -> int:
    """An open room per board; safe to run on every start. Returns how many were created."""
    with write_transaction() as session:
        have = set(session.scalars(select(ChatRoom.board_id).where(ChatRoom.board_id.is_not(None))))
        boards = [board for board in session.scalars(select(Board).order_by(Board.position)) if board.id not in have]
        for board in boards:
            session.add(ChatRoom(key=board_room_key(board), kind="board", title=board.title, board_id=board.id))
    return len(boards)


# Every chat event names its room: one statement built once, so each event skips building the query
# and its cache key (SQLAlchemy memoises the key on the statement object).
_ROOM_BY_KEY = prebuilt(select(ChatRoom).where(ChatRoom.key == bindparam("key")))


def _checked_room_key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > 80:
        raise NotFound("There is no chat room with that name.")
    return key


def get_room(key: object) -> ChatRoom:
    key = _checked_room_key(key)
    room = db.session.scalar(_ROOM_BY_KEY, {"key": key})
    if room is None and key.startswith("board-"):
        # A board added after the last start gets its room on first visit.
        ensure_board_rooms()
        room = db.session.scalar(_ROOM_BY_KEY, {"key": key})
    if room is None:
        raise NotFound("There is no chat room with that name.")
    return room


def checkin_for(room: SendingRoom) -> CheckIn | None:
    if room.kind != "checkin":
        return None
    return db.session.scalar(select(CheckIn).where(CheckIn.room_id == room.id))


def is_participant(checkin: CheckIn, user_id: int) -> bool:
    found = db.session.scalar(
        select(CheckInParticipant.id).where(
            CheckInParticipant.checkin_id == checkin.id, CheckInParticipant.user_id == user_id
        )
    )
    return found is not None


def participant_count(checkin: CheckIn) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(CheckInParticipant).where(CheckInParticipant.checkin_id == checkin.id)
        )
        or 0
    )


def board_rooms() -> list[ChatRoom]:
    return list(
        db.session.scalars(
            select(ChatRoom)
            .join(Board, Board.id == ChatRoom.board_id)
            .where(ChatRoom.kind == "board")
            .order_by(Board.position)
        )
    )


# --- entering and reading -------------------------------------------------------------------------


# What a join reads, as statements built once: a thousand people rejoining at once run each of them a
# thousand times, and building a statement and its cache key cost more than the database's answer
# (SQLAlchemy memoises the key on the statement object). The two single-table reads select table
# columns, which skips the ORM's result machinery as well.
_MESSAGES = ChatMessage.__table__.c
_READ_MARKS = ChatReadMark.__table__.c
_VISIBLE_IN_ROOM = and_(
    ChatMessage.room_id == bindparam("room_id"),
    ChatMessage.deleted_at.is_(None),
    or_(ChatMessage.author_id.is_(None), ChatMessage.author_id.not_in(bindparam("hidden", expanding=True))),
)
_RETRACTED_UP_TO = prebuilt(
    select(_MESSAGES.id, _MESSAGES.removed_by_id)
    .where(
        _MESSAGES.room_id == bindparam("room_id"),
        _MESSAGES.id <= bindparam("after_id"),
        _MESSAGES.deleted_at.is_not(None),
    )
    .order_by(_MESSAGES.id.desc())
    .limit(RETRACTED_MAX)
)
_LAST_READ_ID = prebuilt(
    select(_READ_MARKS.last_read_id).where(
        _READ_MARKS.room_id == bindparam("room_id"), _READ_MARKS.user_id == bindparam("user_id")
    )
)
# The history a join sends, as plain columns with each author's name: the payloads are made straight from
# the rows. Loading each message and its author as objects, to turn them into payloads at once, cost more
# than the query, even for an empty history (a reconnect's usual answer).
_AUTHORS = User.__table__.c
_HISTORY_ROWS = (
    select(
        _MESSAGES.id,
        _MESSAGES.author_id,
        _MESSAGES.kind,
        _MESSAGES.body_md,
        _MESSAGES.body_html,
        _MESSAGES.created_at,
        _MESSAGES.edited_at,
        _MESSAGES.client_id,
        _AUTHORS.username,
    )
    .select_from(ChatMessage.__table__.outerjoin(User.__table__, _AUTHORS.id == _MESSAGES.author_id))
    .where(_VISIBLE_IN_ROOM)
)
_HISTORY_ROWS_AFTER = prebuilt(
    _HISTORY_ROWS.where(_MESSAGES.id > bindparam("after_id")).order_by(_MESSAGES.id).limit(bindparam("limit"))
)
_HISTORY_ROWS_LATEST = prebuilt(_HISTORY_ROWS.order_by(_MESSAGES.id.desc()).limit(bindparam("limit")))


def enter_room(
    actor: Any, room: ChatRoom, *, after: object = None, before_reading: Callable[[], None] | None = None
) -> RoomEntry:
    """Enter a room and read what the person hasn't seen.

    Entering a check-in takes no place: a place is taken by taking part (saving one, sending, sharing a
    mood), so people looking in never fill it. Someone without a place only looks in: no history, and
    `before_reading` (the socket's subscription to the room's talk) is called only for those who read.
    """
    checkin = checkin_for(room)
    member = permissions.ensure_signed_in(actor)
    joined = checkin is not None and is_participant(checkin, member.id)
    count = participant_count(checkin) if checkin is not None else 0
    member = permissions.ensure_can_enter_chat_room(member, checkin, is_participant=joined, participants=count)
    after_id = _clean_after(after)
    if not permissions.can_read_chat_room(member, checkin, is_participant=joined):
        return RoomEntry(room, checkin, [], False, 0, [], looking_in=True)
    if before_reading is not None:
        before_reading()
    history, has_more = history_payloads(member, room, after_id=after_id)
    last_read = _last_read_id(member, room)
    retracted = retracted_up_to(room, after_id) if after_id is not None else []
    return RoomEntry(room, checkin, history, has_more, last_read, retracted)


def retracted_up_to(room: ChatRoom, after_id: int) -> list[dict[str, Any]]:
    """The newest retractions at or before `after_id`, as `retracted` events would have said them.

    A client that was offline when a message it shows was deleted or removed missed that event; on
    rejoining it learns of it here, so no retracted words stay on its screen.
    """
    rows = db.session.connection().execute(_RETRACTED_UP_TO, {"room_id": room.id, "after_id": after_id})
    return [{"id": message_id, "by": "moderator" if removed_by else "author"} for message_id, removed_by in rows]


def add_participant(member: User, checkin: CheckIn) -> None:
    """Give the member a place in the check-in, if one is left; a second call changes nothing. Everyone
    viewing the check-in hears the new count."""
    try:
        with write_transaction() as session:
            # Counted again under the write lock: two people racing for the last place can't both get it.
            locked = session.get(CheckIn, checkin.id, with_for_update=True, populate_existing=True)
            assert locked is not None
            if is_participant(locked, member.id):
                return  # already has a place (a second tab, a stale page): full or not, it stays theirs
            taken = participant_count(locked)
            if taken >= locked.capacity:
                from forum.services.chat_errors import RoomFull

                raise RoomFull("This check-in is full.")
            session.add(CheckInParticipant(checkin_id=checkin.id, user_id=member.id))
            announce_places(locked, taken + 1)
    except IntegrityError:
        db.session.rollback()  # joined twice at once from two tabs: the first one counts


def places_room(checkin_id: int) -> str:
    """The Socket.IO room of the pages showing a check-in's places (the list of check-ins, its own page)."""
    return f"places:{checkin_id}"


def places_payload(checkin: CheckIn, taken: int) -> dict[str, Any]:
    """What anyone may see of a check-in's places: counts and state, nothing of who holds them."""
    return {
        "id": checkin.id,
        "room": checkin.room.key,
        "state": checkin.state,
        "capacity": checkin.capacity,
        "taken": taken,
    }


def announce_places(checkin: CheckIn, taken: int | None = None) -> None:
    """Within a write transaction: once it commits, every page showing the check-in hears its places."""
    payload = places_payload(checkin, participant_count(checkin) if taken is None else taken)
    target = places_room(checkin.id)

    def announce() -> None:
        from forum import realtime

        realtime.deliver("places", payload, room=target)

    after_commit(announce)


def _clean_after(after: object) -> int | None:
    if after is None or after == "":
        return None
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise invalid("after", "Must be a message id (a whole number) or null.")
    return after


def history_payloads(viewer: User, room: ChatRoom, *, after_id: int | None) -> tuple[list[dict[str, Any]], bool]:
    """Everything after `after_id` (oldest first), or the last 50, as message_payload makes them, and whether
    there is more; never what the viewer must not see."""
    params = {"room_id": room.id, "hidden": sorted(permissions.hidden_author_ids(viewer))}
    connection = db.session.connection()
    if after_id is not None:
        rows = connection.execute(_HISTORY_ROWS_AFTER, {**params, "after_id": after_id, "limit": HISTORY_MAX + 1}).all()
        return [_history_payload(row, room.key) for row in rows[:HISTORY_MAX]], len(rows) > HISTORY_MAX
    limit = int(current_app.config.get("CHAT_HISTORY", HISTORY_DEFAULT))
    rows = connection.execute(_HISTORY_ROWS_LATEST, {**params, "limit": limit + 1}).all()
    return [_history_payload(row, room.key) for row in reversed(rows[:limit])], len(rows) > limit


def _history_payload(row: Row[Any], room_key: str) -> dict[str, Any]:
    """message_payload, from a row of _HISTORY_ROWS (its author's name is None when they are gone)."""
    return _payload(row, room_key, row.username)


def _last_read_id(user: User, room: ChatRoom) -> int:
    # Table columns only: the connection runs it without the session's ORM execution steps.
    value = db.session.connection().execute(_LAST_READ_ID, {"room_id": room.id, "user_id": user.id}).scalar()
    return int(value or 0)


def mark_read(actor: Any, room: ChatRoom, last_id: object) -> int:
    """Move the person's read mark forward (never back). Returns the mark."""
    member = permissions.ensure_signed_in(actor)
    if isinstance(last_id, bool) or not isinstance(last_id, int) or last_id < 0:
        raise invalid("last_id", "Must be a message id.")
    newest = db.session.scalar(select(func.max(ChatMessage.id)).where(ChatMessage.room_id == room.id)) or 0
    target = min(last_id, newest)
    with write_transaction() as session:
        mark = session.scalar(
            select(ChatReadMark).where(ChatReadMark.room_id == room.id, ChatReadMark.user_id == member.id)
        )
        if mark is None:
            mark = ChatReadMark(room_id=room.id, user_id=member.id, last_read_id=target)
            session.add(mark)
        elif target > mark.last_read_id:
            mark.last_read_id = target
        result = mark.last_read_id
    return result


def unread_counts(viewer: Any, rooms: list[ChatRoom]) -> dict[int, int]:
    """Messages after the person's read mark, by others, that they may see; per room id."""
    member = permissions.signed_in(viewer)
    if member is None or not rooms:
        return {}
    ids = _readable_room_ids(member, rooms)
    if not ids:
        return {}
    query = (
        select(ChatMessage.room_id, func.count())
        .outerjoin(ChatReadMark, and_(ChatReadMark.room_id == ChatMessage.room_id, ChatReadMark.user_id == member.id))
        .where(
            ChatMessage.room_id.in_(ids),
            ChatMessage.deleted_at.is_(None),
            ChatMessage.id > func.coalesce(ChatReadMark.last_read_id, 0),
            or_(ChatMessage.author_id.is_(None), ChatMessage.author_id != member.id),
        )
        .group_by(ChatMessage.room_id)
    )
    hidden = permissions.hidden_author_ids(member)
    if hidden:
        query = query.where(or_(ChatMessage.author_id.is_(None), ChatMessage.author_id.not_in(hidden)))
    return {room_id: int(count) for room_id, count in db.session.execute(query)}


def _readable_room_ids(member: User, rooms: list[ChatRoom]) -> list[int]:
    """The rooms whose talk the person is shown (permissions.can_read_chat_room): a check-in they don't take
    part in has nothing unread for them. A count there would say how busy a group they're not in is, on a
    badge they could never clear. Two queries, whatever the number of rooms."""
    ids = [room.id for room in rooms]
    checkins = list(db.session.scalars(select(CheckIn).where(CheckIn.room_id.in_(ids))))
    if not checkins:
        return ids
    taking_part = set(
        db.session.scalars(
            select(CheckInParticipant.checkin_id).where(
                CheckInParticipant.user_id == member.id,
                CheckInParticipant.checkin_id.in_([checkin.id for checkin in checkins]),
            )
        )
    )
    not_theirs = {
        checkin.room_id
        for checkin in checkins
        if not permissions.can_read_chat_room(member, checkin, is_participant=checkin.id in taking_part)
    }
    return [room_id for room_id in ids if room_id not in not_theirs]


_BLOCKS_AROUND = prebuilt(
    select(Block.blocker_id, Block.blocked_id).where(
        or_(
            Block.blocked_id == bindparam("author_id"),
            and_(Block.blocker_id == bindparam("author_id"), Block.kind == "block"),
        )
    )
)


def hidden_from_author(author_id: int) -> set[int]:
    """Who must not receive this author's writing live: people who blocked or muted them, and people they blocked."""
    # Table columns only: the connection runs it without the session's ORM execution steps.
    rows = db.session.connection().execute(_BLOCKS_AROUND, {"author_id": author_id})
    return {blocked if blocker == author_id else blocker for blocker, blocked in rows}


# --- sending ----------------------------------------------------------------------------------------


def clean_client_id(client_id: object) -> str:
    return clean_single_line("client_id", client_id, min_len=1, max_len=CLIENT_ID_MAX)


def _clean_body(body: object) -> str:
    return clean_text("body", body, max_len=MESSAGE_MAX)


def existing_message(author: User, client_id: str) -> ChatMessage | None:
    return db.session.scalar(
        select(ChatMessage).where(ChatMessage.author_id == author.id, ChatMessage.client_id == client_id)
    )


class SendingRoom(Protocol):
    """What the send path reads of a room: a ChatRoom, or the row send_to_room reads with the sender's state."""

    @property
    def id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def slow_mode_seconds(self) -> int: ...


def _sender_facts(room_id: ColumnElement[int] | QueryableAttribute[int]) -> list[Label[Any]]:
    """What the send path needs to know about the sender, as columns of one statement instead of a query per
    rule: a message they already sent under this client_id (idempotency), the end of a mute in force, and
    when they last wrote in the room (slow mode; ids follow time, so the newest id is the newest message)."""
    existing = select(ChatMessage.id).where(
        ChatMessage.author_id == bindparam("author_id"), ChatMessage.client_id == bindparam("client_id")
    )
    muted = select(func.max(ChatMute.until)).where(
        ChatMute.room_id == room_id, ChatMute.user_id == bindparam("author_id"), ChatMute.until > bindparam("now")
    )
    last = (
        select(ChatMessage.created_at)
        .where(ChatMessage.room_id == room_id, ChatMessage.author_id == bindparam("author_id"))
        .order_by(ChatMessage.id.desc())
        .limit(1)
    )
    return [
        existing.scalar_subquery().label("existing_id"),
        muted.scalar_subquery().label("muted_until"),
        last.scalar_subquery().label("last_sent_at"),
    ]


_SENDER_STATE = prebuilt(select(*_sender_facts(bindparam("room_id"))))
# A socket's `send` names its room by key: the room's columns and the sender's state in one statement.
_ROOM_AND_SENDER_STATE = prebuilt(
    select(
        ChatRoom.id,
        ChatRoom.key,
        ChatRoom.kind,
        ChatRoom.title,
        ChatRoom.closed_at,
        ChatRoom.slow_mode_seconds,
        *_sender_facts(ChatRoom.id),
    ).where(ChatRoom.key == bindparam("key"))
)


def _state_params(author: User, client_id: str) -> dict[str, Any]:
    return {"author_id": author.id, "client_id": client_id, "now": utcnow()}


def send_message(
    actor: Any,
    room: ChatRoom,
    *,
    body: object,
    client_id: object,
    remote_addr: str | None = None,
) -> SendOutcome:
    author = permissions.ensure_signed_in(actor)
    key = clean_client_id(client_id)
    params = {**_state_params(author, key), "room_id": room.id}
    state = db.session.connection().execute(_SENDER_STATE, params).one()
    return _send_checked(author, room, state, key, body, remote_addr)


def send_to_room(
    actor: Any,
    room_key: object,
    *,
    body: object,
    client_id: object,
    remote_addr: str | None = None,
) -> SendOutcome:
    """send_message to a room named by its key, as a socket's `send` names it: the room is read together
    with the sender's state, as plain columns (the send path needs no ChatRoom object)."""
    author = permissions.ensure_signed_in(actor)
    room_key = _checked_room_key(room_key)
    key = clean_client_id(client_id)
    params = {**_state_params(author, key), "key": room_key}
    row = db.session.connection().execute(_ROOM_AND_SENDER_STATE, params).one_or_none()
    if row is None:  # no such room, or a board's room not made yet: get_room says which
        return send_message(author, get_room(room_key), body=body, client_id=key, remote_addr=remote_addr)
    return _send_checked(author, row, row, key, body, remote_addr)


def _send_checked(
    author: User, room: SendingRoom, state: Row[Any], key: str, body: object, remote_addr: str | None
) -> SendOutcome:
    """Every rule, in order, then screen and store. `state` holds _sender_facts for this author and room."""
    if state.existing_id is not None:
        return _replay(db.session.get(ChatMessage, state.existing_id), room)
    checkin = checkin_for(room)
    text = _clean_body(body)
    result = screening.screen_text(text)
    with _help_on_refusal(author, text, result, room):
        author = permissions.ensure_can_send_in_chat_room(author, room, checkin)
        takes_place = _ensure_may_enter(author, checkin)
        _ensure_not_muted(state.muted_until)
        crisis = result.level == "crisis"
        if not crisis:  # slow mode calms a busy room; it must not hold back someone in crisis
            _ensure_slow_mode_allows(author, room, state.last_sent_at)
        ratelimits.enforce("chat", author, remote_addr=remote_addr, crisis=lambda: crisis)
        if takes_place and checkin is not None:
            # Last: a message refused for any other reason must not cost someone else their place.
            add_participant(author, checkin)
    return store_message(author, room, client_id=key, body_md=text, body_html=render_markdown(text), result=result)


@contextmanager
def _help_on_refusal(author: User, text: str, result: ScreenResult, room: SendingRoom) -> Iterator[None]:
    """A message refused (a silence, a pause, slow mode, a rate limit, a room not open) still brings its
    writer the support panel when its words call for one, and urgent words still reach the moderators;
    the client keeps the words to send again."""
    try:
        yield
    except ServiceError as refusal:
        support = support_for(result)
        if support is not None:
            refusal.extra["support"] = support
        _tell_moderators(author, text, result, refusal, room)
        raise


def _tell_moderators(author: User, text: str, result: ScreenResult, refusal: ServiceError, room: SendingRoom) -> None:
    if not result.is_urgent:
        return
    try:
        review.keep_refused_crisis_words(
            author, text, result, refusal=refusal.message, place=f"chat room {room.key}", link=f"/chat/{room.key}"
        )
    except Exception:  # the refusal, with its lines, still reaches the writer
        log.exception("refused urgent words could not be put in front of the moderators")


def replayed(author: User, key: str, room: SendingRoom) -> SendOutcome | None:
    """A resend after a lost ack returns the first message, even if the room closed since."""
    message = existing_message(author, key)
    return None if message is None else _replay(message, room)


def _replay(message: ChatMessage | None, room: SendingRoom) -> SendOutcome:
    if message is None:  # erased between the lookup and now
        raise NotFound("That message doesn't exist.")
    if message.room_id != room.id:
        raise invalid("client_id", "That client_id was already used for another room.")
    return SendOutcome(screen=_stored_screen(message), created=False, payload=message_payload(message))


def _ensure_may_enter(author: User, checkin: CheckIn | None) -> bool:
    """Refuses a sender the check-in would not let in; returns whether their message takes them a place.

    A message is taking part, so someone without a place who sends one takes one (within capacity); the
    host and moderators run a check-in without holding a place."""
    if checkin is None:
        return False
    joined = is_participant(checkin, author.id)
    permissions.ensure_can_enter_chat_room(
        author, checkin, is_participant=joined, participants=participant_count(checkin)
    )
    return not joined and not permissions.can_manage_checkin(author, checkin)


def _ensure_not_muted(until: datetime | None) -> None:
    if until is not None:
        raise Muted("A moderator has paused your messages in this room for a while.", until=until.isoformat())


def _ensure_slow_mode_allows(author: User, room: SendingRoom, last: datetime | None) -> None:
    if room.slow_mode_seconds <= 0 or author.is_moderator or last is None:
        return
    wait = room.slow_mode_seconds - (utcnow() - last).total_seconds()
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        raise SlowMode(f"Slow mode is on: one message every {room.slow_mode_seconds} seconds.", retry_after=seconds)


@dataclass(frozen=True)
class _Draft:
    """A message ready to store, as plain values.

    Its job may run in another caller's batch and session (GroupCommit), after that session's write
    transaction expired every row it had loaded: reading a room or a person there would cost a query each.
    """

    room_id: int
    room_key: str
    room_title: str
    author_id: int
    author_name: str
    client_id: str
    kind: str
    body_md: str
    body_html: str
    risk_level: str

    def row(self, created_at: datetime) -> dict[str, Any]:
        """The columns of a new message (all of them but the id, so an object made from them needs no load)."""
        return {
            "room_id": self.room_id,
            "author_id": self.author_id,
            "client_id": self.client_id,
            "kind": self.kind,
            "body_md": self.body_md,
            "body_html": self.body_html,
            "risk_level": self.risk_level,
            "created_at": created_at,
            "edited_at": None,
            "deleted_at": None,
            "removed_by_id": None,
        }

    def payload(self, message_id: int, created_at: datetime, extra: dict[str, Any] | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": message_id,
            "room": self.room_key,
            "author": self.author_name,
            "author_id": self.author_id,
            "kind": self.kind,
            "body_md": self.body_md,
            "body_html": self.body_html,
            "created_at": created_at.isoformat(),
            "edited_at": None,
            "client_id": self.client_id,
        }
        if extra:
            payload.update(extra)
        return payload


# Core inserts: the ORM's unit of work (flush, identity map, expiry) costs more than the write itself,
# and nothing here needs the rows as objects. Columns left out take their defaults as with the ORM.
_INSERT_MESSAGE = insert(ChatMessage.__table__)


def store_message(
    author: User,
    room: SendingRoom,
    *,
    client_id: str,
    body_md: str,
    body_html: str,
    result: ScreenResult,
    kind: str = "text",
    extra: dict[str, Any] | None = None,
    on_commit: Any = None,
) -> SendOutcome:
    """Persist a screened message with its screening and review item in one transaction, then tell people.

    `on_commit(session, message)` lets a caller (the check-in mood round) add its rows to the same transaction.
    """
    draft = _Draft(
        room_id=room.id,
        room_key=room.key,
        room_title=room.title,
        author_id=author.id,
        author_name=author.username,
        client_id=client_id,
        kind=kind,
        body_md=body_md,
        body_html=body_html,
        risk_level=result.level,
    )

    def write(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        created_at = utcnow()
        row = draft.row(created_at)
        message_id = session.connection().execute(_INSERT_MESSAGE, row).inserted_primary_key[0]
        if on_commit is not None:
            on_commit(session, session.get(ChatMessage, message_id))
        _screen_and_queue(session, message_id, draft, result)
        hidden = hidden_from_author(draft.author_id)
        payload = draft.payload(message_id, created_at, extra)
        target = socket_room(draft.room_key)
        after_commit(lambda: _announce(payload, target, draft.author_id, hidden, result))
        return payload, {**row, "id": message_id}

    try:
        payload, written = _chat_writes().run(write)
    except IntegrityError:
        # The same client_id raced past the lookup from two sockets; the unique index let one through.
        db.session.rollback()
        replay = replayed(author, client_id, room)
        if replay is None:
            raise
        return replay
    return SendOutcome(screen=result, created=True, payload=payload, written=written)


def _chat_writes() -> GroupCommit:
    """This app's chat writer: messages sent at the same moment share one commit."""
    writes: GroupCommit | None = current_app.extensions.get("hearth.chat_writes")
    if writes is None:
        writes = current_app.extensions.setdefault("hearth.chat_writes", GroupCommit())
    return writes


def _screen_and_queue(session: Session, message_id: int, draft: _Draft, result: ScreenResult) -> None:
    if not result.needs_review:
        # The common case: only the screening record, as one Core insert.
        screening.insert_record(session.connection(), "chat_message", message_id, result)
        return
    record = screening.record(session, "chat_message", message_id, result)
    review.queue_screening(
        session,
        target_type="chat_message",
        target_id=message_id,
        subject_user_id=draft.author_id,
        result=result,
        screening=record,
        excerpt=draft.body_md,
        where={
            "kind": "chat",
            "room": draft.room_key,
            "room_title": draft.room_title,
            "message_id": message_id,
            "author": draft.author_name,
            "body": draft.body_md,
            "context": _context_before(session, draft.room_id, message_id),
        },
    )


def context_before(message: ChatMessage) -> list[dict[str, Any]]:
    """What was said in the room just before `message` (the moderation item page shows it)."""
    return _context_before(db.session(), message.room_id, message.id)


def _context_before(session: Session, room_id: int, message_id: int) -> list[dict[str, Any]]:
    """The five messages before this one, oldest first, so a moderator reads it in its conversation."""
    rows = session.execute(
        select(ChatMessage.id, User.username, ChatMessage.body_md)
        .outerjoin(User, User.id == ChatMessage.author_id)
        .where(ChatMessage.room_id == room_id, ChatMessage.id < message_id, ChatMessage.deleted_at.is_(None))
        .order_by(ChatMessage.id.desc())
        .limit(CONTEXT_BEFORE)
    ).all()
    return [{"id": row_id, "author": name or "a former member", "body": body} for row_id, name, body in reversed(rows)]


def _stored_screen(message: ChatMessage) -> ScreenResult:
    row = db.session.scalar(
        select(ScreeningRecord)
        .where(ScreeningRecord.target_type == "chat_message", ScreeningRecord.target_id == message.id)
        .order_by(ScreeningRecord.id.desc())
        .limit(1)
    )
    return screening.result_from_record(row)


def message_payload(
    message: ChatMessage,
    *,
    room: ChatRoom | None = None,
    author: User | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    room = room or message.room
    author = author if author is not None else message.author
    payload = _payload(message, room.key, author.username if author is not None else None)
    if message.deleted_at is not None:  # a removed message keeps its words for the review record, never for clients
        payload.update(body_md="", body_html="")
    if extra:
        payload.update(extra)
    return payload


def _payload(message: ChatMessage | Row[Any], room_key: str, author_name: str | None) -> dict[str, Any]:
    """A message as clients are sent it, from the object or from a join's history row (the same names)."""
    return {
        "id": message.id,
        "room": room_key,
        "author": author_name if author_name is not None else "a former member",
        "author_id": message.author_id,
        "kind": message.kind,
        "body_md": message.body_md,  # the source, so its author edits the Markdown rather than the rendered text
        "body_html": message.body_html,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "client_id": message.client_id,
    }


def support_for(result: ScreenResult) -> dict[str, Any] | None:
    """The sender's support panel: the boards' panel content, with guide titles and links."""
    from forum.guides import get_guide
    from forum.support import support_payload

    if result.level not in ("crisis", "concern", "unknown"):
        return None
    payload = support_payload(result.level, current_app.config["SUPPORT_REGION"], list(result.guides))
    if payload is None:
        return None
    guides = [get_guide(slug) for slug in result.guides]
    payload["guides"] = [{"slug": g.slug, "title": g.title, "url": _guide_url(g.slug)} for g in guides if g]
    return payload


def _guide_url(slug: str) -> str:
    from flask import has_request_context, url_for

    # Emits from a CLI or a background task have no request to build URLs from.
    return url_for("guides.guide", slug=slug) if has_request_context() else f"/guides/{slug}"


def _announce(payload: dict[str, Any], target: str, author_id: int, hidden: set[int], result: ScreenResult) -> None:
    from forum import realtime

    realtime.deliver("message", payload, room=target, hidden_from=hidden)
    support = support_for(result)
    if support is not None:
        realtime.emit_to_user(author_id, "support", support)


# --- editing, deleting, removing ------------------------------------------------------------------


def get_message(message_id: object, room: ChatRoom | None = None) -> ChatMessage:
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise NotFound("That message doesn't exist.")
    message = db.session.get(ChatMessage, message_id)
    if message is None or (room is not None and message.room_id != room.id):
        raise NotFound("That message doesn't exist.")
    return message


def edit_message(actor: Any, message: ChatMessage, *, body: object) -> SendOutcome:
    author = permissions.ensure_can_edit_chat_message(actor, message)
    text = _clean_body(body)
    result = screening.screen_text(text)
    html = render_markdown(text)
    room = message.room
    with write_transaction() as session:
        message.body_md = text
        message.body_html = html
        message.edited_at = utcnow()
        if _RISK_RANK[result.level] > _RISK_RANK.get(message.risk_level, 0):
            message.risk_level = result.level
        _screen_and_queue(session, message.id, _edited_draft(message, room, author), result)
        payload = message_payload(message, room=room, author=author)
        hidden = hidden_from_author(author.id)

        def announce() -> None:
            from forum import realtime

            realtime.deliver("edited", payload, room=socket_room(room), hidden_from=hidden)
            support = support_for(result)
            if support is not None:
                realtime.emit_to_user(author.id, "support", support)

        after_commit(announce)
    return SendOutcome(screen=result, created=False, payload=payload)


def _edited_draft(message: ChatMessage, room: ChatRoom, author: User) -> _Draft:
    return _Draft(
        room_id=room.id,
        room_key=room.key,
        room_title=room.title,
        author_id=author.id,
        author_name=author.username,
        client_id=message.client_id,
        kind=message.kind,
        body_md=message.body_md,
        body_html=message.body_html,
        risk_level=message.risk_level,
    )


_RISK_RANK = {"none": 0, "concern": 1, "unknown": 2, "crisis": 3}


def delete_message(actor: Any, message: ChatMessage) -> ChatMessage:
    """The author takes a message back: gone for everyone live, and its words erased."""
    permissions.ensure_can_delete_chat_message(actor, message)
    with write_transaction() as session:
        message.deleted_at = utcnow()
        message.body_md = ""
        message.body_html = ""
        screening.forget_phrases(session, "chat_message", [message.id])
        _after_retracted(message, by="author")
    return message


def remove_message(actor: Any, message: ChatMessage, *, reason: object = "") -> ChatMessage:
    """A moderator takes a message down: gone for everyone live; the words stay for the review record."""
    moderator = permissions.ensure_can_remove_chat_message(actor, message)
    note = clean_text("reason", reason, max_len=500, required=False)
    with write_transaction() as session:
        message.deleted_at = utcnow()
        message.removed_by_id = moderator.id
        _audit(session, moderator, "chat_remove_message", "chat_message", message.id, note, {"room": message.room.key})
        _after_retracted(message, by="moderator")
    return message


def _after_retracted(message: ChatMessage, *, by: str) -> None:
    payload = {"id": message.id, "room": message.room.key, "by": by}
    target = socket_room(message.room)

    def announce() -> None:
        from forum import realtime

        realtime.deliver("retracted", payload, room=target)

    after_commit(announce)


def _audit(
    session: Session,
    actor: User,
    action: str,
    target_type: str,
    target_id: int | None,
    reason: str,
    details: dict[str, Any],
) -> None:
    from forum.models import AuditLog

    session.add(
        AuditLog(
            actor_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            reason=reason,
            details=details,
        )
    )


# --- moderating a room -----------------------------------------------------------------------------


def mute(actor: Any, room: ChatRoom, target: User | None, *, minutes: object, reason: object = "") -> ChatMute:
    moderator = permissions.ensure_can_restrict_user(actor, target)
    assert target is not None
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MUTE_MAX_MINUTES:
        raise invalid("minutes", f"Choose between 1 and {MUTE_MAX_MINUTES} minutes.")
    note = clean_text("reason", reason, max_len=500, required=False)
    with write_transaction() as session:
        row = ChatMute(
            room_id=room.id,
            user_id=target.id,
            until=utcnow() + timedelta(minutes=minutes),
            by_id=moderator.id,
            reason=note,
        )
        session.add(row)
        session.flush()
        details = {"room": room.key, "minutes": minutes}
        _audit(session, moderator, "chat_mute", "user", target.id, note, details)
        payload = {"room": room.key, "until": row.until.isoformat(), "reason": note}
        after_commit(lambda: _tell_user(target.id, "muted", payload))
    return row


def _tell_user(user_id: int, event: str, payload: dict[str, Any]) -> None:
    from forum import realtime

    realtime.emit_to_user(user_id, event, payload)


def set_slow_mode(actor: Any, room: ChatRoom, seconds: object) -> ChatRoom:
    moderator = permissions.ensure_moderator(actor)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= SLOW_MODE_MAX_SECONDS:
        raise invalid("seconds", f"Choose between 0 (off) and {SLOW_MODE_MAX_SECONDS} seconds.")
    with write_transaction() as session:
        room.slow_mode_seconds = seconds
        _audit(session, moderator, "chat_slow_mode", "chat_room", room.id, "", {"room": room.key, "seconds": seconds})
        _after_room_changed(room)
    return room


def close_room(actor: Any, room: ChatRoom) -> ChatRoom:
    moderator = permissions.ensure_moderator(actor)
    with write_transaction() as session:
        if room.closed_at is None:
            room.closed_at = utcnow()
            room.closed_by_id = moderator.id
            _audit(session, moderator, "chat_close_room", "chat_room", room.id, "", {"room": room.key})
        _after_room_changed(room)
    return room


def reopen_room(actor: Any, room: ChatRoom) -> ChatRoom:
    moderator = permissions.ensure_moderator(actor)
    checkin = checkin_for(room)
    if checkin is not None and checkin.state == "closed":
        raise invalid("room", "A check-in that has ended stays closed.")
    with write_transaction() as session:
        room.closed_at = None
        room.closed_by_id = None
        _audit(session, moderator, "chat_reopen_room", "chat_room", room.id, "", {"room": room.key})
        _after_room_changed(room)
    return room


def room_state(room: ChatRoom) -> dict[str, Any]:
    return {
        "key": room.key,
        "kind": room.kind,
        "title": room.title,
        "closed": room.closed_at is not None,
        "slow_mode_seconds": room.slow_mode_seconds,
    }


def _after_room_changed(room: ChatRoom) -> None:
    payload = room_state(room)
    target = socket_room(room)

    def announce() -> None:
        from forum import realtime

        realtime.deliver("room", payload, room=target)

    after_commit(announce)


# --- personal data --------------------------------------------------------------------------------


def _export(user: User) -> dict[str, Any]:
    """Every message row Hearth keeps of theirs: one a moderator removed keeps its words (for the review
    record), so they are theirs to have; one they deleted is listed without words, as that is all that is left.
    And the mutes a moderator put on them, with the reasons given."""
    messages = db.session.execute(
        select(ChatMessage, ChatRoom.key)
        .join(ChatRoom, ChatRoom.id == ChatMessage.room_id)
        .where(ChatMessage.author_id == user.id)
        .order_by(ChatMessage.id)
    )
    mutes = db.session.execute(
        select(ChatMute, ChatRoom.key)
        .join(ChatRoom, ChatRoom.id == ChatMute.room_id)
        .where(ChatMute.user_id == user.id)
        .order_by(ChatMute.id)
    )
    return {
        "messages": [
            {
                "id": message.id,
                "room": key,
                "body": message.body_md,
                "created_at": message.created_at.isoformat(),
                "status": _exported_status(message),
            }
            for message, key in messages
        ],
        "mutes_on_you": [
            {
                "room": key,
                "reason": mute.reason,
                "created_at": mute.created_at.isoformat(),
                "until": mute.until.isoformat(),
            }
            for mute, key in mutes
        ],
    }


def _exported_status(message: ChatMessage) -> str:
    if message.deleted_at is None:
        return "shown"
    # The moderator's account may be gone since (removed_by_id is then empty); only a removal keeps the words.
    removed = message.removed_by_id is not None or bool(message.body_md)
    return "removed by a moderator" if removed else "deleted by you"


def _register_personal_data() -> None:
    from forum.services import personal_data

    personal_data.register("chat", export=_export, erase=_erase_messages)


def _erase_messages(session: Session, user: User, keep_posts: bool) -> None:
    # Chat is deleted whatever happens to posts (the privacy promise): the rows stay as empty,
    # deleted placeholders so message ids others' clients hold still line up after a reconnect.
    written = list(session.scalars(select(ChatMessage.id).where(ChatMessage.author_id == user.id)))
    screening.forget_phrases(session, "chat_message", written)
    session.execute(
        update(ChatMessage)
        .where(ChatMessage.author_id == user.id)
        .values(author_id=None, body_md="", body_html="", deleted_at=utcnow())
    )


_register_personal_data()
