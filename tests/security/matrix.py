"""The authorization matrix: every HTTP route and Socket.IO event x every role x object state, in ONE table.

ROUTES has one row per (method, URL rule) in the app; EVENTS one row per Socket.IO event per namespace.
A row names the object its path points at and a policy: the expected answer for each role and state.
test_authorization_matrix.py checks the table against app.url_map and the Socket.IO handlers (a new
route or event without a row fails the suite), then asks the app every question in the table.

Answers: OK (allowed: 2xx, a redirect that is not to the sign-in page, or a 400/409/422 about the input,
which means the request got past authorization), LOGIN (401 or a redirect to sign in), DENY (403),
HIDE (404: the object is not there for this person). Suspended people have no session left, so they
answer like anonymous visitors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

OK, LOGIN, DENY, HIDE = "ok", "login", "deny", "hide"

ROLES = ("anonymous", "member", "other", "blocked", "silenced", "suspended", "moderator", "admin")
# Object states, relative to the person asking: their own, someone else's, and someone else's that is
# hidden by a moderator, in a locked thread, deleted, or posted anonymously.
STATES = ("own", "another", "hidden", "locked", "deleted", "anonymous")
NO_STATE = ("-",)

Policy = Callable[[str, str], str]


def _gone(role: str) -> bool:
    return role in ("anonymous", "suspended")


def _staff(role: str) -> bool:
    return role in ("moderator", "admin")


# --- policies ------------------------------------------------------------------------------------------


def public(role: str, state: str) -> str:
    return OK


def signed_in(role: str, state: str) -> str:
    return LOGIN if _gone(role) else OK


def writer(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    return DENY if role == "silenced" else OK


def staff(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    return OK if _staff(role) else DENY


def admin_only(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    return OK if role == "admin" else DENY


def view_thread(role: str, state: str) -> str:
    if state in ("hidden", "deleted") and not _staff(role):
        return HIDE
    return OK


def reply(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    if state in ("hidden", "deleted") and not _staff(role):
        return HIDE
    if role == "silenced" or (state == "locked" and not _staff(role)):
        return DENY
    if role == "blocked" and state == "another":  # the thread's author blocked this person
        return DENY
    return OK


def edit_post(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    if state != "own" or role == "silenced":
        return DENY
    return OK


def delete_post(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    if state == "deleted":
        return DENY
    return OK if state == "own" or _staff(role) else DENY


def report_post(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    if state == "own":
        return DENY
    if state == "deleted" or (state == "hidden" and not _staff(role)):
        return HIDE
    return OK


def react(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    if state in ("hidden", "deleted") and not _staff(role):
        return DENY
    if state == "deleted":
        return DENY
    if role == "blocked" and state in ("another", "locked"):
        return DENY
    return OK


def bookmark(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    if state == "deleted" or (state == "hidden" and not _staff(role)):
        return HIDE
    return OK


def follow_thread(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    return HIDE if state in ("hidden", "deleted") and not _staff(role) else OK


def reveal(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    if not _staff(role):
        return DENY
    return OK if state == "anonymous" else DENY


def block_person(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    return DENY if _staff(role) else OK


def own_only(role: str, state: str) -> str:
    """Private things (homework): the owner, and nobody else, not even staff, learns they exist."""
    if _gone(role):
        return LOGIN
    return OK if state == "own" else HIDE


def foreign_private(role: str, state: str) -> str:
    """Someone else's private thing behind a sign-in (a notification): 404 once signed in."""
    return LOGIN if _gone(role) else HIDE


def refuses_bad_credentials(role: str, state: str) -> str:
    """Sign-in with a wrong password answers the same to everyone, signed in or not."""
    return LOGIN


def refuses_a_missing_pass(role: str, state: str) -> str:
    """A suspended person's data download without a valid pass from their suspension page: sign in again."""
    return LOGIN


