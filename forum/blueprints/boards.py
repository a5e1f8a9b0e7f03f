"""Pages for reading and writing: home, boards, threads, compose, edit."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from forum import permissions, post_views, queries, ratelimits
from forum.blueprints.guides import guide_url, thread_guides
from forum.forms import EditForm, ReplyForm, ThreadForm
from forum.models import Post, Thread
from forum.rendering import quote_markdown
from forum.services import posting
from forum.support import own_words
from forum.templating import (
    ID,
    fragment_template,
    fragments,
    kept,
    link,
    post_url,
    public_author_name,
    render_slotted,
    url_by_id,
)

from .helpers import fresh_idempotency_key, invalid_input, remember_support, take_support

bp = Blueprint("boards", __name__)


def _page_arg() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("home.html", boards=queries.boards(), latest=queries.latest_threads(current_user))


@bp.get("/b/<slug>")
def board(slug: str) -> ResponseReturnValue:
    board = queries.board_by_slug(slug)
    per_page = current_app.config["THREADS_PER_PAGE"]
    page = queries.board_listing(current_user, board, _page_arg(), per_page)
    return render_template("board.html", board=board, page=page, rows=_thread_rows(page.items))


class ThreadRow(NamedTuple):
    """All a board page shows of a thread, and so the key its row's HTML is kept under. Nothing in it
    depends on who is looking: the query already left out what this viewer may not see."""

    url: str
    title: str
    pinned: bool
    locked: bool
    post_count: int
    last_activity_at: datetime
    guides: tuple[tuple[str, str], ...]  # (url, title) of the guides suggested for it


ROW_CACHE_SIZE = 1024
_REPLY_FORMS = "hearth.reply_forms"


def _thread_rows(threads: list[Any]) -> Markup:
    """The board page's rows (queries.board_listing), each rendered once per distinct ThreadRow."""
    render = fragments("_thread_row.html", ROW_CACHE_SIZE).render
    url = url_by_id("boards.thread", thread_id=ID)
    guides = _row_guides(threads)
    rows = [
        "".join(
            render(ThreadRow(url(t.id), t.title, t.pinned, t.locked, t.post_count, t.last_activity_at, guides[t.id]))
        )
        for t in threads
    ]
    return Markup("".join(rows))  # noqa: S704  (rows an autoescaped template rendered)


def _row_guides(threads: list[Any]) -> dict[int, tuple[tuple[str, str], ...]]:
    """thread id -> (url, title) of the guides suggested for it."""
    suggested = thread_guides(threads)
    urls = {slug: guide_url(slug) for slug in {g.slug for guides in suggested.values() for g in guides}}
    return {t.id: tuple((urls[g.slug], g.title) for g in suggested.get(t.id, ())) for t in threads}


@bp.route("/b/<slug>/new", methods=["GET", "POST"])
@login_required
@ratelimits.limited("thread", words=("title", "body"))
def new_thread(slug: str) -> ResponseReturnValue:
    board = posting.get_board(slug)
    permissions.ensure_can_create_thread(current_user, board)
    form = ThreadForm()
    if form.validate_on_submit():
        with invalid_input(form) as caught:
            outcome = posting.create_thread(
                current_user,
                board,
                title=form.title.data,
                body=form.body.data,
                content_note=form.content_note.data,
                anonymous=bool(form.anonymous.data),
                idempotency_key=form.idempotency_key.data,
            )
        if caught.error is None:
            remember_support(outcome.screen)
            return redirect(url_for("boards.thread", thread_id=outcome.thread.id))
    if not form.idempotency_key.data:
        form.idempotency_key.data = fresh_idempotency_key()
    status = 422 if request.method == "POST" else 200
    return render_template("compose.html", board=board, form=form), status


@bp.get("/t/<int:thread_id>")
def thread(thread_id: int) -> ResponseReturnValue:
    thread = permissions.ensure_can_view_thread(current_user, queries.thread_with_board(thread_id))
    page = queries.thread_page_rows(thread, _page_arg(), current_app.config["POSTS_PER_PAGE"])
    return _thread_page(thread, page, None, support=take_support() or _standing_support(page))


