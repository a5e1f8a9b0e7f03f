"""Pages for reading and writing: home, boards, threads, compose, edit."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from forum import permissions, post_views, queries, ratelimits
from forum.forms import EditForm, ReplyForm, ThreadForm
from forum.models import Thread
from forum.rendering import quote_markdown
from forum.services import posting
from forum.templating import author_name

from .helpers import fresh_idempotency_key, invalid_input, remember_support, take_support

bp = Blueprint("boards", __name__)


def _page_arg() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.get("/")
def home() -> object:
    return render_template("home.html", boards=queries.boards(), latest=queries.latest_threads(current_user))


@bp.get("/b/<slug>")
def board(slug: str) -> object:
    board = posting.get_board(slug)
    page = queries.board_threads(current_user, board, _page_arg(), current_app.config["THREADS_PER_PAGE"])
    return render_template("board.html", board=board, page=page)


@bp.route("/b/<slug>/new", methods=["GET", "POST"])
@login_required
@ratelimits.limited("thread")
def new_thread(slug: str) -> object:
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
def thread(thread_id: int) -> object:
    thread = permissions.ensure_can_view_thread(current_user, posting.get_thread(thread_id))
    per_page = current_app.config["POSTS_PER_PAGE"]
    page = queries.thread_posts(thread, _page_arg(), per_page)
    form = ReplyForm()
    form.idempotency_key.data = fresh_idempotency_key()
    quote_id = request.args.get("quote", type=int)
    if quote_id:
        _prefill_quote(form, quote_id, thread.id)
    return _thread_page(thread, page, form, support=take_support())


def _thread_page(thread: Thread, page: queries.Page, form: ReplyForm, *, support: object) -> str:
    # The real user, not the proxy: the view asks a dozen questions about them per post.
    view = post_views.thread_view(current_user._get_current_object(), thread, page)
    return render_template("thread.html", thread=thread, page=page, view=view, form=form, support=support)


def _prefill_quote(form: ReplyForm, post_id: int, thread_id: int) -> None:
    post = posting.get_post(post_id)
    if post.thread_id == thread_id and permissions.can_view_post_body(current_user, post):
        form.body.data = quote_markdown(author_name(current_user, post), post.body_md)
        form.reply_to.data = str(post.id)


@bp.post("/t/<int:thread_id>/reply")
@login_required
@ratelimits.limited("post")
def reply(thread_id: int) -> object:
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
            remember_support(outcome.screen)
            page = queries.page_of_post(outcome.post, current_app.config["POSTS_PER_PAGE"])
            return redirect(url_for("boards.thread", thread_id=thread.id, page=page, _anchor=f"p{outcome.post.id}"))
    permissions.ensure_can_view_thread(current_user, thread)
    last_page = queries.thread_posts(thread, 10**6, current_app.config["POSTS_PER_PAGE"])
    return _thread_page(thread, last_page, form, support=None), 422


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int) -> object:
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
            remember_support(outcome.screen)
            flash("Your post was updated.", "success")
            return redirect(_post_url(post))
    status = 422 if request.method == "POST" else 200
    return render_template("edit.html", post=post, form=form), status


@bp.post("/p/<int:post_id>/delete")
@login_required
def delete(post_id: int) -> object:
    post = posting.delete_post(current_user, posting.get_post(post_id))
    flash("The post was deleted.", "info")
    if post.number == 1:
        return redirect(url_for("boards.board", slug=post.thread.board.slug))
    return redirect(_post_url(post))


@bp.post("/t/<int:thread_id>/pin")
@login_required
def pin(thread_id: int) -> object:
    thread = posting.set_pinned(current_user, posting.get_thread(thread_id), request.form.get("pinned") == "1")
    return redirect(url_for("boards.thread", thread_id=thread.id))


@bp.post("/t/<int:thread_id>/lock")
@login_required
def lock(thread_id: int) -> object:
    thread = posting.set_locked(current_user, posting.get_thread(thread_id), request.form.get("locked") == "1")
    return redirect(url_for("boards.thread", thread_id=thread.id))


def _post_url(post: object) -> str:
    number = getattr(post, "number", 1)
    per_page = current_app.config["POSTS_PER_PAGE"]
    thread_id = post.thread_id
    return url_for("boards.thread", thread_id=thread_id, page=(number - 1) // per_page + 1, _anchor=f"p{post.id}")  # type: ignore[attr-defined]


@bp.get("/healthz")
def healthz() -> object:
    return {"ok": True}
