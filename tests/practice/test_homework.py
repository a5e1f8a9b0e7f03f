"""Homework: a guide's practice added to the week, checked off with a reflection, summed up weekly."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from forum.extensions import db
from forum.guides import get_guide
from forum.models import HomeworkItem, ReviewItem, User
from forum.services.errors import NotFound, ValidationFailed
from forum.services.practice import homework
from forum.services.practice.days import utc_today, week_of
from tests.conftest import login


def test_adding_a_practice_copies_the_guide_and_defaults_to_a_week(app: Flask, member: User) -> None:
    item = homework.add_practice(member, "boundaries")
    guide = get_guide("boundaries")
    assert (item.guide_title, item.practice) == (guide.title, guide.practice)
    assert item.due_on == utc_today() + timedelta(days=6)
    assert item.done_on is None


def test_a_double_submit_with_one_key_adds_one_item_but_a_second_add_is_allowed(app: Flask, member: User) -> None:
    first = homework.add_practice(member, "boundaries", idempotency_key="click-1")
    assert homework.add_practice(member, "boundaries", idempotency_key="click-1").id == first.id
    second = homework.add_practice(member, "boundaries", idempotency_key="click-2")
    assert second.id != first.id  # practising the same thing twice in a week is a choice, not a mistake
    assert db.session.scalar(select(func.count()).select_from(HomeworkItem)) == 2


def test_an_unknown_guide_is_not_found(app: Flask, member: User) -> None:
    with pytest.raises(NotFound):
        homework.add_practice(member, "no-such-guide")


@pytest.mark.parametrize("days", [-1, 61])
def test_due_dates_must_be_soon_and_not_past(app: Flask, member: User, days: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        homework.add_practice(member, "boundaries", due_on=(utc_today() + timedelta(days=days)).isoformat())
    assert "due_on" in caught.value.fields


def test_checking_off_stores_the_day_and_a_rendered_reflection(app: Flask, member: User) -> None:
    item = homework.add_practice(member, "boundaries")
    homework.complete(member, item, reflection="Said *no* to overtime. <img src=x onerror=alert(1)>")
    assert item.done_on == utc_today()
    assert "<em>no</em>" in item.reflection_html
    assert "<img" not in item.reflection_html
    homework.reopen(member, item)
    assert item.done_on is None


def test_someone_elses_practice_cannot_be_touched(app: Flask, member: User, other: User, moderator: User) -> None:
    item = homework.add_practice(member, "boundaries")
    for stranger in (other, moderator):
        with pytest.raises(NotFound):
            homework.complete(stranger, item, reflection="mine now")
        with pytest.raises(NotFound):
            homework.remove(stranger, item)
    client = app.test_client()
    login(client, "river")
    assert client.post(f"/me/homework/{item.id}/done", data={"reflection": "x"}).status_code == 404
    assert client.post(f"/me/homework/{item.id}/delete").status_code == 404
    db.session.expire_all()
    assert db.session.get(HomeworkItem, item.id).done_on is None


def test_the_weekly_summary_counts_what_was_practised_this_week(app: Flask, member: User) -> None:
    today = utc_today()
    start, end = week_of(today)
    boundaries = [homework.add_practice(member, "boundaries") for _ in range(2)]
    talk = homework.add_practice(member, "communication-skills")
    planned = homework.add_practice(member, "social-activation", due_on=end.isoformat())
    for item in [*boundaries, talk]:
        homework.complete(member, item)
    last_week = homework.add_practice(member, "emotional-insight")
    homework.complete(member, last_week)
    last_week.done_on = start - timedelta(days=1)  # done before this week began: not counted
    db.session.commit()

    week = homework.weekly_summary(member, today)
    assert (week.start, week.end) == (start, end)
    assert {item.id for item in week.done} == {boundaries[0].id, boundaries[1].id, talk.id}
    assert week.practised == [(get_guide("boundaries").practice, 2), (get_guide("communication-skills").practice, 1)]
    assert [item.id for item in week.open_this_week] == [planned.id]
    assert "you practised 3 times" in week.text
    assert f"\u201c{get_guide('boundaries').practice}\u201d 2 times" in week.text


def test_an_overdue_practice_is_named_in_the_summary(app: Flask, member: User) -> None:
    item = homework.add_practice(member, "boundaries")
    item.due_on = utc_today() - timedelta(days=2)
    db.session.commit()
    week = homework.weekly_summary(member, utc_today())
    assert [i.id for i in week.overdue] == [item.id]
    assert "1 past its day" in week.text


def test_the_guide_page_offers_the_button_and_adds_the_practice(member_client, member: User) -> None:
    html = member_client.get("/guides/boundaries").get_data(as_text=True)
    assert "Add this practice to my week" in html
    response = member_client.post("/me/homework", data={"guide": "boundaries"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(HomeworkItem)) == 1
    listing = member_client.get("/me/homework").get_data(as_text=True)
    assert str(escape(get_guide("boundaries").practice)) in listing


def test_the_guide_pages_form_carries_a_key_so_a_double_click_adds_once(member_client, member: User) -> None:
    html = member_client.get("/guides/boundaries").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert key is not None
    for _ in range(2):
        member_client.post("/me/homework", data={"guide": "boundaries", "idempotency_key": key.group(1)})
    assert db.session.scalar(select(func.count()).select_from(HomeworkItem)) == 1


def test_anonymous_visitors_are_asked_to_sign_in_on_the_guide_page(client, app: Flask) -> None:
    html = client.get("/guides/boundaries").get_data(as_text=True)
    assert "Add this practice to my week" not in html
    assert "to add this practice to your week" in html


def test_checking_off_from_the_list_page_updates_the_summary(member_client, member: User) -> None:
    item = homework.add_practice(member, "boundaries")
    response = member_client.post(f"/me/homework/{item.id}/done", data={"reflection": "It went fine."})
    assert response.status_code == 302
    html = member_client.get("/me/homework").get_data(as_text=True)
    assert "you practised once" in html
    assert "It went fine." in html


def test_a_reopened_practice_keeps_its_reflection_for_checking_off_again(member_client, member: User) -> None:
    item = homework.add_practice(member, "boundaries")
    member_client.post(f"/me/homework/{item.id}/done", data={"reflection": "I said no to one extra shift."})
    member_client.post(f"/me/homework/{item.id}/reopen")
    html = member_client.get("/me/homework").get_data(as_text=True)
    assert "I said no to one extra shift.</textarea>" in html, "the box to check it off again holds what was written"


def test_a_refused_reflection_comes_back_in_its_box(member_client, member: User) -> None:
    item = homework.add_practice(member, "boundaries")
    too_long = "I tried it twice this week. " * 80
    response = member_client.post(f"/me/homework/{item.id}/done", data={"reflection": too_long})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "under 2,000 characters" in html
    assert too_long.strip() in html, "what was written is not lost"
    db.session.expire_all()
    assert db.session.get(HomeworkItem, item.id).done_at is None  # type: ignore[union-attr]


def test_pressing_add_again_while_that_practice_is_open_keeps_one_and_says_so(member_client, member: User) -> None:
    for page_load in ("key-1", "key-2", "key-3"):  # each visit to the guide page makes a new key
        response = member_client.post(
            "/me/homework", data={"guide": "boundaries", "idempotency_key": page_load}, follow_redirects=True
        )
    assert db.session.scalar(select(func.count()).select_from(HomeworkItem)) == 1
    html = response.get_data(as_text=True)
    assert "is already on your list, due" in html and "not added again" in html


def test_the_same_practice_is_added_again_for_another_day_or_once_the_open_one_is_done(
    app: Flask, member: User
) -> None:
    first = homework.add_practice_once(member, "boundaries", idempotency_key="a")
    twin = homework.add_practice_once(member, "boundaries", idempotency_key="b")
    assert twin.already_listed and twin.item.id == first.item.id
    other_day = (utc_today() + timedelta(days=2)).isoformat()
    later = homework.add_practice_once(member, "boundaries", due_on=other_day, idempotency_key="c")
    assert not later.already_listed and later.item.id != first.item.id
    homework.complete(member, first.item)
    again = homework.add_practice_once(member, "boundaries", idempotency_key="d")
    assert not again.already_listed and again.item.id not in (first.item.id, later.item.id)


def test_crisis_words_in_a_reflection_bring_the_support_panel_and_tell_nobody(member_client, member: User) -> None:
    """A reflection is screened for its writer, as a journal entry is: the panel with the lines and a way to ask
    a moderator, at once, and no item in any moderator's queue."""
    item = homework.add_practice(member, "boundaries")
    words = "I want to die, I have a plan to kill myself this weekend"
    response = member_client.post(f"/me/homework/{item.id}/done", data={"reflection": words})
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/homework#support")
    html = member_client.get("/me/homework").get_data(as_text=True)
    assert 'data-testid="support-panel"' in html and "People you can reach right now" in html
    assert 'name="source" value="homework"' in html
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)) == 0
    calm = homework.add_practice(member, "boundaries", due_on=None, idempotency_key="second")
    member_client.post(f"/me/homework/{calm.id}/done", data={"reflection": "It went fine."})
    assert 'data-testid="support-panel"' not in member_client.get("/me/homework").get_data(as_text=True)
