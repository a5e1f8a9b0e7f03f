"""Notification pages: the list, opening one, marking them read, and choosing which kinds to get."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from forum import permissions
from forum.extensions import db
from forum.models import Notification
from forum.models.notifications import KIND_LABELS, NOTIFICATION_KINDS
from forum.security import local_path
from forum.services import notifications
from forum.services.errors import NotFound
from forum.templating import post_url

bp = Blueprint("notifications", __name__)


@bp.app_template_global()
def unread_notifications() -> int:
    return notifications.unread_count(current_user)


@bp.app_template_global()
def notification_actor(notification: Notification) -> str:
    return notifications.actor_name(notification)


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    before = request.args.get("before", type=int)
    items = notifications.recent(current_user, before_id=before)
    return render_template("notifications/index.html", items=items, labels=KIND_LABELS)


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_one(notification_id: int) -> ResponseReturnValue:
    item = db.session.get(Notification, notification_id)
    member = permissions.ensure_signed_in(current_user)
    if item is None or item.user_id != member.id:
        raise NotFound("That notification doesn't exist.")
    notifications.mark_read(member, [item.id])
    return redirect(destination(item))


def destination(item: Notification) -> str:
    """Where a notification opens: the post on its page of the thread, the thread, or its own link."""
    if item.post is not None:
        return post_url(item.post)
    if item.thread_id is not None:
        return url_for("boards.thread", thread_id=item.thread_id)
    return local_path(item.url) or url_for("notifications.index")


@bp.post("/notifications/read")
@login_required
def mark_all_read() -> ResponseReturnValue:
    notifications.mark_read(current_user)
    flash("All notifications are marked as read.", "info")
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    if request.method == "POST":
        chosen = {kind: request.form.get(kind) == "on" for kind in NOTIFICATION_KINDS}
        notifications.update_settings(current_user, chosen)
        flash("Your notification settings are saved.", "success")
        return redirect(url_for("notifications.settings"))
    current = notifications.settings_for(current_user)
    return render_template("notifications/settings.html", current=current, labels=KIND_LABELS, kinds=NOTIFICATION_KINDS)


# The notification service subscribes to forum events when imported; the app imports this module at start.
__all__ = ["bp", "notifications"]
