"""The mood log: one mood a day, back-filling a week, averages with and without social contact, the chart."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import MoodEntry, User
from forum.services.errors import ValidationFailed
from forum.services.practice import mood
from forum.services.practice.days import utc_today

SVG = "{http://www.w3.org/2000/svg}"


def _log(user: User, days_ago: int, score: int, *tags: str) -> None:
    mood.log_mood(user, mood=score, tags=list(tags), day=(utc_today() - timedelta(days=days_ago)).isoformat())


def test_a_mood_is_stored_for_the_utc_day_by_default(app: Flask, member: User) -> None:
    logged = mood.log_mood(member, mood=6, tags=["slept_well"])
    assert not logged.replaced
    assert logged.entry.day == utc_today()
    assert logged.entry.mood == 6 and logged.entry.tags == ["slept_well"]


def test_a_second_entry_the_same_day_replaces_the_first(app: Flask, member: User) -> None:
    mood.log_mood(member, mood=3, tags=["argued"])
    again = mood.log_mood(member, mood=7, tags=["saw_someone"])
    assert again.replaced
    assert db.session.scalar(select(func.count()).select_from(MoodEntry)) == 1
    entry = db.session.scalar(select(MoodEntry))
    assert entry.mood == 7 and entry.tags == ["saw_someone"]


def test_the_persons_local_date_is_used_when_within_a_day_of_utc(app: Flask, member: User) -> None:
    tomorrow = utc_today() + timedelta(days=1)
    logged = mood.log_mood(member, mood=5, local_today=tomorrow.isoformat())
    assert logged.entry.day == tomorrow


@pytest.mark.parametrize("offset", [2, -2, 30])
def test_a_local_date_further_than_a_day_from_utc_is_refused(app: Flask, member: User, offset: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        mood.log_mood(member, mood=5, local_today=(utc_today() + timedelta(days=offset)).isoformat())
    assert "local_today" in caught.value.fields


def test_back_filling_works_up_to_seven_days_and_no_further(app: Flask, member: User) -> None:
    _log(member, 7, 4)
    assert mood.entry_for(member, utc_today() - timedelta(days=7)).mood == 4
    with pytest.raises(ValidationFailed) as caught:
        _log(member, 8, 4)
    assert "day" in caught.value.fields


def test_a_future_day_is_refused(app: Flask, member: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        mood.log_mood(member, mood=5, day=(utc_today() + timedelta(days=1)).isoformat())
    assert "day" in caught.value.fields


@pytest.mark.parametrize("value", [0, 11, "seven", None, True, 5.5, "-1"])
def test_moods_outside_one_to_ten_are_refused(app: Flask, member: User, value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        mood.log_mood(member, mood=value)
    assert "mood" in caught.value.fields
    assert db.session.scalar(select(func.count()).select_from(MoodEntry)) == 0


@pytest.mark.parametrize("tags", [["drank"], "saw_someone", 5])
def test_unknown_tags_are_refused(app: Flask, member: User, tags: object) -> None:
    with pytest.raises(ValidationFailed):
        mood.log_mood(member, mood=5, tags=tags)


@pytest.mark.parametrize("day", ["2025-13-01", "yesterday", "2025-01-01T00:00"])
def test_malformed_days_are_refused(app: Flask, member: User, day: str) -> None:
    with pytest.raises(ValidationFailed):
        mood.log_mood(member, mood=5, day=day)


def test_averages_with_and_without_social_contact(app: Flask, member: User, other: User) -> None:
    _log(member, 0, 8, "saw_someone")
    _log(member, 1, 6, "saw_someone", "went_outside")
    _log(member, 2, 3)
    _log(member, 3, 4, "argued")
    _log(member, 4, 5, "slept_well")
    _log(other, 0, 1)  # someone else's day counts for nothing here
    _entries, summary = mood.window(member, 30, utc_today())
    assert summary.logged == 5
    assert summary.average == 5.2
    assert (summary.lowest, summary.highest) == (3, 8)
    assert summary.with_contact == mood.Average(days=2, mean=7.0)
    assert summary.without_contact == mood.Average(days=3, mean=4.0)
    assert "On the 2 days you saw someone your average was 7.0; on the 3 days without, 4.0." in summary.text


def test_days_outside_the_window_are_left_out(app: Flask, member: User) -> None:
    db.session.add(MoodEntry(user_id=member.id, day=utc_today() - timedelta(days=30), mood=1, tags=[]))
    db.session.add(MoodEntry(user_id=member.id, day=utc_today() - timedelta(days=29), mood=9, tags=[]))
    db.session.commit()
    _entries, summary30 = mood.window(member, 30, utc_today())
    _entries, summary90 = mood.window(member, 90, utc_today())
    assert (summary30.logged, summary30.average) == (1, 9.0)
    assert (summary90.logged, summary90.average) == (2, 5.0)


def test_an_empty_window_says_so(app: Flask, member: User) -> None:
    _entries, summary = mood.window(member, 30, utc_today())
    assert summary.average is None
    assert "you haven't logged a mood yet" in summary.text


# --- the page -------------------------------------------------------------------------------------


def _chart(html: str, days: int) -> ElementTree.Element:
    match = re.search(rf'<svg class="chart" id="mood-{days}".*?</svg>', html, re.S)
    assert match, f"no {days}-day chart"
    return ElementTree.fromstring(match.group(0))  # noqa: S314  (our own server's SVG)


def test_one_tap_logs_a_mood_with_tags_and_says_when_it_replaced(member_client, member: User) -> None:
    first = member_client.post("/me/mood", data={"mood": "4", "argued": "y"}, follow_redirects=True)
    assert "Logged 4 for" in first.get_data(as_text=True)
    second = member_client.post("/me/mood", data={"mood": "7", "saw_someone": "y"}, follow_redirects=True)
    html = second.get_data(as_text=True)
    assert "your mood for" in html and "is now 7" in html and "replaced the earlier one" in html
    entry = mood.entry_for(member, utc_today())
    assert entry.mood == 7 and entry.tags == ["saw_someone"]


def test_todays_tags_come_back_ticked_so_changing_the_number_keeps_them(member_client, member: User) -> None:
    member_client.post("/me/mood", data={"mood": "3", "saw_someone": "y", "went_outside": "y"})
    page = member_client.get("/me/mood").get_data(as_text=True)
    ticked = set(re.findall(r'<input[^>]*checked[^>]*name="(\w+)"|<input[^>]*name="(\w+)"[^>]*checked', page))
    names = {a or b for a, b in ticked}
    assert names == {"saw_someone", "went_outside"}, names
    form = {name: "y" for name in names}
    member_client.post("/me/mood", data={"mood": "6", **form})
    assert mood.entry_for(member, utc_today()).tags == ["saw_someone", "went_outside"]


def test_a_device_clock_far_off_is_explained_on_the_page(member_client) -> None:
    wrong = (utc_today() + timedelta(days=3)).isoformat()
    response = member_client.post("/me/mood", data={"mood": "5", "local_today": wrong})
    assert response.status_code == 422
    assert "check its clock" in response.get_data(as_text=True)


def test_the_form_explains_that_a_second_entry_replaces_the_first(member_client) -> None:
    assert "Logging the same day again replaces that day" in member_client.get("/me/mood").get_data(as_text=True)


def test_a_bad_day_from_the_form_gets_422_and_an_error(member_client) -> None:
    old = (utc_today() - timedelta(days=20)).isoformat()
    response = member_client.post("/me/mood", data={"mood": "5", "day": old})
    assert response.status_code == 422
    assert "up to 7 days back" in response.get_data(as_text=True)


def test_the_chart_is_accessible_svg_with_a_matching_text_summary(member_client, member: User) -> None:
    _log(member, 0, 8, "saw_someone")
    _log(member, 1, 6)
    _log(member, 2, 4)
    _log(member, 5, 2)
    html = member_client.get("/me/mood").get_data(as_text=True)
    for days in (30, 90):
        svg = _chart(html, days)
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert title.text == f"Mood over the last {days} days"
        _entries, summary = mood.window(member, days, utc_today())
        assert desc.text == summary.text
        assert f'data-testid="mood-summary-{days}">{summary.text}' in html.replace("&#34;", '"')
        points = svg.findall(f".//{SVG}circle")
        assert len(points) == 4
        assert len(svg.findall(f".//{SVG}circle[@class='chart-point marked']")) == 1
        # Three consecutive days make one line; the lone day 5 days ago is a dot with no line to invent.
        assert len(svg.findall(f".//{SVG}polyline")) == 1
    assert "4 days" in _chart(html, 30).find(f"{SVG}desc").text


def test_the_chart_escapes_nothing_it_did_not_write(app: Flask) -> None:
    from forum import charts

    svg = charts.daily_line_chart(
        "c", title="<script>x</script>", desc='"quoted" & <b>', start=utc_today(), end=utc_today(), points=[]
    )
    parsed = ElementTree.fromstring(str(svg))  # noqa: S314  (our own SVG)
    assert parsed.find(f"{SVG}title").text == "<script>x</script>"
    assert "<script>" not in str(svg)


def _sent_fields(html: str) -> dict[str, str]:
    """What a browser without scripts sends back from the page's form: each input as it stands."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", html):
        name, value = re.search(r'\bname="([^"]*)"', tag), re.search(r'\bvalue="([^"]*)"', tag)
        if name and ('type="checkbox"' not in tag or re.search(r"\bchecked\b", tag)):
            fields[name[1]] = value[1] if value else ""
    return fields


def test_todays_ticks_sent_for_an_earlier_day_without_a_script_are_asked_about_not_copied(
    member_client, member: User
) -> None:
    member_client.post("/me/mood", data={"mood": "6", "saw_someone": "y"})
    form = _sent_fields(member_client.get("/me/mood").get_data(as_text=True))
    yesterday = utc_today() - timedelta(days=1)

    asked = member_client.post("/me/mood", data={**form, "day": yesterday.isoformat(), "mood": "3"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "filled in from today&#39;s entry, not the day you chose" in html
    assert mood.entry_for(member, yesterday) is None

    confirmed = _sent_fields(html)
    assert confirmed["saw_someone"] == "y", "the ticks stay on the page for the person to check"
    member_client.post("/me/mood", data={**confirmed, "mood": "3"})
    assert mood.entry_for(member, yesterday).tags == ["saw_someone"], "sent again as they are, they are chosen"
