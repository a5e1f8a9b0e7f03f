"""Taking your data with you, and taking it back: the export zip and account deletion.

Every feature registers what it keeps in forum.services.personal_data; the export asks each for its
part, and deletion runs every eraser inside one transaction before the account row itself goes.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from forum import permissions
from forum.extensions import db
from forum.models import (
    ApiToken,
    Post,
    PostRevision,
    RetiredName,
    ReviewEvent,
    ReviewItem,
    ScreeningRecord,
    Thread,
    User,
    utcnow,
)
from forum.services import accounts, notifications, personal_data, posting, review, screening
from forum.services.errors import NotAuthenticated, invalid
from forum.services.transaction import after_commit, write_transaction

log = logging.getLogger(__name__)

POST_CHOICES = ("delete", "keep")
# How long the checkpoint after an account deletion waits for other people's reads to finish.
CHECKPOINT_WAIT_MS = 2000
DELETED_THREAD_TITLE = "Deleted thread"
# A deleted account's thread that others replied to stays for their sake, without its author's title.
ORPHANED_THREAD_TITLE = "A thread whose opening post was deleted"
ACCOUNT_DELETED_NOTE = "The person deleted their account; their words went with it."

# --- export ----------------------------------------------------------------------------------------


def export_zip(actor: Any) -> tuple[str, bytes]:
    """(filename, zip bytes): one JSON file per kind of data, and Markdown copies of the writing."""
    return _zip_for(permissions.ensure_signed_in(actor))


def export_zip_with_pass(token: object) -> tuple[str, bytes]:
    """export_zip for someone suspended, who has no session: the pass from their suspension page."""
    return _zip_for(accounts.holder_of_data_pass(token))


def _zip_for(member: User) -> tuple[str, bytes]:
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    folder = f"hearth-export-{member.username}-{stamp}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{folder}/README.txt", _readme(member))
        for data in personal_data.registered():
            part = dict(data.export(member))
            markdown = part.pop("markdown", {}) or {}
            archive.writestr(f"{folder}/{data.name}.json", json.dumps(part, indent=2, default=str, ensure_ascii=False))
            for filename, text in markdown.items():
                archive.writestr(f"{folder}/markdown/{data.name}/{_safe_filename(filename)}", text)
    return f"{folder}.zip", buffer.getvalue()


def _readme(user: User) -> str:
    return (
        f"Everything Hearth keeps that {user.username} wrote or chose, exported {utcnow().isoformat()}.\n\n"
        "Each .json file holds one kind of data. The markdown/ folder has your writing as plain text files.\n"
        "Other people's words are not included, except where you quoted them yourself, and the moderators'\n"
        "messages to you (messages_from_moderators.json).\n"
    )


def _safe_filename(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    return cleaned[:100] or "file.md"


# --- deletion --------------------------------------------------------------------------------------


def set_training_opt_in(actor: Any, allowed: bool) -> User:
    """The person's choice whether reviewed posts of theirs may help retrain the screening model."""
    member = permissions.ensure_signed_in(actor)
    with write_transaction():
        member.training_opt_in = bool(allowed)
    return member


def delete_account(actor: Any, *, password: object, posts: object) -> None:
    """Delete the account now. posts="keep" leaves them under "a former member"; "delete" removes them."""
    member = permissions.ensure_signed_in(actor)
    if posts not in POST_CHOICES:
        raise invalid("posts", "Choose whether your posts are deleted or kept under \u201ca former member\u201d.")
    _check_password(member, password)
    keep_posts = posts == "keep"
    user_id = member.id
    with write_transaction() as session:
        user = session.get(User, user_id)
        assert user is not None
        for data in personal_data.registered():
            data.erase(session, user, keep_posts)
        session.flush()
        # Tokens and the account row; sessions are signed cookies bound to this row, so they die with it.
        session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
        session.execute(delete(User).where(User.id == user_id))
        session.add(RetiredName(name_hash=accounts.retired_name_hash(user.username)))
        session.expunge(user)
        after_commit(lambda: _after_deletion(user_id))