def own_private_page(role: str, state: str) -> str:
    """A private page read without signing in answers 404 like a missing one, never a sign-in prompt."""
    return OK if state == "own" and not _gone(role) else HIDE


@dataclass(frozen=True)
class Route:
    policy: Policy
    target: str = "none"  # what the path parameters point at: none, post, thread, board, user, journal, ...
    body: dict[str, object] | None = None  # form or JSON fields that pass validation where that matters
    variant: str = "a"  # "b": a second copy of the object, for a second route that destroys it

    @property
    def states(self) -> tuple[str, ...]:
        return (
            STATES if self.target in ("post", "thread") else ("own", "another") if self.target in PRIVATE else NO_STATE
        )


PRIVATE = ("journal", "homework")

# (method, rule) -> Route. One row per route; the test fails on a route without a row and on a row without a route.
ROUTES: dict[tuple[str, str], Route] = {
    # reading
    ("GET", "/"): Route(public),
    ("GET", "/healthz"): Route(public),
    ("GET", "/favicon.ico"): Route(public),
    ("GET", "/b/<slug>"): Route(public, "board"),
    ("GET", "/t/<int:thread_id>"): Route(view_thread, "thread"),
    ("GET", "/guides/"): Route(public),
    ("GET", "/guides/<slug>"): Route(public, "guide"),
    ("GET", "/search"): Route(public),
    ("GET", "/privacy"): Route(public),
    ("GET", "/u/<username>"): Route(public, "user"),
    # accounts
    ("GET", "/login"): Route(public),
    ("POST", "/login"): Route(refuses_bad_credentials, body={"username": "nobody", "password": "wrong password"}),
    ("POST", "/login/suspended/export"): Route(refuses_a_missing_pass, body={"pass": "not a pass"}),
    ("GET", "/register"): Route(public),
    ("POST", "/register"): Route(public),
    ("POST", "/logout"): Route(signed_in),
    # writing
    ("GET", "/b/<slug>/new"): Route(writer, "board"),
    ("POST", "/b/<slug>/new"): Route(writer, "board", {"title": "A new thread here", "body": "Hello."}),
    ("POST", "/t/<int:thread_id>/reply"): Route(reply, "thread", {"body": "A reply."}),
    ("GET", "/t/<int:thread_id>/reply"): Route(view_thread, "thread"),  # to the reply box, after signing in
    ("GET", "/p/<int:post_id>/edit"): Route(edit_post, "post"),
    ("POST", "/p/<int:post_id>/edit"): Route(edit_post, "post", {"body": "Edited."}),
    ("POST", "/p/<int:post_id>/delete"): Route(delete_post, "post"),
    ("POST", "/t/<int:thread_id>/pin"): Route(staff, "thread", {"pinned": "1"}),
    ("POST", "/t/<int:thread_id>/lock"): Route(staff, "thread", {"locked": "1"}),
    ("GET", "/p/<int:post_id>/report"): Route(report_post, "post"),
    ("POST", "/p/<int:post_id>/report"): Route(report_post, "post", {"kind": "rules", "reason": "x"}),
    ("POST", "/p/<int:post_id>/react"): Route(react, "post", {"kind": "hug"}),
    ("POST", "/p/<int:post_id>/bookmark"): Route(bookmark, "post"),
    ("GET", "/p/<int:post_id>/reveal"): Route(reveal, "post"),
    ("POST", "/p/<int:post_id>/reveal"): Route(reveal, "post", {"reason": "A safety concern."}),
    ("POST", "/t/<int:thread_id>/watch"): Route(follow_thread, "thread"),
    ("POST", "/b/<slug>/follow"): Route(signed_in, "board"),
    ("POST", "/u/<username>/block"): Route(block_person, "user", {"kind": "block"}),
    # the person's own pages
    ("GET", "/me/profile"): Route(signed_in),
    ("POST", "/me/profile"): Route(signed_in, body={"bio": "Hi.", "pronouns": ""}),
    ("GET", "/me/data"): Route(signed_in),
    ("POST", "/me/export"): Route(signed_in),
    ("POST", "/me/training-consent"): Route(signed_in),
    ("POST", "/me/delete"): Route(signed_in, body={"confirm": "no"}),
    ("GET", "/me/bookmarks"): Route(signed_in),
    ("GET", "/me/following"): Route(signed_in),
    ("GET", "/messages"): Route(signed_in),
    ("POST", "/messages/read"): Route(signed_in),
    ("POST", "/support/check-in"): Route(signed_in),
    ("GET", "/notifications"): Route(signed_in),
    ("POST", "/notifications/read"): Route(signed_in),
    ("GET", "/notifications/settings"): Route(signed_in),
    ("POST", "/notifications/settings"): Route(signed_in),
    ("POST", "/notifications/<int:notification_id>/open"): Route(foreign_private, "notification"),
    # practice (private to each person)
    ("GET", "/me/practice"): Route(signed_in),
    ("GET", "/me/homework"): Route(signed_in),
    ("POST", "/me/homework"): Route(signed_in, body={"guide": "{practice_guide}"}),
    ("POST", "/me/homework/<int:item_id>/done"): Route(own_only, "homework"),
    ("GET", "/me/homework/<int:item_id>/done"): Route(own_only, "homework"),  # to the practice, after signing in
    ("POST", "/me/homework/<int:item_id>/reopen"): Route(own_only, "homework"),
    ("POST", "/me/homework/<int:item_id>/delete"): Route(own_only, "homework"),
    ("GET", "/me/journal"): Route(signed_in),
    ("GET", "/me/journal/new"): Route(signed_in),
    ("POST", "/me/journal/new"): Route(signed_in, body={"body": "Dear diary."}),
    ("GET", "/me/journal/<int:entry_id>"): Route(own_private_page, "journal"),
    ("GET", "/me/journal/<int:entry_id>/edit"): Route(own_private_page, "journal"),
    ("POST", "/me/journal/<int:entry_id>/edit"): Route(own_private_page, "journal", {"body": "Edited entry."}),
    ("POST", "/me/journal/<int:entry_id>/delete"): Route(own_private_page, "journal"),
    ("POST", "/me/journal/check-in"): Route(signed_in),
    ("GET", "/me/mood"): Route(signed_in),
    ("POST", "/me/mood"): Route(signed_in, body={"score": "5"}),
    ("GET", "/me/plan"): Route(signed_in),
    ("POST", "/me/plan"): Route(signed_in, body={}),
    # live chat
    ("GET", "/chat/"): Route(signed_in),
    ("GET", "/chat/<key>"): Route(signed_in, "room"),
    ("GET", "/chat/check-ins/new"): Route(staff, "none"),
    ("POST", "/chat/check-ins/new"): Route(staff, "none", {"title": "Sunday check-in"}),
    ("POST", "/chat/check-ins/<int:checkin_id>/state"): Route(staff, "checkin"),
    ("POST", "/chat/check-ins/<int:checkin_id>/place"): Route(signed_in, "checkin"),
    ("POST", "/chat/check-ins/<int:checkin_id>/place/give-up"): Route(signed_in, "checkin"),
    ("POST", "/chat/<key>/slow-mode"): Route(staff, "room", {"seconds": "10"}),
    ("POST", "/chat/<key>/close"): Route(staff, "room"),
    ("POST", "/chat/<key>/reopen"): Route(staff, "room"),
    # moderation
    ("GET", "/moderation/"): Route(staff),
    ("GET", "/moderation/queue/list"): Route(staff),
    ("GET", "/moderation/resolved"): Route(staff),
    ("GET", "/moderation/dashboard"): Route(staff),
    ("GET", "/moderation/needs-reply"): Route(staff),
    ("GET", "/moderation/audit"): Route(staff),
    ("GET", "/moderation/items/<int:item_id>"): Route(staff, "item"),
    ("POST", "/moderation/items/<int:item_id>/claim"): Route(staff, "item"),
    ("POST", "/moderation/items/<int:item_id>/act"): Route(staff, "item", {"action": "note", "note": "Seen."}),
    # the JSON API
    ("GET", "/api/v1/openapi.json"): Route(public),
    ("GET", "/api/v1/boards"): Route(public),
    ("GET", "/api/v1/boards/<slug>/threads"): Route(public, "board"),
    ("POST", "/api/v1/boards/<slug>/threads"): Route(writer, "board", {"title": "A new thread", "body": "Hi."}),
    ("GET", "/api/v1/threads/<int:thread_id>"): Route(view_thread, "thread"),
    ("POST", "/api/v1/threads/<int:thread_id>/posts"): Route(reply, "thread", {"body": "A reply."}),
    ("PATCH", "/api/v1/posts/<int:post_id>"): Route(edit_post, "post", {"body": "Edited."}),
    ("DELETE", "/api/v1/posts/<int:post_id>"): Route(delete_post, "post", variant="b"),
    ("POST", "/api/v1/posts/<int:post_id>/reports"): Route(report_post, "post", {"kind": "rules", "reason": "x"}),
    ("PUT", "/api/v1/posts/<int:post_id>/reactions/<kind>"): Route(react, "post"),
    ("DELETE", "/api/v1/posts/<int:post_id>/reactions/<kind>"): Route(react, "post"),
    ("POST", "/api/v1/users"): Route(public, body={"username": "fresh_person", "password": "a long enough one"}),
    ("POST", "/api/v1/tokens"): Route(
        refuses_bad_credentials, body={"username": "nobody", "password": "wrong password"}
    ),
    ("DELETE", "/api/v1/tokens/current"): Route(signed_in),
    ("POST", "/api/v1/screen"): Route(signed_in, body={"text": "Hello there."}),
    ("POST", "/api/v1/check-ins"): Route(signed_in, body={}),
    ("GET", "/api/v1/search"): Route(public),
    ("GET", "/api/v1/notifications"): Route(signed_in),
    ("POST", "/api/v1/notifications/read"): Route(signed_in, body={"all": True}),
    ("GET", "/api/v1/moderation/queue"): Route(staff),
    ("GET", "/api/v1/moderation/items/<int:item_id>"): Route(staff, "item"),
    ("POST", "/api/v1/moderation/items/<int:item_id>/claim"): Route(staff, "item", {"version": 1}),
    ("POST", "/api/v1/moderation/items/<int:item_id>/actions"): Route(
        staff, "item", {"action": "note", "note": "x", "version": 1}
    ),
}


