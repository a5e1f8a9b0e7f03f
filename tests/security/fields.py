"""Every field a person writes, as one row each: how to submit payloads through the real route, and where they show.

Adding a feature with a new writable field means adding one row to FIELDS (and its name to REQUIRED_FIELDS if
the issue names it). A row's `submit` stores a list of payloads through HTTP (or the real Socket.IO handlers)
and returns the pages that show them, with who looks: the injection tests parse those pages and open them in
Chromium.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db, socketio
from forum.models import User

PASSWORD = "correct horse battery"
AUTHOR, MODERATOR = "xss_author", "xss_mod"

# The fields issue 6 names; the registry must cover each one.
REQUIRED_FIELDS = (
    "thread_title",
    "post_body",
    "reply",
    "edit",
    "content_note",
    "chat_message",
    "bio",
    "report_reason",
    "checkin_title",
    "journal_entry",
    "search_query",
)


@dataclass
class Page:
    viewer: str  # "anonymous", "author" or "moderator"
    path: str
    wait_for: str | None = None  # a selector that appears once client-side rendering is done


@dataclass
class Submitted:
    pages: list[Page]
    accepted: int  # submissions the service stored (a refusal is safe, but too many make the test vacuous)
    attempted: int
    fragments: list[str] = field(default_factory=list)  # HTML handed to client-side code (socket acks, JSON)


@dataclass
class Writer:
    """Signed-in test clients on one app: an aged, trusted author and a moderator."""

    app: Flask
    author: FlaskClient
    moderator: FlaskClient
    author_user: User
    extra: dict[str, Any] = field(default_factory=dict)

    def expect(self, response: Any, *codes: int) -> bool:
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        return response.status_code in codes

    def new_thread(self, body: str = "An opening post for the injection tests.", title: str = "Payload thread") -> int:
        response = self.author.post("/b/small-wins/new", data={"title": title, "body": body})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return int(response.headers["Location"].split("/t/")[1].split("?")[0].split("#")[0])


def prepare_writer(app: Flask) -> Writer:
    from forum.services import accounts
    from forum.services.transaction import write_transaction

    author = accounts.register(AUTHOR, PASSWORD)
    accounts.register(MODERATOR, PASSWORD, role="moderator")
    with write_transaction():
        author.trusted = True  # trusted members may host check-ins
        author.created_at = datetime.now(UTC) - timedelta(days=30)
    clients = []
    for name in (AUTHOR, MODERATOR):
        client = app.test_client()
        response = client.post("/login", data={"username": name, "password": PASSWORD})
        assert response.status_code == 302
        clients.append(client)
    return Writer(app=app, author=clients[0], moderator=clients[1], author_user=author)


# --- packing payloads into submissions --------------------------------------------------------------


def pack(payloads: list[str], *, max_len: int, separator: str, per: int = 100, min_len: int = 1) -> Iterator[str]:
    """Join payloads into texts of at most max_len characters (and `per` payloads); cut a lone payload to fit."""
    chunk: list[str] = []
    for payload in payloads:
        candidate = [*chunk, payload]
        if chunk and (len(separator.join(candidate)) > max_len or len(candidate) > per):
            yield _fit(separator.join(chunk), max_len, min_len)
            chunk = [payload]
        else:
            chunk = candidate
    if chunk:
        yield _fit(separator.join(chunk), max_len, min_len)


def _fit(text: str, max_len: int, min_len: int) -> str:
    text = text[:max_len]
    return text if len(text.strip()) >= min_len else ("x" * min_len + " " + text)[:max_len]


def _single_line(payloads: list[str]) -> list[str]:
    return [" ".join(p.split()) for p in payloads if p.strip()]


# --- the rows -------------------------------------------------------------------------------------


def thread_title(w: Writer, payloads: list[str]) -> Submitted:
    titles = list(pack(_single_line(payloads), max_len=150, separator=" ", min_len=5))
    accepted = 0
    for n, title in enumerate(titles):
        response = w.author.post("/b/small-wins/new", data={"title": title, "body": f"Body {n}."})
        accepted += w.expect(response, 302)
    return Submitted([Page("anonymous", "/b/small-wins"), Page("anonymous", "/")], accepted, len(titles))


def _bodies(payloads: list[str], max_len: int = 20_000) -> list[str]:
    return list(pack(payloads, max_len=max_len, separator="\n\n", per=100))


def post_body(w: Writer, payloads: list[str]) -> Submitted:
    pages, accepted, bodies = [], 0, _bodies(payloads)
    for n, body in enumerate(bodies):
        response = w.author.post("/b/small-wins/new", data={"title": f"Bodies {n}", "body": body})
        if w.expect(response, 302):
            accepted += 1
            pages.append(Page("anonymous", response.headers["Location"]))
    return Submitted(pages, accepted, len(bodies))


def reply(w: Writer, payloads: list[str]) -> Submitted:
    thread_id, bodies = w.new_thread(), _bodies(payloads)
    accepted = sum(w.expect(w.author.post(f"/t/{thread_id}/reply", data={"body": b}), 302) for b in bodies)
    return Submitted([Page("anonymous", f"/t/{thread_id}")], accepted, len(bodies))


def edit(w: Writer, payloads: list[str]) -> Submitted:
    from forum.models import Post

    thread_id, bodies, accepted = w.new_thread(), _bodies(payloads), 0
    for n, body in enumerate(bodies):
        w.author.post(f"/t/{thread_id}/reply", data={"body": f"Draft {n}, to be edited."})
        post_id = db.session.scalar(select(Post.id).where(Post.thread_id == thread_id).order_by(Post.id.desc()))
        accepted += w.expect(w.author.post(f"/p/{post_id}/edit", data={"body": body}), 302)
    return Submitted([Page("anonymous", f"/t/{thread_id}")], accepted, len(bodies))


def content_note(w: Writer, payloads: list[str]) -> Submitted:
    thread_id, accepted = w.new_thread(), 0
    notes = list(pack(_single_line(payloads), max_len=120, separator=" "))
    for note in notes:
        response = w.author.post(f"/t/{thread_id}/reply", data={"body": "Behind a note.", "content_note": note})
        accepted += w.expect(response, 302)
    return Submitted([Page("anonymous", f"/t/{thread_id}")], accepted, len(notes))


def journal_entry(w: Writer, payloads: list[str]) -> Submitted:
    pages, accepted = [Page("author", "/me/journal")], 0
    bodies = _bodies(payloads)
    titles = list(pack(_single_line(payloads), max_len=150, separator=" "))
    for n, body in enumerate(bodies):
        title = titles[n % len(titles)]
        response = w.author.post("/me/journal/new", data={"title": title, "body": body})
        if w.expect(response, 302):
            accepted += 1
            pages.append(Page("author", response.headers["Location"]))
    # Titles beyond the bodies' count still go through, as short entries.
    for title in titles[len(bodies) :]:
        accepted += w.expect(w.author.post("/me/journal/new", data={"title": title, "body": "Short entry."}), 302)
    return Submitted(pages, accepted, len(bodies) + max(0, len(titles) - len(bodies)))


def checkin_title(w: Writer, payloads: list[str]) -> Submitted:
    titles = list(pack(_single_line(payloads), max_len=150, separator=" ", min_len=5))
    starts = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    accepted = 0
    for title in titles:
        data = {"title": title, "area": "", "starts_at": starts, "length_minutes": "60", "capacity": "8"}
        accepted += w.expect(w.author.post("/chat/check-ins/new", data=data), 302)
    return Submitted([Page("author", "/chat/")], accepted, len(titles))


def report_reason(w: Writer, payloads: list[str]) -> Submitted:
    from forum.models import PeerReport, Post

    reasons = list(pack(payloads, max_len=1000, separator="\n"))
    thread_id = w.new_thread()
    accepted = 0
    for n, reason in enumerate(reasons):
        w.moderator.post(f"/t/{thread_id}/reply", data={"body": f"Reply {n} to report."})
        post_id = db.session.scalar(select(Post.id).where(Post.thread_id == thread_id).order_by(Post.id.desc()))
        w.expect(w.author.post(f"/p/{post_id}/report", data={"kind": "rules", "reason": reason}), 302)
    items = db.session.scalars(select(PeerReport.item_id).where(PeerReport.item_id.is_not(None))).all()
    accepted = len(items)
    pages = [Page("moderator", f"/moderation/items/{item_id}") for item_id in sorted(set(items))]
    return Submitted([Page("moderator", "/moderation/"), *pages], accepted, len(reasons))


def search_query(w: Writer, payloads: list[str]) -> Submitted:
    # Queries are echoed back on the results page, and payload posts come back as highlighted snippets.
    w.new_thread(body="\n\n".join(payloads[:100]), title="Search bait")
    queries = list(pack(_single_line(payloads), max_len=200, separator=" "))
    pages = [Page("anonymous", "/search?" + urlencode({"q": q})) for q in queries]
    pages += [Page("anonymous", "/search?" + urlencode({"q": word})) for word in ("script", "alert", "onerror", "img")]
    return Submitted(pages, len(queries), len(queries))


def chat_message(w: Writer, payloads: list[str]) -> Submitted:
    from forum.services import chat

    rooms = chat.board_rooms()
    if not rooms:
        chat.ensure_board_rooms()
        rooms = chat.board_rooms()
    room = rooms[0]
    sock = socketio.test_client(w.app, namespace="/chat", flask_test_client=w.author)
    assert sock.is_connected("/chat"), "the chat socket refused a signed-in member"
    sock.emit("join", {"room": room.key}, namespace="/chat", callback=True)
    bodies = list(pack(payloads, max_len=4000, separator="\n", per=100))
    fragments = []
    for n, body in enumerate(bodies):
        ack = sock.emit(
            "send", {"room": room.key, "body": body, "client_id": f"xss-{n}"}, namespace="/chat", callback=True
        )
        if ack and ack.get("ok"):
            fragments.append(ack["message"]["body_html"])
    sock.disconnect(namespace="/chat")
    page = Page("author", f"/chat/{room.key}", wait_for="[data-chat-log] li.chat-message")
    return Submitted([page], len(fragments), len(bodies), fragments)


def bio(w: Writer, payloads: list[str]) -> Submitted:
    bios = list(pack(payloads, max_len=500, separator="\n"))
    accepted = 0
    endpoint = w.extra.get("bio_path", "/me/profile")
    for text in bios:
        accepted += w.expect(w.author.post(endpoint, data={"bio": text, "pronouns": ""}), 302, 200)
    return Submitted([Page("anonymous", f"/u/{AUTHOR}")], accepted, len(bios))


@dataclass(frozen=True)
class Field:
    name: str
    submit: Callable[[Writer, list[str]], Submitted]
    needs_endpoint: str  # the route that must exist for this row; its absence fails the suite
    # One write per handful of payloads (short single-line fields): the full corpus runs on SQLite, every
    # fourth payload on PostgreSQL, where storage differs but rendering is the same code.
    costly: bool = False


FIELDS: tuple[Field, ...] = (
    Field("thread_title", thread_title, "boards.new_thread", costly=True),
    Field("post_body", post_body, "boards.new_thread"),
    Field("reply", reply, "boards.reply"),
    Field("edit", edit, "boards.edit"),
    Field("content_note", content_note, "boards.reply", costly=True),
    Field("journal_entry", journal_entry, "practice.journal_new", costly=True),
    Field("checkin_title", checkin_title, "chat.new_checkin", costly=True),
    Field("report_reason", report_reason, "moderation.report", costly=True),
    Field("search_query", search_query, "search.search_page"),
    Field("chat_message", chat_message, "chat.room"),
    Field("bio", bio, "profiles.edit"),
)


def missing_endpoint(app: Flask, row: Field) -> bool:
    return row.needs_endpoint not in app.view_functions


def author_of(app: Flask) -> User | None:
    return db.session.scalar(select(User).where(User.username == AUTHOR))
