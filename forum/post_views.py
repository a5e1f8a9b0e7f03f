"""What a thread page shows of each post to one viewer, worked out once per request.

The rules stay in permissions.py. This module asks them once per post in Python (not a dozen times per
post from Jinja), fetches reactions and bookmarks for the whole page in a few queries, and builds the
per-post links from one url_for per endpoint (url_by_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for

from forum import permissions
from forum.models import Post, Thread
from forum.models.community import REACTION_KINDS, REACTION_LABELS
from forum.queries import Page
from forum.services import profiles, social
from forum.templating import ID, author_name, url_by_id


@dataclass(frozen=True)
class ReactionView:
    kind: str
    label: str
    count: int
    mine: bool


@dataclass(frozen=True)
class PostView:
    post: Post
    hidden_reason: str | None  # set when the viewer blocked, muted or was blocked by the author
    name: str
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
    posts: list[PostView]
    may_reply: bool  # asked once: it costs a query (blocks) per ask


def thread_view(viewer: Any, thread: Thread, page: Page) -> ThreadView:
    posts: list[Post] = page.items
    builder = _Builder(viewer, thread, page, [post.id for post in posts])
    return ThreadView(posts=[builder.view(post) for post in posts], may_reply=builder.may_reply)


class _Builder:
    """Everything that is the same for every post on the page, asked once."""

    def __init__(self, viewer: Any, thread: Thread, page: Page, ids: list[int]) -> None:
        self.viewer = viewer
        self.thread = thread
        self.hidden = permissions.hidden_author_ids(viewer)
        self.counts, self.mine = social.reactions_on(viewer, ids)
        self.bookmarks = social.bookmarked_ids(viewer, ids)
        self.sees_screening = permissions.can_see_screening(viewer)
        self.may_reply = permissions.can_reply(viewer, thread)
        self.back = f"{request.path}?page={page.page}#p"
        self.profile_urls: dict[str, str] = {}
        self.urls = {
            "quote": url_by_id("boards.thread", "#reply", thread_id=thread.id, page=page.pages, quote=ID),
            "edit": url_by_id("boards.edit", post_id=ID),
            "delete": url_by_id("boards.delete", post_id=ID),
            "report": url_by_id("moderation.report", post_id=ID),
            "react": url_by_id("me.react", post_id=ID),
            "bookmark": url_by_id("me.bookmark", post_id=ID),
            "reveal": url_by_id("profiles.reveal", post_id=ID),
        }

    def view(self, post: Post) -> PostView:
        viewer, pid = self.viewer, post.id
        name = author_name(viewer, post)
        shown = post.deleted_at is None and permissions.can_view_post_body(viewer, post)
        return PostView(
            post=post,
            hidden_reason=self._hidden_reason(post),
            name=name,
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

    def _hidden_reason(self, post: Post) -> str | None:
        # Anonymous posts stay: hiding them would tell the viewer who wrote them.
        if post.author_id in self.hidden and not post.is_anonymous:
            return hidden_reason(self.viewer, post)
        return None

    def _profile_url(self, post: Post) -> str | None:
        if post.author is None or not permissions.can_see_author(self.viewer, post):
            return None
        username = post.author.username
        if username not in self.profile_urls:
            self.profile_urls[username] = url_for("profiles.profile", username=username)
        return self.profile_urls[username]

    def _url(self, name: str, post_id: int, allowed: bool) -> str | None:
        return self.urls[name](post_id) if allowed else None

    def _reactions(self, post_id: int) -> tuple[ReactionView, ...]:
        counts = self.counts.get(post_id, {})
        return tuple(
            ReactionView(kind, REACTION_LABELS[kind], counts.get(kind, 0), (post_id, kind) in self.mine)
            for kind in REACTION_KINDS
        )
