"""Moderation pages: the review queue, an item, the dashboard, "needs a reply", the audit log.

Also the member-facing pieces of triage: the moderators' messages inbox, "ask a moderator to check in
with me", and reporting a post. Every write goes through a service; these views only translate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum import permissions, ratelimits
from forum.extensions import db
from forum.forms import ReportForm
from forum.highlighting import highlight
from forum.models import ChatMessage, ModeratorMessage, Post, ReviewItem
from forum.security import local_path
from forum.services import chat, dashboard, moderation_actions, moderator_messages, posting, reports, review
from forum.services.errors import Conflict, RateLimited
from forum.templating import post_url

from .helpers import invalid_input

bp = Blueprint("moderation", __name__)

ACTION_LABELS = {
    "mark_safe": "Mark safe",
    "reach_out": "Reach out privately",
    "hide": "Hide post",
    "lock_thread": "Lock thread",
    "silence": "Silence",
    "suspend": "Suspend",
    "lift": "Lift silence or suspension",
    "escalate": "Escalate to an admin",
    "note": "Add a note",
    "resolve": "Resolve",
}


@bp.app_template_global()
def risk_words(item: ReviewItem) -> str:
    """An item's risk as the queue says it. "unknown" means the screen failed on writing, but an item about
    a person who asked for a check-in has no screening to fail: it is a request for help."""
    if item.level != "unknown":
        return item.level
    return "asked for help" if item.target_type == "user" else "risk unknown"


bp.add_app_template_global(review.subject_name, "subject_name")
bp.add_app_template_global(review.subject_is_anonymous, "subject_is_anonymous")


@bp.app_template_global()
def unread_moderator_messages() -> int:
    return moderator_messages.unread_count(current_user)


@bp.app_template_global()
def viewer_is_signed_in() -> bool:
    """For macros imported without context (the support panel), which cannot see `me`."""
    return bool(getattr(current_user, "is_authenticated", False))


# --- the queue ----------------------------------------------------------------------------------


@bp.get("/moderation/")
@login_required
def queue() -> ResponseReturnValue:
    page = review.queue(current_user, page=_page_number())
    return render_template("moderation/queue.html", page=page, rows=_rows(page.items))


@bp.get("/moderation/queue/list")
@login_required
def queue_list() -> ResponseReturnValue:
    """The queue's list alone, fetched by moderation.js when the socket says something changed."""
    page = review.queue(current_user, page=_page_number())
    return render_template("moderation/_queue_list.html", page=page, rows=_rows(page.items))


@bp.get("/moderation/resolved")
@login_required
def resolved() -> ResponseReturnValue:
    page = review.queue(current_user, status="resolved", page=_page_number())
    return render_template("moderation/resolved.html", page=page, rows=_rows(page.items))


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _rows(items: list[ReviewItem]) -> list[dict[str, Any]]:
    _load_target_posts(items)
    return [{"item": item, "target": describe_target(item), "holder": review.claimed_by(item)} for item in items]


def _load_target_posts(items: list[ReviewItem]) -> None:
    """One query for every post, and one for every chat message, the list points at; describe_target then
    finds them in the session."""
    ids = [item.target_id for item in items if item.target_type == "post"]
    if ids:
        db.session.scalars(select(Post).where(Post.id.in_(ids)).options(joinedload(Post.thread))).all()
    ids = [item.target_id for item in items if item.target_type == "chat_message"]
    if ids:
        statement = select(ChatMessage).where(ChatMessage.id.in_(ids)).options(joinedload(ChatMessage.room))
        db.session.scalars(statement).all()


# --- one item -----------------------------------------------------------------------------------


@bp.get("/moderation/items/<int:item_id>")
@login_required
def item(item_id: int) -> ResponseReturnValue:
    return _item_page(review.get_item(current_user, item_id))


