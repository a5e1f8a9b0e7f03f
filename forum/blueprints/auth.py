"""Register, sign in, sign out."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from forum import auth, ratelimits
from forum.forms import LoginForm, RegisterForm
from forum.logs import security_event
from forum.security import local_path
from forum.services import accounts, privacy
from forum.services.errors import NotAuthenticated, ServiceError, Suspended

from .helpers import show_field_errors

bp = Blueprint("auth", __name__)


@bp.route("/register", methods=["GET", "POST"])
@ratelimits.limited("register")
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register(form.username.data, form.password.data, email=form.email.data)
        except ServiceError as error:
            show_field_errors(form, error)
        else:
            security_event("register", user_id=user.id)
            auth.start_session(user, remember=False)
            flash(f"Welcome, {user.username}. You're among friends here.", "success")
            return redirect(url_for("boards.home"))
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        ratelimits.enforce_login_attempt(form.username.data)
        try:
            user = accounts.authenticate(form.username.data, form.password.data)
        except Suspended as error:
            security_event("login_failed", outcome=error.code)
            return _suspended_page(error)
        except NotAuthenticated as error:
            ratelimits.record_failed_login(form.username.data)
            security_event("login_failed", outcome=error.code)
            form.form_errors.append(error.message)
        else:
            auth.start_session(user, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
    status = 200 if request.method == "GET" else 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    auth.end_session(current_user._get_current_object())
    flash("You're signed out. Take care.", "info")
    return redirect(url_for("boards.home"))


def _safe_next(target: str | None) -> str:
    return local_path(target) or url_for("boards.home")


def _suspended_page(error: Suspended) -> tuple[str, int]:
    """Why and until when, with the people to reach meanwhile: a suspension must not cut anyone off from help,
    nor from their own writing (a pass to download their data, accounts.data_pass)."""
    notice = accounts.suspension_notice(error)
    return render_template(
        "auth/suspended.html",
        message=error.message,
        notice=notice,
        suspension_page=True,
        data_pass=accounts.data_pass(error.user_id),
        pass_minutes=accounts.DATA_PASS_MINUTES,
    ), 403


@bp.post("/login/suspended/export")
@ratelimits.limited("export")
def suspended_export() -> ResponseReturnValue:
    """A suspended person's data export, with the pass their suspension page gave them."""
    try:
        filename, payload = privacy.export_zip_with_pass(request.form.get("pass"))
    except NotAuthenticated as error:  # to sign-in, not back here: this address takes only a form post
        flash(error.message, "info")
        return redirect(url_for("auth.login"))
    security_event("data_exported", outcome="suspended")
    return Response(
        payload, mimetype="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