def _check_password(member: User, password: object) -> None:
    try:
        accounts.authenticate(member.username, password)
    except NotAuthenticated as error:
        raise invalid("password", "That isn't your password.") from error


def _after_deletion(user_id: int) -> None:
    from forum.realtime import disconnect_user

    disconnect_user(user_id)
    scrub_free_space()


def scrub_free_space() -> None:
    """SQLite: merge the search index and checkpoint the WAL, so deleted words leave the files on disk.

    secure_delete already zeroes freed pages in the database file; the FTS5 index keeps deleted
    entries until its segments merge, and the WAL keeps old page images until a checkpoint.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    from forum.search import purge_deleted_text

    with engine.begin() as connection:
        purge_deleted_text(connection)
    # A truncating checkpoint waits for every reader. This request's own session may hold a read open from an
    # earlier after-commit step (unread counts pushed to people whose notifications went): end it, or the
    # checkpoint waits out the whole busy timeout. Someone else's read is waited for briefly, not for the
    # person leaving: a checkpoint that can't finish now is finished by the next one.
    db.session.rollback()
    raw = engine.raw_connection()
    driver: Any = raw.driver_connection
    usual_wait = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    try:
        driver.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
        busy, _frames, _done = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("account deletion: the WAL checkpoint waited %d ms for readers; a later one finishes it",
                        CHECKPOINT_WAIT_MS)  # fmt: skip
    finally:
        driver.execute(f"PRAGMA busy_timeout = {int(usual_wait)}")  # the connection goes back to the pool
        raw.close()


# --- the person's posts as personal data ------------------------------------------------------------


def _export_posts(user: User) -> dict[str, Any]:
    rows = db.session.execute(
        select(Post, Thread)
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.author_id == user.id)
        .order_by(Post.id)
    ).all()
    earlier = _earlier_versions([post.id for post, _thread in rows])
    posts = [
        {
            "id": post.id,
            "thread_id": thread.id,
            "thread_title": thread.title,
            "number": post.number,
            "anonymous": post.is_anonymous,
            "content_note": post.content_note,
            "body_markdown": post.body_md,
            "created_at": post.created_at.isoformat(),
            "edited_at": post.edited_at.isoformat() if post.edited_at else None,
            "deleted": post.deleted_at is not None,
            "earlier_versions": earlier.get(post.id, []),
        }
        for post, thread in rows
    ]
    return {"posts": posts, "markdown": _posts_markdown(posts)}


def _earlier_versions(post_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each post's versions before its edits, oldest first: kept by Hearth, so theirs to have."""
    versions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not post_ids:
        return versions
    rows = db.session.scalars(select(PostRevision).where(PostRevision.post_id.in_(post_ids)).order_by(PostRevision.id))
    for revision in rows:
        versions[revision.post_id].append(
            {
                "body_markdown": revision.body_md,
                "content_note": revision.content_note,
                "replaced_at": revision.created_at.isoformat(),
            }
        )
    return versions


def _posts_markdown(posts: list[dict[str, Any]]) -> dict[str, str]:
    by_thread: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for post in posts:
        by_thread[post["thread_id"]].append(post)
    files = {}
    for thread_id, items in by_thread.items():
        title = items[0]["thread_title"]
        parts = [f"# {title}\n"]
        for post in items:
            flags = " (anonymous)" if post["anonymous"] else ""
            flags += " (deleted)" if post["deleted"] else ""
            parts.append(f"## Post {post['number']}, {post['created_at']}{flags}\n\n{post['body_markdown']}\n")
        slug = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:50] or "thread"
        files[f"{thread_id}-{slug}.md"] = "\n".join(parts)
    return files


