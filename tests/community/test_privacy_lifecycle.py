"""What an account deletion takes with it, and what the export hands back, beyond posts and profile:
check-in moods, chat review items, report reasons, notifications, and what moderators keep about chat."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from forum.extensions import db
from forum.models import Notification, PeerReport, ReviewEvent, ReviewItem, ScreeningRecord, User
from forum.models.chat import CheckIn, CheckInMood
from forum.services import chat, checkins, posting, privacy, reports, social
from tests.chat.support import CRISIS_TEXT, schedule_check_in
from tests.community.helpers import board, reply, thread_by

PASSWORD = "correct horse battery"


def _export(user: User) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(privacy.export_zip(user)[1])) as archive:
        return {
            name.split("/", 1)[1].removesuffix(".json"): json.loads(archive.read(name))
            for name in archive.namelist()
            if name.endswith(".json")
        }


def _delete(user: User, posts: str) -> None:
    privacy.delete_account(user, password=PASSWORD, posts=posts)
    db.session.expire_all()


def _mood_round_with(member: User, moderator: User, other: User) -> CheckIn:
    checkin = schedule_check_in(moderator)
    checkins.advance(moderator, checkin, "open")
    chat.enter_room(member, checkin.room)
    chat.enter_room(other, checkin.room)
    checkins.advance(moderator, checkin, "mood_round")
    checkins.share_mood(member, checkin, mood=4, word="exhausted", client_id="m-start")
    checkins.share_mood(other, checkin, mood=6, word="hopeful", client_id="o-start")
    return checkin


# --- check-in moods -----------------------------------------------------------------------------------


@pytest.mark.parametrize("posts", ["delete", "keep"])
def test_deleting_an_account_erases_its_mood_words_and_keeps_the_summary_counts(
    app: Flask, member: User, moderator: User, make_user: Any, posts: str
) -> None:
    checkin = _mood_round_with(member, moderator, make_user("river"))

    _delete(member, posts)

    words = db.session.scalars(
        select(CheckInMood.word).where(CheckInMood.checkin_id == checkin.id).order_by(CheckInMood.id)
    )
    assert list(words) == [None, "hopeful"]
    shown = checkins.mood_round(db.session.get(CheckIn, checkin.id))
    assert [(share["author"], share["word"]) for share in shown] == [("a former member", None), ("river", "hopeful")]
    summary = checkins.summary(db.session.get(CheckIn, checkin.id))
    assert (summary.shared_start, summary.average_start) == (2, 5.0), "the number stays for the summary"


# --- review items about chat messages -----------------------------------------------------------------


@pytest.mark.parametrize("posts", ["delete", "keep"])
def test_deleting_an_account_closes_the_items_about_its_chat_messages_without_their_phrases(
    app: Flask, member: User, posts: str
) -> None:
    room = chat.board_rooms()[0]
    message = chat.send_message(member, room, body=CRISIS_TEXT, client_id="c-crisis").message
    item = db.session.scalars(select(ReviewItem).where(ReviewItem.target_type == "chat_message")).one()
    assert item.status == "open"

    _delete(member, posts)

    item = db.session.get(ReviewItem, item.id)
    assert item is not None and item.status == "resolved", "the item stays in the moderators' records, closed"
    assert item.events[-1].action == "account_deleted"
    assert all("detail" not in reason for reason in item.reasons)
    records = db.session.scalars(
        select(ScreeningRecord).where(
            ScreeningRecord.target_type == "chat_message", ScreeningRecord.target_id == message.id
        )
    ).all()
    assert records and all(record.level == "crisis" for record in records)
    assert not any("phrase" in signal for record in records for signal in record.signals)


# --- report reasons -----------------------------------------------------------------------------------


def _reported_by_two(member: User, wren: User, river: User) -> PeerReport:
    post = posting.get_post(thread_by(river, title="River's thread", body="Nobody would miss me.").id)
    reports.report_post(member, post, kind="worried", reason="River told me about the pills.")
    reports.report_post(member, post, kind="worried", reason="She said tonight.")
    reports.report_post(wren, post, kind="worried", reason="Wren is worried too.")
    return db.session.scalars(select(PeerReport).where(PeerReport.reporter_id == member.id)).one()


def test_deleting_an_account_erases_its_report_reasons_but_keeps_the_reports(
    app: Flask, member: User, make_user: Any
) -> None:
    report = _reported_by_two(member, make_user("wren"), make_user("river"))
    item_id = report.item_id

    _delete(member, "delete")

    kept = db.session.get(PeerReport, report.id)
    assert kept is not None and kept.reporter_id is None, "moderators still see a report was made"
    assert (kept.kind, kept.reason) == ("worried", reports.REASON_ERASED)
    item = db.session.get(ReviewItem, item_id)
    assert item is not None
    assert [reason["detail"] for reason in item.reasons if reason["source"] == "report"] == [
        reports.REASON_ERASED,
        reports.REASON_ERASED,
        "Wren is worried too.",
    ]
    notes = list(db.session.scalars(select(ReviewEvent.note).where(ReviewEvent.item_id == item_id)))
    assert "Wren is worried too." in notes
    assert not any("pills" in note or "tonight" in note for note in notes)


def test_keeping_posts_keeps_the_report_reasons_without_naming_their_maker(
    app: Flask, member: User, make_user: Any
) -> None:
    report = _reported_by_two(member, make_user("wren"), make_user("river"))

    _delete(member, "keep")

    kept = db.session.get(PeerReport, report.id)
    assert kept is not None and kept.reporter_id is None
    assert kept.reason == "River told me about the pills.\n\nShe said tonight."


def test_a_reporters_words_equal_to_another_reporters_are_erased_only_once(
    app: Flask, member: User, make_user: Any
) -> None:
    river, wren = make_user("river"), make_user("wren")
    post = posting.get_post(thread_by(river, title="River's thread", body="Nobody would miss me.").id)
    reports.report_post(member, post, kind="worried", reason="Please check on her.")
    reports.report_post(wren, post, kind="worried", reason="Please check on her.")
    item_id = db.session.scalars(select(PeerReport.item_id)).first()

    _delete(member, "delete")

    item = db.session.get(ReviewItem, item_id)
    assert item is not None
    said = sorted(reason["detail"] for reason in item.reasons if reason["source"] == "report")
    assert said == sorted(["Please check on her.", reports.REASON_ERASED])


# --- notifications ------------------------------------------------------------------------------------


def _told(user: User) -> list[int | None]:
    return list(db.session.scalars(select(Notification.post_id).where(Notification.user_id == user.id)))


def test_an_anonymous_thread_reaches_followers_its_author_blocked_and_followers_who_muted_them(
    app: Flask, member: User, make_user: Any
) -> None:
    blocked, muter = make_user("river"), make_user("wren")
    for follower in (blocked, muter):
        social.set_board_follow(follower, board(), True)
    social.set_block(member, blocked, "block")
    social.set_block(muter, member, "mute")

    thread = thread_by(member, title="Hard to say", body="Words.", anonymous=True)

    assert _told(blocked) == [thread.id], "leaving them out would tell them who wrote it"
    assert _told(muter) == [thread.id]


def test_a_named_thread_still_reaches_nobody_its_author_blocked_or_who_muted_them(
    app: Flask, member: User, make_user: Any
) -> None:
    blocked, muter, friend = make_user("river"), make_user("wren"), make_user("ash")
    for follower in (blocked, muter, friend):
        social.set_board_follow(follower, board(), True)
    social.set_block(member, blocked, "block")
    social.set_block(muter, member, "mute")

    thread = thread_by(member, title="My week so far", body="Some days are long.")

    assert _told(blocked) == [] and _told(muter) == []
    assert _told(friend) == [thread.id]


def test_deleting_an_account_takes_back_notifications_about_its_erased_posts(
    app: Flask, member: User, make_user: Any
) -> None:
    river = make_user("river")
    theirs = thread_by(river)
    mention = reply(member, theirs, "Thinking of you, @river.")
    assert _told(river) == [mention.id]

    _delete(member, "delete")

    assert _told(river) == [], "nobody is told a former member mentioned them in words that are gone"


def test_keeping_posts_keeps_the_notifications_about_them(app: Flask, member: User, make_user: Any) -> None:
    river = make_user("river")
    mention = reply(member, thread_by(river), "Thinking of you, @river.")

    _delete(member, "keep")

    assert _told(river) == [mention.id]


# --- the export ---------------------------------------------------------------------------------------


def test_the_export_holds_chat_messages_a_moderator_removed_and_lists_retracted_ones_without_words(
    app: Flask, member: User, moderator: User
) -> None:
    room = chat.board_rooms()[0]
    shown = chat.send_message(member, room, body="Still here.", client_id="c-1").message
    removed = chat.send_message(member, room, body="Words a moderator took down.", client_id="c-2").message
    retracted = chat.send_message(member, room, body="Words I took back.", client_id="c-3").message
    chat.remove_message(moderator, removed, reason="Off topic")
    chat.delete_message(member, retracted)

    messages = _export(member)["chat"]["messages"]

    assert [(m["id"], m["status"], m["body"]) for m in messages] == [
        (shown.id, "shown", "Still here."),
        (removed.id, "removed by a moderator", "Words a moderator took down."),
        (retracted.id, "deleted by you", ""),
    ]


def test_the_export_holds_chat_mutes_with_their_reasons(app: Flask, member: User, moderator: User) -> None:
    room = chat.board_rooms()[0]
    chat.mute(moderator, room, member, minutes=30, reason="Please take a breather.")

    [mute] = _export(member)["chat"]["mutes_on_you"]

    assert (mute["room"], mute["reason"]) == (room.key, "Please take a breather.")
    assert mute["until"] > mute["created_at"]


def test_the_export_holds_the_training_choice(app: Flask, member: User) -> None:
    assert _export(member)["training_consent"] == {"reviewed_posts_may_train_the_screening": False}
    privacy.set_training_opt_in(member, True)
    assert _export(member)["training_consent"] == {"reviewed_posts_may_train_the_screening": True}


def test_the_export_holds_check_in_places_and_moods(app: Flask, member: User, moderator: User, make_user: Any) -> None:
    saved = schedule_check_in(moderator)
    checkins.save_place(member, saved)
    shared = _mood_round_with(member, moderator, make_user("river"))

    part = _export(member)["checkins"]

    assert sorted(place["checkin_id"] for place in part["places"]) == sorted([saved.id, shared.id])
    assert [(m["checkin_id"], m["phase"], m["mood"], m["word"]) for m in part["moods"]] == [
        (shared.id, "start", 4, "exhausted")
    ]
    assert "hopeful" not in json.dumps(part), "other people's shares are theirs"