# --- Socket.IO ------------------------------------------------------------------------------------------


def socket_member(role: str, state: str) -> str:
    return LOGIN if _gone(role) else OK


def socket_writer(role: str, state: str) -> str:
    if _gone(role):
        return LOGIN
    return DENY if role == "silenced" else OK


# (namespace, event) -> policy. "connect" answers OK or LOGIN (refused); other events answer by their ack.
EVENTS: dict[tuple[str, str], Policy] = {
    ("/chat", "connect"): socket_member,
    ("/chat", "disconnect"): socket_member,
    ("/chat", "join"): socket_member,
    ("/chat", "leave"): socket_member,
    ("/chat", "present"): socket_member,  # the next page of who is here; in-room sockets only
    ("/chat", "send"): socket_writer,
    ("/chat", "edit"): socket_writer,
    ("/chat", "delete"): socket_writer,  # their own message; the silenced member here has none, so it is another's
    ("/chat", "typing"): socket_member,
    ("/chat", "read"): socket_member,
    ("/chat", "mood"): socket_member,
    ("/chat", "remove"): staff,
    ("/chat", "mute"): staff,
    ("/chat", "slow_mode"): staff,
    ("/chat", "close"): staff,
    ("/chat", "advance"): staff,
    ("/moderation", "connect"): staff,
    ("/notifications", "connect"): socket_member,
}