def _standing_support(page: queries.PostPage) -> dict[str, object] | None:
    """The support panel for the author of a crisis post on this page, each time they look at it, not only
    right after posting: someone who comes back to their thread in the night needs the lines as much."""
    if post_views.wrote_crisis_here(current_user, page):
        return {"level": "crisis", "guides": []}
    return None


def _thread_page(thread: Thread, page: queries.PostPage, form: ReplyForm | None, *, support: object) -> str:
    """`form` is a submitted reply to show again; None shows a fresh one, only to someone who may reply
    (a form carries a CSRF token, which would write a session cookie for every guest)."""
    # The real user, not the proxy: the view asks a dozen questions about them per post.
    view = post_views.thread_view(current_user._get_current_object(), thread, page)
    reply_form = _reply_form(thread, form) if view.may_reply else None
    watch = _watch_forms(thread, view.watch_level)
    return render_template(
        "thread.html", thread=thread, page=page, view=view, reply_form=reply_form, watch=watch, support=support
    )


class WatchView(NamedTuple):
    """The follow and mute buttons of a thread as one person sees them, and the key their HTML is kept under."""

    action: str
    level: str | None  # "follow", "mute" or neither
    back: str  # where the buttons return to


WATCH_CACHE_SIZE = 256


def _watch_forms(thread: Thread, level: str | None) -> Markup | None:
    """`level`: social.thread_watch_level, read with the rest of the page."""
    if not permissions.can_follow(current_user, thread):
        return None
    back = request.full_path if request.query_string else request.path
    view = WatchView(link("me.watch_thread", thread_id=thread.id), level, back)
    parts = fragments("community/_thread_watch.html", WATCH_CACHE_SIZE).render(view)
    return Markup(str(escape(generate_csrf())).join(parts))  # noqa: S704  (autoescaped output, escaped token)


class ReplyStart(NamedTuple):
    """What a fresh reply form shows before anyone types in it, and so the key its HTML is kept under."""

    action: str
    anonymity: bool  # may reply as "a member" on this board
    csrf: bool  # whether forms carry a CSRF token (a setting)
    body: str  # the quote a Quote link starts the reply with
    reply_to: str
    content_note: str  # the quoted post's note, kept over its words


REPLY_FORM_CACHE_SIZE = 256


def _reply_form(thread: Thread, submitted: ReplyForm | None) -> Markup:
    """The reply form: a submitted one as it is (with its errors); a fresh one from the kept HTML of a fresh
    form that starts the same, with this request's CSRF token and a new idempotency key."""
    action = link("boards.reply", thread_id=thread.id)
    anonymity = permissions.can_use_anonymity(current_user, thread.board)
    if submitted is not None:
        template = fragment_template("_reply_form.html")
        return Markup(template.render(form=submitted, action=action, anonymity=anonymity))  # noqa: S704  (an autoescaped template's output)
    csrf = bool(current_app.config.get("WTF_CSRF_ENABLED", True))
    start = ReplyStart(action, anonymity, csrf, *_quote(thread.id))
    forms = kept(_REPLY_FORMS, REPLY_FORM_CACHE_SIZE)
    html = forms.get(start)
    if html is None:
        template = fragment_template("_reply_form.html")  # only now: looking it up costs a lock and a cache key
        html = render_slotted(
            lambda csrf, key: template.render(form=_fresh_form(start, csrf, key), action=action, anonymity=anonymity),
            "csrf",
            "key",
        )
        forms.put(start, html)
    return html.fill(csrf=generate_csrf() if csrf else "", key=fresh_idempotency_key())


def _fresh_form(start: ReplyStart, csrf: str, key: str) -> ReplyForm:
    form = ReplyForm()
    form.body.data, form.reply_to.data, form.idempotency_key.data = start.body, start.reply_to, key
    form.content_note.data = start.content_note
    if start.csrf:
        form.csrf_token.current_token = csrf
    return form


