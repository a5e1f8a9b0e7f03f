"""Your own corner: privacy page, export and deletion, bookmarks and follows, and the buttons on posts
(react, bookmark, follow, mute) that change only your own relation to the forum."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, RadioField, SelectChoice
from wtforms.validators import DataRequired

from forum import ratelimits
from forum.logs import security_event
from forum.rendering import render_markdown
from forum.security import local_path
from forum.services import notifications as _notifications  # noqa: F401  (subscribes to post events)
from forum.services import posting, privacy, social
from forum.templating import post_url

from .helpers import invalid_input

bp = Blueprint("me", __name__)
PRIVACY_FILE = Path(__file__).resolve().parent.parent / "content" / "privacy.md"


class DeleteAccountForm(FlaskForm):
    posts = RadioField(
        "What should happen to your posts?",
        choices=[
            SelectChoice("keep", "Keep them, shown as written by \u201ca former member\u201d"),
            SelectChoice("delete", "Delete them"),
        ],
        validators=[DataRequired()],
    )
    password = PasswordField("Your password, to confirm", validators=[DataRequired()])


# --- template helpers for thread pages ---------------------------------------------------------------


@bp.app_template_global()
def thread_watch_level(thread: Any) -> str | None:
    return social.thread_watch_level(current_user, thread)


@bp.app_template_global()
def follows_board(board: Any) -> bool:
    return social.follows_board(current_user, board)


def _back(default: str) -> Any:
    return redirect(local_path(request.form.get("next")) or default)


# --- privacy page, export, deletion -----------------------------------------------------------------


@lru_cache(maxsize=1)
def _privacy_page() -> tuple[str, str]:
    """(title, sanitised HTML), rendered once per process: the first "# " line is the page's h1."""
    title, _, rest = PRIVACY_FILE.read_text(encoding="utf-8").partition("\n")
    html = render_markdown(rest)
    # render_markdown shifts headings down for posts (## -> h4); on this page the sections are h2.
    return title.lstrip("# ").strip(), html.replace("<h4>", "<h2>").replace("</h4>", "</h2>")


@bp.get("/privacy")
def privacy_page() -> ResponseReturnValue:
    title, html = _privacy_page()
    return render_template("me/privacy.html", title=title, body=Markup(html))  # noqa: S704  (sanitised)


@bp.get("/me/data")
@login_required
def data() -> ResponseReturnValue:
    return render_template("me/data.html", form=DeleteAccountForm())


@bp.post("/me/training-consent")
@login_required
def training_consent() -> ResponseReturnValue:
    member = privacy.set_training_opt_in(current_user, request.form.get("allowed") == "1")
    flash(
        "Thank you: reviewed posts of yours may help the safety check learn."
        if member.training_opt_in
        else "Your posts will not be used to train the safety check.",
        "success",
    )
    return redirect(url_for("me.data"))


@bp.post("/me/export")
@login_required
@ratelimits.limited("export")
def export() -> ResponseReturnValue:
    filename, payload = privacy.export_zip(current_user)
    security_event("data_exported", user_id=current_user.id)
    return Response(
        payload,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/me/delete")
@login_required
@ratelimits.limited("delete_account")
def delete_account() -> ResponseReturnValue:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user_id = current_user.id
        with invalid_input(form) as caught:
            privacy.delete_account(current_user, password=form.password.data, posts=form.posts.data)
        if caught.error is None:
            logout_user()
            from flask import session

            session.clear()
            security_event("account_deleted", user_id=user_id)
            flash("Your account is deleted. Thank you for being part of Hearth. Take good care of yourself.", "info")
            return redirect(url_for("boards.home"))
    return render_template("me/data.html", form=form), 422


# --- lists --------------------------------------------------------------------------------------------


@bp.get("/me/bookmarks")
@login_required
def bookmarks() -> ResponseReturnValue:
    return render_template("me/bookmarks.html", posts=social.bookmarks(current_user))


@bp.get("/me/following")
@login_required
def following() -> ResponseReturnValue:
    return render_template(
        "me/following.html", followed=social.followed(current_user), blocked=social.blocked_people(current_user)
    )


# --- buttons on threads, boards and posts -----------------------------------------------------------


@bp.post("/t/<int:thread_id>/watch")
@login_required
def watch_thread(thread_id: int) -> ResponseReturnValue:
    thread = posting.get_thread(thread_id)
    level = request.form.get("level") or None
    social.set_thread_watch(current_user, thread, level)
    return _back(url_for("boards.thread", thread_id=thread.id))


@bp.post("/b/<slug>/follow")
@login_required
def follow_board(slug: str) -> ResponseReturnValue:
    board = posting.get_board(slug)
    social.set_board_follow(current_user, board, request.form.get("follow") == "1")
    return _back(url_for("boards.board", slug=board.slug))


@bp.post("/p/<int:post_id>/bookmark")
@login_required
def bookmark(post_id: int) -> ResponseReturnValue:
    post = posting.get_post(post_id)
    social.set_bookmark(current_user, post, request.form.get("on") == "1")
    return _back(post_url(post))


@bp.post("/p/<int:post_id>/react")
@login_required
@ratelimits.limited("react")
def react(post_id: int) -> ResponseReturnValue:
    post = posting.get_post(post_id)
    kind, on = _reaction_choice()
    social.set_reaction(current_user, post, kind, on)
    return _back(post_url(post))


def _reaction_choice() -> tuple[str, bool]:
    """(kind, on). The thread page's one form per post sends the pressed button as `reaction=kind:1|0`;
    a form with a single kind sends `kind` and `on`."""
    pressed = request.form.get("reaction")
    if pressed is not None:
        kind, _, on = pressed.partition(":")
        return kind, on == "1"
    return request.form.get("kind", ""), request.form.get("on") == "1"
