"""The relapse-prevention plan: written calmly, shown in the support panel when the person's writing is in crisis."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from forum.models import RelapsePlan, User
from forum.services import posting
from forum.services.errors import ValidationFailed
from forum.services.practice import plan
from forum.support import resources_for
from tests.conftest import login
from tests.practice.conftest import CRISIS_TEXT

PLAN = {
    "warning_signs": "Not answering messages\nSleeping past noon",
    "triggers": "Arguments with my brother",
    "what_helps": "A walk with the dog",
    "people": "Jo: 07700 900123",
    "professionals": "Dr Patel, surgery 01632 960000",
    "crisis_lines": "Samaritans: 116 123",
}


def test_saving_twice_keeps_one_plan_with_the_latest_words(app: Flask, member: User) -> None:
    plan.save_plan(member, **PLAN)
    saved = plan.save_plan(member, **{**PLAN, "what_helps": "Calling Jo"})
    assert saved.what_helps == "Calling Jo"
    assert plan.lines(saved, "warning_signs") == ["Not answering messages", "Sleeping past noon"]
    assert app.extensions["sqlalchemy"].session.query(RelapsePlan).count() == 1


def test_a_field_that_is_too_long_is_refused(app: Flask, member: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        plan.save_plan(member, **{**PLAN, "people": "x" * 2001})
    assert "people" in caught.value.fields


def test_the_plan_page_prefills_the_regions_crisis_lines(member_client, app: Flask) -> None:
    html = member_client.get("/me/plan").get_data(as_text=True)
    for resource in resources_for(app.config["SUPPORT_REGION"]):
        assert resource["name"] in html


def test_crisis_lines_someone_cleared_stay_cleared_on_the_page(member_client, app: Flask, member: User) -> None:
    """The region's lines start a new plan only: refilled on a saved plan, the page would show lines the plan
    (and the support panel) does not have, and the next save would put them back unasked."""
    member_client.post("/me/plan", data={**PLAN, "crisis_lines": ""})
    assert plan.get_plan(member).crisis_lines == ""
    html = member_client.get("/me/plan").get_data(as_text=True)
    first = resources_for(app.config["SUPPORT_REGION"])[0]["name"]
    assert first not in html


def test_the_plan_page_saves_through_the_form(member_client, member: User) -> None:
    response = member_client.post("/me/plan", data=PLAN)
    assert response.status_code == 302
    assert plan.get_plan(member).triggers == "Arguments with my brother"
    assert "Arguments with my brother" in member_client.get("/me/plan").get_data(as_text=True)


def _crisis_thread(client) -> str:
    response = client.post(
        "/b/grief-and-loss/new", data={"title": "I can't go on", "body": CRISIS_TEXT}, follow_redirects=True
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_plan_appears_in_the_support_panel_after_a_crisis_post(member_client, member: User) -> None:
    plan.save_plan(member, **PLAN)
    html = _crisis_thread(member_client)
    assert 'data-testid="support-panel"' in html
    assert 'data-testid="relapse-plan-in-panel"' in html
    assert "Sleeping past noon" in html and "Jo: 07700 900123" in html


def test_no_plan_section_when_the_person_has_none(member_client) -> None:
    html = _crisis_thread(member_client)
    assert 'data-testid="support-panel"' in html
    assert 'data-testid="relapse-plan-in-panel"' not in html


def test_the_plan_appears_after_a_crisis_journal_entry(member_client, member: User) -> None:
    plan.save_plan(member, **PLAN)
    html = member_client.post("/me/journal/new", data={"body": CRISIS_TEXT}, follow_redirects=True)
    assert "Sleeping past noon" in html.get_data(as_text=True)


def test_a_calm_post_shows_no_plan(member_client, member: User) -> None:
    plan.save_plan(member, **PLAN)
    html = member_client.post(
        "/b/grief-and-loss/new", data={"title": "Recipes", "body": "Found mum's recipe book."}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Sleeping past noon" not in html


def test_nobody_else_sees_my_plan_even_on_my_crisis_thread(app: Flask, member: User, other: User) -> None:
    plan.save_plan(member, **PLAN)
    outcome = posting.create_thread(
        member, posting.get_board("grief-and-loss"), title="I can't go on", body=CRISIS_TEXT
    )
    client = app.test_client()
    login(client, "river")
    html = client.get(f"/t/{outcome.thread.id}").get_data(as_text=True)
    assert "Sleeping past noon" not in html
    assert plan.get_plan(other) is None
    assert not plan.has_content(plan.get_plan(None))


def test_plan_text_is_escaped_not_rendered(member_client, member: User) -> None:
    plan.save_plan(member, **{**PLAN, "what_helps": "<script>alert(1)</script>"})
    html = _crisis_thread(member_client)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_save_from_a_page_opened_before_another_save_is_refused_with_the_words_kept(
    member_client, member: User
) -> None:
    """Two tabs: the second save no longer silently empties what the first just wrote. It is refused (409) with
    its words in their boxes, and saving again from that page replaces the other version knowingly."""
    first_tab = member_client.get("/me/plan").get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="([^"]*)"', first_tab)
    assert seen is not None
    member_client.post("/me/plan", data={**PLAN, "what_helps": "A walk by the river", "seen": seen.group(1)})
    stale = member_client.post("/me/plan", data={**PLAN, "what_helps": "", "seen": seen.group(1)})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "changed somewhere else" in html and "Arguments with my brother" in html
    assert plan.get_plan(member).what_helps == "A walk by the river"
    newer = re.search(r'name="seen" type="hidden" value="([^"]*)"', html)
    assert newer is not None and newer.group(1) != seen.group(1)
    again = member_client.post("/me/plan", data={**PLAN, "what_helps": "", "seen": newer.group(1)})
    assert again.status_code == 302 and plan.get_plan(member).what_helps == ""
