"""Profiles: viewing one, editing your own, blocking or muting someone, and a moderator's audited reveal."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from forum import limits, permissions
from forum.forms import TextArea
from forum.services import posting, profiles, social

from .helpers import invalid_input

bp = Blueprint("profiles", __name__)


class ProfileForm(FlaskForm):
    pronouns = StringField("Pronouns (optional)", validators=[Optional(), Length(max=limits.PRONOUNS_MAX)])
    bio = TextArea("A few words about you (optional)", validators=[Optional(), Length(max=limits.BIO_MAX)])


class RevealForm(FlaskForm):
    reason = TextArea("Why do you need to know who wrote this?", validators=[DataRequired(), Length(max=1000)])


@bp.app_template_global()
def avatar_initials(name: str) -> str:
    return profiles.initials(name)


@bp.app_template_global()
def avatar_hue(name: str) -> int:
    return profiles.avatar_hue(name)


@bp.get("/u/<username>")
def profile(username: str) -> ResponseReturnValue:
    person = profiles.get_profile(username)
    return render_template(
        "profiles/profile.html",
        person=person,
        post_count=profiles.public_post_count(person),
        relation=social.relation(current_user, person),
    )


@bp.post("/u/<username>/block")
@login_required
def block(username: str) -> ResponseReturnValue:
    person = profiles.get_profile(username)
    kind = request.form.get("kind") or None
    social.set_block(current_user, person, kind if kind in ("block", "mute") else None)
    messages = {
        "block": f"You blocked {person.username}. Neither of you will see the other's posts or messages.",
        "mute": f"You muted {person.username}. You won't see their posts; they aren't told.",
        None: f"{person.username} is no longer blocked or muted.",
    }
    flash(messages.get(kind, messages[None]), "info")
    return redirect(url_for("profiles.profile", username=person.username))


@bp.route("/me/profile", methods=["GET", "POST"])
@login_required
def edit() -> ResponseReturnValue:
    form = ProfileForm()
    if request.method == "GET":
        form.pronouns.data = current_user.pronouns
        form.bio.data = current_user.bio
    if form.validate_on_submit():
        with invalid_input(form) as caught:
            profiles.update_profile(current_user, bio=form.bio.data, pronouns=form.pronouns.data)
        if caught.error is None:
            flash("Your profile is saved.", "success")
            return redirect(url_for("profiles.profile", username=current_user.username))
    status = 422 if request.method == "POST" else 200
    return render_template("profiles/edit.html", form=form), status


@bp.route("/p/<int:post_id>/reveal", methods=["GET", "POST"])
@login_required
def reveal(post_id: int) -> ResponseReturnValue:
    post = posting.get_post(post_id)
    permissions.ensure_can_reveal_author(current_user, post)
    form = RevealForm()
    author = None
    if form.validate_on_submit():
        with invalid_input(form):
            author = profiles.reveal_author(current_user, post, reason=form.reason.data)
    status = 422 if request.method == "POST" and author is None else 200
    return render_template("profiles/reveal.html", post=post, form=form, author=author), status