def _erase_posts(session: Session, user: User, keep_posts: bool) -> None:
    now = utcnow()
    posts = list(session.scalars(select(Post).where(Post.author_id == user.id)))
    erased: list[int] = []
    for post in posts:
        # A post the person deleted is erased even when they keep the rest: they took it back already.
        if keep_posts and post.deleted_at is None:
            post.author_id = None
        else:
            _tombstone(post, now)
            erased.append(post.id)
    if posts:
        session.execute(delete(PostRevision).where(PostRevision.post_id.in_([p.id for p in posts])))
    _release_threads(session, user, erased, now)
    _forget_screenings(session, user, erased)
    # Others were told "a former member mentioned you" about words that are gone, as after a single delete.
    notifications.forget_posts(session, erased)


def _tombstone(post: Post, now: Any) -> None:
    """Empty the post but keep its place, so the replies around it keep their numbers and pages."""
    post.body_md = ""
    post.body_html = ""
    post.content_note = None
    post.idempotency_key = None
    post.author_id = None
    post.deleted_at = post.deleted_at or now


def _release_threads(session: Session, user: User, erased: list[int], now: Any) -> None:
    erased_set = set(erased)
    for thread in session.scalars(select(Thread).where(Thread.author_id == user.id)):
        opening = session.scalar(select(Post.id).where(Post.thread_id == thread.id, Post.number == 1))
        if opening in erased_set:
            # The title is the person's words too. Like deleting an opening post, the thread goes with
            # it, unless others replied: their posts stay readable, under a title that is not the person's.
            if posting.others_replied(session, thread.id, user.id):
                thread.title = ORPHANED_THREAD_TITLE
            else:
                thread.title = DELETED_THREAD_TITLE
                thread.deleted_at = thread.deleted_at or now
        thread.author_id = None


def _forget_screenings(session: Session, user: User, erased: list[int]) -> None:
    """Screenings quote the writing (their matched phrases): they go with it. The review items about the
    person stay, closed and without their words: an open crisis item must not vanish from the moderators'
    records (its history and the audit log point at it); they see that the person deleted their account."""
    if erased:
        session.execute(
            delete(ScreeningRecord).where(ScreeningRecord.target_type == "post", ScreeningRecord.target_id.in_(erased))
        )
    # Chat is erased whichever the choice (chat._erase_messages), so the items about it close either way. They
    # are found by their subject: the messages may already have lost their author to the chat eraser.
    chat_items = and_(ReviewItem.target_type == "chat_message", ReviewItem.subject_user_id == user.id)
    about_chat = list(session.scalars(select(ReviewItem.target_id).where(chat_items)))
    screening.forget_phrases(session, "chat_message", about_chat)
    about = or_(
        and_(ReviewItem.target_type == "post", ReviewItem.target_id.in_(erased)),
        and_(ReviewItem.target_type == "user", ReviewItem.target_id == user.id),
        chat_items,
    )
    for item in session.scalars(select(ReviewItem).where(about)):
        item.reasons = [{key: value for key, value in reason.items() if key != "detail"} for reason in item.reasons]
        if item.status == "open":
            review.mark_resolved(item)
            item.version += 1
        session.add(ReviewEvent(item_id=item.id, action="account_deleted", note=ACCOUNT_DELETED_NOTE))
    # What they wrote to the moderators (a check-in request, a reply, refused words kept for them) is theirs too.
    session.execute(
        update(ReviewEvent)
        .where(ReviewEvent.actor_id == user.id, ReviewEvent.action.in_(review.WRITTEN_TO_MODERATORS))
        .values(note="")
    )


personal_data.register("posts", export=_export_posts, erase=_erase_posts)


# --- the training choice as personal data -------------------------------------------------------------


def _export_training_consent(user: User) -> dict[str, Any]:
    return {"reviewed_posts_may_train_the_screening": user.training_opt_in}


def _erase_training_consent(session: Session, user: User, keep_posts: bool) -> None:
    """Nothing to do here: the choice is a column of the account row, which the deletion removes last."""


personal_data.register("training_consent", export=_export_training_consent, erase=_erase_training_consent)