def _quote(thread_id: int) -> tuple[str, str, str]:
    """The Markdown, post id and content note a reply starts from when it was opened with ?quote=<post id>.
    The quoted post's content note comes with its words: quoted, they must stay folded for readers too."""
    post_id = request.args.get("quote", type=int)
    if not post_id:
        return "", "", ""
    post = posting.get_post(post_id)
    hidden = permissions.hides_writing(post.author_id, post.is_anonymous, permissions.hidden_author_ids(current_user))
    if post.thread_id != thread_id or hidden or not permissions.can_view_post_body(current_user, post):
        return "", "", ""
    # The name anyone may see: a quote is public, even when its writer quotes their own anonymous post.
    return quote_markdown(public_author_name(post), post.body_md), str(post.id), post.content_note or ""


@bp.post("/t/<int:thread_id>/reply")
@login_required
@ratelimits.limited("post", words=("body",))
def reply(thread_id: int) -> ResponseReturnValue:
    thread = posting.get_thread(thread_id)
    form = ReplyForm()
    if form.validate_on_submit():
        with invalid_input(form) as caught:
            outcome = posting.create_reply(
                current_user,
                thread,
                body=form.body.data,
                content_note=form.content_note.data,
                anonymous=bool(form.anonymous.data),
                idempotency_key=form.idempotency_key.data,
                reply_to_id=_int_or_none(form.reply_to.data),
            )
        if caught.error is None:
            return redirect(_after_writing(outcome.post, remember_support(outcome.screen)))
    permissions.ensure_can_view_thread(current_user, thread)
    last_page = queries.thread_page_rows(thread, 10**6, current_app.config["POSTS_PER_PAGE"])
    return _thread_page(thread, last_page, form, support=None), 422


@bp.get("/t/<int:thread_id>/reply")
def reply_box(thread_id: int) -> ResponseReturnValue:
    """The reply box's own address, asked for with GET: signing in again after a session ended mid-reply comes
    back here (the sign-in page's `next` is where the reply was sent), and finds the box on the thread's last
    page, where the reply will appear, with the words kept in the tab (static/js/drafts.js)."""
    thread = permissions.ensure_can_view_thread(current_user, posting.get_thread(thread_id))
    per_page = current_app.config["POSTS_PER_PAGE"]
    last = max(1, -(-thread.post_count // per_page))
    return redirect(url_for("boards.thread", thread_id=thread.id, page=last if last > 1 else None, _anchor="reply"))


def _after_writing(post: Post, support: bool) -> str:
    """The post on its page, or, when the support panel comes with it, the panel at the top of that page:
    landing on the post would leave the crisis lines thousands of pixels above, out of sight and focus."""
    return post_url(post, anchor="support" if support else None)


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
@own_words("body")
def edit(post_id: int) -> ResponseReturnValue:
    post = posting.get_post(post_id)
    permissions.ensure_can_edit_post(current_user, post)
    form = EditForm(obj=None if request.method == "POST" else post)
    if request.method == "GET":
        form.body.data = post.body_md
        form.content_note.data = post.content_note or ""
    if form.validate_on_submit():
        with invalid_input(form) as caught:
            outcome = posting.edit_post(current_user, post, body=form.body.data, content_note=form.content_note.data)
        if caught.error is None:
            flash("Your post was updated.", "success")
            return redirect(_after_writing(post, remember_support(outcome.screen)))
    status = 422 if request.method == "POST" else 200
    return render_template("edit.html", post=post, form=form), status


@bp.post("/p/<int:post_id>/delete")
@login_required
def delete(post_id: int) -> ResponseReturnValue:
    post = posting.delete_post(current_user, posting.get_post(post_id))
    flash("The post was deleted.", "info")
    if post.number == 1:
        return redirect(url_for("boards.board", slug=post.thread.board.slug))
    return redirect(post_url(post))


@bp.post("/t/<int:thread_id>/pin")
@login_required
def pin(thread_id: int) -> ResponseReturnValue:
    thread = posting.set_pinned(current_user, posting.get_thread(thread_id), request.form.get("pinned") == "1")
    return redirect(url_for("boards.thread", thread_id=thread.id))


@bp.post("/t/<int:thread_id>/lock")
@login_required
def lock(thread_id: int) -> ResponseReturnValue:
    thread = posting.set_locked(current_user, posting.get_thread(thread_id), request.form.get("locked") == "1")
    return redirect(url_for("boards.thread", thread_id=thread.id))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return {"ok": True}


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Clients that ask for the icon by its old name, ignoring the page's <link rel="icon">."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