def _item_page(item: ReviewItem, *, conflict: str | None = None, error: str | None = None, status: int = 200) -> Any:
    """The item as it is now. After a refused action (a conflict, bad input) the note the moderator typed
    comes back in its box: they may have written a careful message to someone in crisis."""
    target = describe_target(item)
    text = target.get("screened_text", "")
    message = target.get("message")
    conversation = chat.context_before(message) if message is not None else []
    signals = item.screening.signals if item.screening else []
    return (
        render_template(
            "moderation/item.html",
            item=item,
            target=target,
            highlighted=highlight(text, signals) if text else Markup(""),
            signals=signals,
            conversation=conversation,
            holder=review.claimed_by(item),
            actions=ACTION_LABELS,
            audit=dashboard.audit_entries(current_user, item_id=item.id),
            conflict=conflict,
            error=error,
            default_reach_out=moderation_actions.DEFAULT_REACH_OUT,
            typed={"action": request.form.get("action", ""), "note": request.form.get("note", "")},
        ),
        status,
    )


@bp.post("/moderation/items/<int:item_id>/claim")
@login_required
def claim(item_id: int) -> ResponseReturnValue:
    try:
        review.claim(current_user, item_id, version=_form_version())
    except Conflict as error:
        return _after_conflict(item_id, error)
    flash(f"You have this item for {review.claim_minutes()} minutes.", "success")
    return redirect(url_for("moderation.item", item_id=item_id))


@bp.post("/moderation/items/<int:item_id>/act")
@login_required
def act(item_id: int) -> ResponseReturnValue:
    action = request.form.get("action", "")
    try:
        with invalid_input() as caught:
            moderation_actions.act(
                current_user,
                item_id,
                action=action,
                note=request.form.get("note", ""),
                version=_form_version(),
                hours=request.form.get("hours") or None,
            )
    except Conflict as error:
        return _after_conflict(item_id, error)
    if caught.error is not None:
        db.session.rollback()
        return _item_page(review.get_item(current_user, item_id), error=caught.error.message, status=422)
    flash(f"Done: {ACTION_LABELS.get(action, action)}.", "success")
    return redirect(url_for("moderation.item", item_id=item_id))


def _form_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _after_conflict(item_id: int, error: Conflict) -> Any:
    db.session.rollback()  # show the item as it is now, not as this request first read it
    return _item_page(review.get_item(current_user, item_id), conflict=error.message, status=409)


def _latest_words(item: ReviewItem) -> str:
    """What the person last wrote to the moderators on an item about them (a note, refused words)."""
    return next((str(reason["detail"]) for reason in reversed(item.reasons) if reason.get("detail")), "")


def describe_target(item: ReviewItem) -> dict[str, Any]:
    """What the item points at, for the moderator's eyes: a link, the author and the screened words."""
    if item.target_type == "post":
        post = db.session.get(Post, item.target_id)
        if post is None:
            return {"kind": "post", "label": "A post that no longer exists"}
        thread = post.thread
        body = post.body_md
        return {
            "kind": "post",
            "post": post,
            "label": f"Post #{post.number} in “{thread.title}”",
            "url": post_url(post),
            "screened_text": _screened_text(thread.title, body, post.number, item),
            "excerpt": body[:200],
            "gone": _post_gone(post),
        }
    if item.target_type == "chat_message":
        return _describe_chat_message(item.target_id)
    if item.target_type == "user":
        # Its subject, not a lookup by target_id: SQLite gives a deleted account's id to the next one made.
        user = item.subject_user
        name = user.username if user else "a former member"
        return {"kind": "user", "label": f"The person: {name}", "excerpt": _latest_words(item)}
    return {"kind": item.target_type, "label": f"{item.target_type.replace('_', ' ')} #{item.target_id}", "excerpt": ""}


def _post_gone(post: Post) -> str | None:
    """Why a post is no longer public, said on its item so nobody acts on it as if it were."""
    if post.deleted_at is not None:
        return "Its author deleted it: nobody else sees it now. Its words are kept here for this review."
    if post.visibility == "hidden":
        return "A moderator hid it: only moderators see it now."
    return None


def _describe_chat_message(message_id: int) -> dict[str, Any]:
    """A flagged chat message: its words and the room it was said in, so a moderator can judge it and go
    there. An author who takes a message back erases its words (chat.delete_message); a moderator's
    removal keeps them for the review."""
    message = db.session.get(ChatMessage, message_id)
    if message is None:
        return {"kind": "chat_message", "label": "A chat message that no longer exists", "excerpt": ""}
    room = message.room
    text = message.body_md
    gone = None
    if message.removed_by_id is not None:
        gone = "A moderator took it down; its words are kept for this review."
    elif message.is_retracted and message.author_id is None and not text:
        gone = "Its words are gone: its writer's account was deleted, or its check-in's transcript was."
    elif message.is_retracted:
        gone = "Its author took it back, and its words are gone."
    return {
        "kind": "chat_message",
        "message": message,
        "label": f"Chat message in “{room.title}”",
        "url": url_for("chat.room", key=room.key, _anchor=f"m{message.id}"),
        "url_text": "Open the room at this message",
        "screened_text": text,
        "excerpt": text[:200],
        "gone": gone,
    }


