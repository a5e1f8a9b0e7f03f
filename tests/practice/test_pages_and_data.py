"""Every practice page is private (no-store, sign-in), and all of it goes with export and account deletion."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import HomeworkItem, JournalEntry, MoodEntry, RelapsePlan, User
from forum.services import personal_data
from forum.services.practice import homework, journal, mood, plan
from forum.services.transaction import write_transaction

PAGES = ["/me/practice", "/me/homework", "/me/journal", "/me/journal/new", "/me/mood", "/me/plan"]


@pytest.mark.parametrize("path", PAGES)
def test_practice_pages_are_never_cached(member_client, path: str) -> None:
    response = member_client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_a_journal_entry_page_is_never_cached(member_client, member: User) -> None:
    entry = journal.write_entry(member, body="private words").entry
    response = member_client.get(f"/me/journal/{entry.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
def test_practice_pages_ask_anonymous_visitors_to_sign_in(client, app: Flask, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_nav_links_to_my_practice_when_signed_in(member_client) -> None:
    assert 'href="/me/practice"' in member_client.get("/").get_data(as_text=True)


def _fill_everything(user: User) -> None:
    homework.complete(user, homework.add_practice(user, "boundaries"), reflection="went ok")
    journal.write_entry(user, title="Tuesday", body="Called my dad.")
    mood.log_mood(user, mood=6, tags=["saw_someone"])
    plan.save_plan(user, what_helps="Walking")


def test_every_part_is_registered_for_export_and_deletion(app: Flask) -> None:
    names = {part.name for part in personal_data.registered()}
    assert {"homework", "journal", "mood_log", "relapse_plan"} <= names


def test_the_export_holds_all_of_it(app: Flask, member: User) -> None:
    _fill_everything(member)
    exported = {part.name: part.export(member) for part in personal_data.registered()}
    assert exported["homework"]["items"][0]["reflection"] == "went ok"
    assert exported["journal"]["entries"][0]["body"] == "Called my dad."
    ((name, text),) = exported["journal"]["markdown"].items()
    assert name.startswith("journal/") and "# Tuesday" in text and "Called my dad." in text
    assert exported["mood_log"]["entries"][0]["mood"] == 6
    assert exported["mood_log"]["entries"][0]["tags"] == ["saw_someone"]
    assert exported["relapse_plan"]["plan"]["what_helps"] == "Walking"


def test_the_export_holds_nothing_of_anyone_else(app: Flask, member: User, other: User) -> None:
    _fill_everything(other)
    for part in personal_data.registered():
        if part.name in {"homework", "journal", "mood_log"}:
            assert not any(part.export(member).get(key) for key in ("items", "entries"))
    assert plan.export(member) == {"plan": None}


@pytest.mark.parametrize("keep_posts", [True, False])
def test_deleting_the_account_erases_all_of_it_and_only_theirs(
    app: Flask, member: User, other: User, keep_posts: bool
) -> None:
    _fill_everything(member)
    _fill_everything(other)
    with write_transaction() as session:
        for part in personal_data.registered():
            if part.name in {"homework", "journal", "mood_log", "relapse_plan"}:
                part.erase(session, member, keep_posts)
    for model in (HomeworkItem, JournalEntry, MoodEntry, RelapsePlan):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == member.id)) == 0
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == other.id)) == 1
