"""What a thread page shows of each post to one viewer, and its HTML, worked out once and then remembered.

The rules stay in permissions.py. This module asks them once per post in Python (not a dozen times per
post from Jinja), fetches reactions and bookmarks for the whole page in a few queries, and builds the
per-post links from one url_for per endpoint (url_by_id).

Two caches make a page that was seen before cheap, and neither needs to be told about writes:

- A PostView holds everything the page shows of a post to this viewer and nothing else, so it is the key
  of the post's rendered HTML (templating.Fragments of templates/_post.html). Any edit, deletion,
  moderation action, reaction, bookmark, block or change of role changes the view, and two viewers share
  HTML only when each would have been shown exactly that HTML.
- Working out a PostView (a dozen permission answers per post) is itself remembered per viewer, keyed by
  every input it is computed from (facts_key): the post's, its author's, the thread's and the viewer's
  columns as loaded for this request, the viewer's blocks and mutes, the post's reactions and the
  viewer's bookmark, the page, and the minute (so an answer that depends on the time, such as a
  suspension running out, is never more than a minute old). A write changes a column or one of those
  sets, hence the key, so a stale answer is never looked up again.

The CSRF token is the one per-viewer value left out of both; it is filled into the slots the template
marks for it on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from operator import itemgetter
from typing import Any

from flask import request
from markupsafe import Markup, escape
from sqlalchemy import inspect

from forum import permissions, queries
from forum.guides import Guide
from forum.models import Post, Thread, User
from forum.models.community import REACTION_KINDS, REACTION_LABELS
from forum.queries import PAGE_PERSON_COLUMNS, PAGE_POST_COLUMNS, Page, PostPage
from forum.services import profiles, social
from forum.templating import ANONYMOUS_NAME, ID, Kept, author_name, fragments, kept, link, url_by_id

_ANSWERS = "hearth.post_answers"
_FACTS = "hearth.post_view_facts"
# Rendered posts kept per process, and the viewer-specific answers that lead to them. An entry refers to
# the post's HTML about twice (the key and the output); a post is at most 20,000 characters of Markdown,
# most are a few hundred.
FRAGMENT_CACHE_SIZE = 2048
VIEW_CACHE_SIZE = 4096
THREAD_FACTS = tuple(column.key for column in inspect(Thread).column_attrs)
# Where a row of queries.thread_page_rows holds what: the post's PAGE_POST_COLUMNS, then its author's.
_ID, _AUTHOR_ID, _IS_ANONYMOUS = (PAGE_POST_COLUMNS.index(name) for name in ("id", "author_id", "is_anonymous"))
_RISK, _DELETED = (PAGE_POST_COLUMNS.index(name) for name in ("risk_level", "deleted_at"))
_PERSON_START = len(PAGE_POST_COLUMNS)
_GETTERS = {names: itemgetter(*names) for names in (THREAD_FACTS, PAGE_POST_COLUMNS, PAGE_PERSON_COLUMNS)}


@dataclass(frozen=True)
class ReactionView:
    kind: str
    label: str
    count: int
    mine: bool


@dataclass(frozen=True)
class PostView:
    id: int
    visibility: str
    body_html: str
    content_note: str | None
    created_at: datetime
    edited: bool
    deleted: bool
    risk_level: str
    hidden_reason: str | None  # set when the viewer blocked, muted or was blocked by the author
    name: str
    anonymous_to_others: bool  # posted as "a member", and this viewer (its author or a moderator) sees who
    staff_role: str | None  # "moderator" or "admin" for a staff author's named post: the badge beside the name
    avatar_hue: int
    initials: str
    profile_url: str | None
    show_risk: bool
    show_body: bool
    quote_url: str | None
    edit_url: str | None
    delete_url: str | None
    report_url: str | None
    react_url: str | None  # None: the counts are shown, without buttons
    reactions: tuple[ReactionView, ...]
    bookmark_url: str | None
    bookmarked: bool
    reveal_url: str | None
    back: str


def staff_role(post: Post) -> str | None:
    """The role a post shows beside its author's name, so members can tell the real moderators from
    anyone who claims to be one. Never on an anonymous post: it would narrow down who wrote it."""
    author = post.author
    if post.is_anonymous or author is None or not author.is_moderator:
        return None
    return str(author.role)


def hidden_reason(viewer: Any, post: Post) -> str:
    """Why a post is not shown. Only the person who chose the block or mute is told it was them."""
    member = permissions.signed_in(viewer)
    if member is not None and post.author is not None:
        kind = social.relation(member, post.author)
        if kind == "block":
            return "Hidden because you blocked this person."
        if kind == "mute":
            return "Hidden because you muted this person."
    return "This post isn't shown to you."


@dataclass(frozen=True)
class ThreadView:
    html: list[tuple[str, ...]]  # each post's HTML, split where the CSRF token goes
    may_reply: bool  # asked once: it costs a query (blocks) per ask
    watch_level: str | None  # social.thread_watch_level, read with the rest
    guides: list[Guide]  # suggested for the thread, read with the rest

    def posts_html(self, csrf_token: str) -> Markup:
        """Every post's <li>, with this viewer's CSRF token in it."""
        token = str(escape(csrf_token))
        return Markup("".join([token.join(parts) for parts in self.html]))  # noqa: S704  (autoescaped output, escaped token)


def thread_view(viewer: Any, thread: Thread, page: PostPage) -> ThreadView:
    """The posts of a page (rows of queries.thread_page_rows) as HTML for this viewer: remembered when
    nothing they depend on changed. A page seen before is answered from the rows alone; otherwise the
    posts are loaded as objects for the permission rules, and keyed by what those objects hold."""
    answers = kept(_ANSWERS, VIEW_CACHE_SIZE)
    rows = page.items
    builder = _Builder(viewer, thread, page, [row[_ID] for row in rows])
    html = []
    for row in rows:
        key = builder.row_key(row)
        parts = answers.get(key) if key is not None else None
        if parts is None:
            return builder.thread_view(_work_out(builder, answers))
        html.append(parts)
    return builder.thread_view(html)


def wrote_crisis_here(viewer: Any, page: PostPage) -> bool:
    """Whether the viewer wrote a post on this page that screened as crisis (and is still there)."""
    viewer_id = getattr(viewer, "id", None) if getattr(viewer, "is_authenticated", False) else None
    if viewer_id is None:
        return False
    return any(row[_AUTHOR_ID] == viewer_id and row[_RISK] == "crisis" and row[_DELETED] is None for row in page.items)


def _work_out(builder: _Builder, answers: Kept) -> list[tuple[str, ...]]:
    """Each post's HTML from its object: kept per viewer (answers) or per view (render), worked out on a miss."""
    render = fragments("_post.html", FRAGMENT_CACHE_SIZE).render
    html = []
    for post in queries.page_posts(builder.thread, builder.ids):
        key = builder.facts_key(post)
        parts = answers.get(key) if key is not None else None
        if parts is None:
            parts = render(builder.view(post))
            if key is not None:
                answers.put(key, parts)
        html.append(parts)
    return html