def _screened_text(title: str, body: str, number: int, item: ReviewItem) -> str:
    # An opening post was screened with its title in front; show exactly that so the offsets line up.
    if number == 1 and item.screening is not None:
        combined = f"{title}\n\n{body}"
        signals = item.screening.signals
        if any(combined[s.get("start", 0) : s.get("end", 0)] == s.get("phrase") for s in signals):
            return combined
    return body


# --- overview pages -----------------------------------------------------------------------------


@bp.get("/moderation/dashboard")
@login_required
def dashboard_page() -> ResponseReturnValue:
    by_level = dashboard.open_items_by_level(current_user)
    times = [dashboard.response_times(current_user, days) for days in (7, 30)]
    agreement = dashboard.agreement_by_model(current_user)
    return render_template("moderation/dashboard.html", by_level=by_level, times=times, agreement=agreement)


@bp.get("/moderation/needs-reply")
@login_required
def needs_reply() -> ResponseReturnValue:
    threads = dashboard.needs_reply(current_user)
    return render_template(
        "moderation/needs_reply.html", threads=threads, hours=current_app.config["NEEDS_REPLY_HOURS"]
    )


@bp.get("/moderation/audit")
@login_required
def audit() -> ResponseReturnValue:
    return render_template("moderation/audit.html", entries=dashboard.audit_entries(current_user))


# --- member-facing: inbox, check-in, reports ----------------------------------------------------


@bp.get("/messages")
@login_required
def inbox() -> ResponseReturnValue:
    entries = moderator_messages.conversation(current_user)
    messages = [entry for entry in entries if isinstance(entry, ModeratorMessage)]
    return render_template("moderation/inbox.html", entries=entries, messages=messages)


@bp.post("/messages/read")
@login_required
def mark_read() -> ResponseReturnValue:
    moderator_messages.mark_all_read(current_user)
    return redirect(url_for("moderation.inbox"))


@bp.post("/support/check-in")
@login_required
@ratelimits.limited("check_in_request", words=("note",))
def check_in() -> ResponseReturnValue:
    source = request.form.get("source", "support_panel")
    if source not in ("post", "draft", "journal", "homework", "chat", "support_panel", "reply"):
        source = "support_panel"
    review.request_check_in(current_user, note=request.form.get("note", ""), source=source)
    if source == "reply":  # written back from the inbox: it reaches the moderators as an urgent item
        flash("Sent. Only the moderators can read it, and they will answer here.", "success")
    else:
        flash(
            "Thank you for asking. A moderator has been told and will answer you privately, on your Messages "
            "page, soon. "
            "If you are in danger right now, please call a crisis line or your local emergency number.",
            "success",
        )
    return redirect(_safe_next())


@bp.route("/p/<int:post_id>/report", methods=["GET", "POST"])
@login_required
@ratelimits.limited("report", words=("reason",))
def report(post_id: int) -> ResponseReturnValue:
    """A report of a post, on a page of its own: the thread page links here rather than carrying a form for
    every post (a third of its size). The page shows what is being reported and what each kind leads to."""
    post = posting.get_post(post_id)
    permissions.ensure_can_report_post(current_user, post)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            with invalid_input(form) as caught:
                reports.report_post(current_user, post, kind=form.kind.data or "", reason=form.reason.data or "")
        except RateLimited as error:
            flash(error.message, "info")
            return redirect(post_url(post))
        if caught.error is None:
            flash("Thank you. The moderators will look at it. Your report is private.", "success")
            return redirect(post_url(post))
    status = 422 if request.method == "POST" else 200
    return render_template("moderation/report.html", post=post, form=form, back=post_url(post)), status


def _safe_next() -> str:
    """Back where the person was, but only ever to a path on this site."""
    target = request.form.get("next") or request.referrer or url_for("boards.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.netloc != request.host:
            return url_for("boards.home")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return local_path(target) or url_for("boards.home")