class _Builder:
    """Everything that is the same for every post on the page, asked once."""

    def __init__(self, viewer: Any, thread: Thread, page: PostPage, ids: list[int]) -> None:
        self.viewer = viewer
        self.thread = thread
        self.ids = ids
        reads = social.page_reads(viewer, thread, page)  # first: it answers hidden_author_ids too
        self.hidden = permissions.hidden_author_ids(viewer)
        self.counts, self.mine, self.bookmarks = reads.reactions, reads.mine, reads.bookmarks
        mine = self.mine
        self.mine_kinds = {pid: tuple(kind for kind in REACTION_KINDS if (pid, kind) in mine) for pid, _ in mine}
        self.watch_level, self.guides = reads.watch_level, reads.guides
        self.sees_screening = permissions.can_see_screening(viewer)
        self.may_reply = permissions.can_reply(viewer, thread)
        self.page = page
        self.back = f"{request.path}?page={page.page}#p"
        self.people: dict[int, Facts] = {}
        self.shared = _interned(self._shared_facts(page))
        self.profile_urls: dict[str, str] = {}

    def thread_view(self, html: list[tuple[str, ...]]) -> ThreadView:
        return ThreadView(html=html, may_reply=self.may_reply, watch_level=self.watch_level, guides=self.guides)

    @cached_property
    def urls(self) -> dict[str, Callable[[int], str]]:
        # Only views worked out afresh need them: a page seen before is all kept answers.
        return {
            "quote": url_by_id("boards.thread", "#reply", thread_id=self.thread.id, page=self.page.pages, quote=ID),
            "edit": url_by_id("boards.edit", post_id=ID),
            "delete": url_by_id("boards.delete", post_id=ID),
            "report": url_by_id("moderation.report", post_id=ID),
            "react": url_by_id("me.react", post_id=ID),
            "bookmark": url_by_id("me.bookmark", post_id=ID),
            "reveal": url_by_id("profiles.reveal", post_id=ID),
        }

    def _shared_facts(self, page: Page) -> tuple[Any, ...]:
        """The inputs every post's view shares: the viewer, their blocks and mutes, the thread, the page."""
        viewer = self.viewer if isinstance(self.viewer, User) else None
        return (
            int(time.time() // 60),
            request.script_root,
            request.path,
            page.page,
            page.pages,
            self.may_reply,
            self._person(viewer),
            frozenset(self.hidden),
            _columns(self.thread, THREAD_FACTS),
        )

    def _person(self, person: User | None) -> Facts | None:
        if person is None:
            return None
        if person.id not in self.people:
            self.people[person.id] = _interned(_person_facts(_columns(person, PAGE_PERSON_COLUMNS)))
        return self.people[person.id]

    def _person_of_row(self, row: Any) -> Facts | None:
        author_id = row[_AUTHOR_ID]
        if author_id is None:
            return None
        if author_id not in self.people:
            self.people[author_id] = _interned(_person_facts(tuple(row[_PERSON_START:])))
        return self.people[author_id]

    def facts_key(self, post: Post) -> tuple[Any, ...] | None:
        """Everything view(post) is worked out from, or None when that includes a query of its own."""
        if self._hides(post.author_id, post.is_anonymous):
            return None  # the reason shown depends on who chose the block or mute: asked every time
        return self._key(post.id, _columns(post, PAGE_POST_COLUMNS), self._person(post.author))

    def row_key(self, row: Any) -> tuple[Any, ...] | None:
        """facts_key of the post a row of queries.thread_page_rows holds: the same key, from the same values."""
        if self._hides(row[_AUTHOR_ID], row[_IS_ANONYMOUS]):
            return None
        return self._key(row[_ID], tuple(row[:_PERSON_START]), self._person_of_row(row))

    def _key(self, pid: int, post: tuple[Any, ...], author: Facts | None) -> tuple[Any, ...]:
        counts = self.counts.get(pid)
        return (
            self.shared,
            post,
            author,
            tuple(sorted(counts.items())) if counts else (),
            self.mine_kinds.get(pid, ()),
            pid in self.bookmarks,
        )

    def view(self, post: Post) -> PostView:
        viewer, pid = self.viewer, post.id
        name = author_name(viewer, post)
        shown = post.deleted_at is None and permissions.can_view_post_body(viewer, post)
        return PostView(
            id=pid,
            visibility=post.visibility,
            body_html=post.body_html,
            content_note=post.content_note,
            created_at=post.created_at,
            edited=post.edited_at is not None,
            deleted=post.deleted_at is not None,
            risk_level=post.risk_level,
            hidden_reason=self._hidden_reason(post),
            name=name,
            anonymous_to_others=post.is_anonymous and name != ANONYMOUS_NAME,
            staff_role=staff_role(post),
            avatar_hue=profiles.avatar_hue(name),
            initials=profiles.initials(name),
            profile_url=self._profile_url(post),
            show_risk=self.sees_screening and post.risk_level != "none",
            show_body=shown,
            quote_url=self._url("quote", pid, shown and self.may_reply),
            edit_url=self._url("edit", pid, shown and permissions.can_edit_post(viewer, post)),
            delete_url=self._url("delete", pid, shown and permissions.can_delete_post(viewer, post)),
            report_url=self._url("report", pid, shown and permissions.can_report_post(viewer, post)),
            react_url=self._url("react", pid, shown and permissions.can_react(viewer, post)),
            reactions=self._reactions(pid),
            bookmark_url=self._url("bookmark", pid, shown and permissions.can_bookmark(viewer, post)),
            bookmarked=pid in self.bookmarks,
            reveal_url=self._url("reveal", pid, shown and permissions.can_reveal_author(viewer, post)),
            back=f"{self.back}{pid}",
        )

    def _hides(self, author_id: int | None, anonymous: bool) -> bool:
        return permissions.hides_writing(author_id, anonymous, self.hidden)

    def _hidden_reason(self, post: Post) -> str | None:
        return hidden_reason(self.viewer, post) if self._hides(post.author_id, post.is_anonymous) else None

    def _profile_url(self, post: Post) -> str | None:
        if post.author is None or not permissions.can_see_author(self.viewer, post):
            return None
        username = post.author.username
        if username not in self.profile_urls:
            self.profile_urls[username] = link("profiles.profile", username=username)
        return self.profile_urls[username]

    def _url(self, name: str, post_id: int, allowed: bool) -> str | None:
        return self.urls[name](post_id) if allowed else None

    def _reactions(self, post_id: int) -> tuple[ReactionView, ...]:
        counts = self.counts.get(post_id, {})
        return tuple(
            ReactionView(kind, REACTION_LABELS[kind], counts.get(kind, 0), (post_id, kind) in self.mine)
            for kind in REACTION_KINDS
        )


class _PersonFacts:
    """A person's page columns with User's own rules for what also depends on the time."""

    is_active = User.is_active
    is_suspended = User.is_suspended
    is_silenced = User.is_silenced

    def __init__(self, columns: tuple[Any, ...]) -> None:
        self.__dict__.update(zip(PAGE_PERSON_COLUMNS, columns, strict=True))


def _person_facts(columns: tuple[Any, ...]) -> tuple[Any, ...]:
    """The facts kept answers depend on about a person: their columns, and whether they are active and
    silenced, which depend on the time as well."""
    person: Any = _PersonFacts(columns)  # Any: User's rules, applied to a stand-in with the same columns
    return (columns, person.is_active, person.is_silenced)


class Facts:
    """Facts that are part of many keys (the viewer's, the thread's, an author's): hashed once, and, being
    _interned, equal to the copy inside a kept key by identity. Compared as plain tuples, they were most of
    the cost of looking up fifty posts' answers (a key's hash and equality walk every value)."""

    __slots__ = ("_hash", "values")

    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values
        self._hash = hash(values)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Facts) and self._hash == other._hash and self.values == other.values)


INTERNED_FACTS_SIZE = 4096


def _interned(values: tuple[Any, ...]) -> Facts:
    """The one Facts object of these values kept in this process, so keys built from it share it."""
    facts = Facts(values)
    interned = kept(_FACTS, INTERNED_FACTS_SIZE)
    found: Facts | None = interned.get(facts)
    if found is None:
        interned.put(facts, facts)
        return facts
    return found


def _columns(row: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of these columns as loaded (the ORM keeps them in the instance's __dict__); when one is not
    loaded (expired after a commit or rollback), reading it loads it."""
    try:
        return _GETTERS[names](row.__dict__)  # type: ignore[no-any-return]
    except KeyError:
        return tuple(getattr(row, name) for name in names)
