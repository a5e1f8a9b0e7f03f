"""Search: titles and posts, kept in step with writes, visible only as the viewer may see them, safe snippets."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from forum.extensions import db
from forum.models import Block, User
from forum.search import search, seeks_self_harm_method
from forum.services import posting
from forum.services.transaction import write_transaction
from tests.community.helpers import board, reply, thread_by


def _ids(results: Any) -> list[int]:
    return [hit.post.id for hit in results.hits]


def test_a_new_post_is_found_by_a_word_in_its_body(app: Flask, member: User) -> None:
    thread = thread_by(member, title="Evenings are hard", body="The kitchen smells of cardamom and I cry.")
    assert _ids(search(member, "cardamom")) == [thread_opening_id(thread)]


def thread_opening_id(thread: Any) -> int:
    return int(db.session.scalar(text("select id from posts where thread_id = :t and number = 1"), {"t": thread.id}))


def test_a_thread_is_found_by_its_title(app: Flask, member: User) -> None:
    thread = thread_by(member, title="Retiring after thirty years", body="Who am I now?")
    assert _ids(search(None, "retiring")) == [thread_opening_id(thread)]


def test_stemming_finds_other_forms_of_a_word(app: Flask, member: User) -> None:
    thread_by(member, title="Small steps", body="I have been walking every morning.")
    assert len(search(member, "walk").hits) == 1


def test_every_word_must_match(app: Flask, member: User) -> None:
    thread_by(member, title="About dogs", body="My dog sleeps on my feet.")
    thread_by(member, title="About cats", body="My cat sleeps on the radiator.")
    assert len(search(member, "sleeps").hits) == 2
    assert len(search(member, "cat sleeps").hits) == 1


def test_an_edit_updates_the_index_in_the_same_transaction(app: Flask, member: User) -> None:
    thread = thread_by(member, title="A day at a time", body="Today I felt hopeful.")
    post = posting.get_post(thread_opening_id(thread))
    posting.edit_post(member, post, body="Today I felt tired.")
    assert search(member, "hopeful").hits == []
    assert len(search(member, "tired").hits) == 1


def test_a_renamed_thread_is_found_by_its_new_title(app: Flask, member: User) -> None:
    thread = thread_by(member, title="Old name here", body="Body text.")
    with write_transaction():
        thread.title = "Brand new heading"
    assert search(member, "old name").hits == []
    assert len(search(member, "heading").hits) == 1


def test_deleted_and_held_posts_are_not_found_by_others(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread = thread_by(member, title="Long winter", body="Some words here.")
    gone = reply(member, thread, "A reply about lighthouses.")
    posting.delete_post(member, gone)
    held = reply(member, thread, "Another reply about lighthouses.")
    with write_transaction():
        held.visibility = "held"
    assert search(other, "lighthouses").hits == []
    # The author still finds their own held post; nobody finds the deleted one.
    assert _ids(search(member, "lighthouses")) == [held.id]


def test_board_and_author_filters_narrow_the_results(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread_by(member, title="Moving cities", body="Everything is boxes.", slug="role-transitions")
    mine_in_grief = thread_by(member, title="Grief and boxes", body="Her things in boxes.")
    thread_by(other, title="Boxes everywhere", body="Boxes and more boxes.")
    assert len(search(member, "boxes").hits) == 3
    assert len(search(member, "boxes", board=board("grief-and-loss")).hits) == 2
    by_me = search(other, "boxes", author=member, board=board("grief-and-loss"))
    assert _ids(by_me) == [thread_opening_id(mine_in_grief)]


def test_anonymous_posts_never_answer_to_their_authors_name(app: Flask, member: User, make_user: Any) -> None:
    other = make_user("river")
    thread_by(member, title="Something private", body="A secret about violins.", anonymous=True)
    assert len(search(other, "violins").hits) == 1
    assert search(other, "violins", author=member).hits == []


def test_newest_first_orders_by_time(app: Flask, member: User) -> None:
    first = thread_by(member, title="Garden one", body="tomatoes")
    second = thread_by(member, title="Garden two", body="tomatoes")
    assert _ids(search(member, "tomatoes", sort="newest")) == [thread_opening_id(second), thread_opening_id(first)]


def test_relevance_ranks_a_title_match_above_a_passing_mention(app: Flask, member: User) -> None:
    passing = thread_by(member, title="A long day", body="Work, then the bus, then a brief thought of the ocean.")
    titled = thread_by(member, title="The ocean", body="Waves help me breathe.")
    assert _ids(search(member, "ocean", sort="relevant"))[0] == thread_opening_id(titled)
    assert thread_opening_id(passing) in _ids(search(member, "ocean"))


def test_snippets_escape_markup_and_only_add_mark(app: Flask, member: User) -> None:
    thread_by(member, title="Code and feelings", body="I typed `<script>alert(1)</script>` and felt **relief**.")
    hit = search(member, "relief").hits[0]
    html = str(hit.snippet_html)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>relief</mark>" in html


def test_query_syntax_characters_are_searched_as_words_not_operators(app: Flask, member: User) -> None:
    thread_by(member, title="Plain title", body="nothing special")
    for query in ['"', "NEAR(a b)", "title:plain", "*", "a OR", "-(", "'; drop table posts; --"]:
        search(member, query)  # must not raise
    assert len(search(member, "title:plain").hits) == 1


def test_blocked_and_muted_people_are_left_out_but_anonymous_posts_are_not(
    app: Flask, member: User, make_user: Any
) -> None:
    other = make_user("river")
    thread_by(other, title="Rainy walks", body="umbrellas")
    thread_by(other, title="Rainy thoughts", body="umbrellas again", anonymous=True)
    with write_transaction() as session:
        session.add(Block(blocker_id=member.id, blocked_id=other.id, kind="mute"))
    hits = search(member, "umbrellas").hits
    assert [hit.post.is_anonymous for hit in hits] == [True]


def test_a_search_for_self_harm_methods_returns_support_not_posts(app: Flask, member: User) -> None:
    thread_by(member, title="Pills and sleep", body="How many pills should I take to sleep better?")
    for query in ["how many pills to overdose", "lethal dose paracetamol", "painless way to die", "how to kill myself"]:
        results = search(member, query)
        assert results.withheld, query
        assert results.hits == []
        assert results.support is not None and results.support["guides"]


def test_a_search_about_coping_shows_posts_with_the_support_panel(app: Flask, member: User) -> None:
    thread_by(member, title="Coping with suicidal thoughts", body="What helps me on the worst nights.")
    results = search(member, "coping with suicidal thoughts")
    assert not results.withheld
    assert len(results.hits) == 1
    assert results.support is not None


@pytest.mark.parametrize("query", ["depression", "March", "divorce"])
def test_an_everyday_search_on_a_depression_forum_gets_results_without_the_panel(
    app: Flask, member: User, query: str
) -> None:
    thread_by(member, title=f"About {query}", body=f"Some thoughts on {query} this year.")
    results = search(member, query)
    assert len(results.hits) == 1 and results.support is None


def test_the_search_page_shows_highlighted_results(app: Flask, client: Any, member: User) -> None:
    thread_by(member, title="Quiet mornings", body="Coffee on the balcony <b>helps</b>.")
    page = client.get("/search?q=balcony")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<mark>balcony</mark>" in body
    assert "<b>helps</b>" not in body


def test_the_search_page_withholds_posts_for_method_queries(app: Flask, client: Any, member: User) -> None:
    thread_by(member, title="Overdose worries", body="lethal dose questions")
    body = client.get("/search?q=lethal+dose").get_data(as_text=True)
    assert 'data-testid="search-withheld"' in body
    assert 'data-testid="support-panel"' in body
    assert "Overdose worries" not in body


def test_a_search_with_no_word_in_it_says_search_reads_words(app: Flask, client: Any, member: User) -> None:
    thread_by(member, title="Small win today", body="Went for a walk 💙 !!")
    results = search(member, "💙 !!")
    assert results.no_words and results.hits == []
    body = client.get("/search?q=%F0%9F%92%99").get_data(as_text=True)
    assert 'data-testid="search-no-words"' in body
    assert "Nothing found" not in body
    # A word next to the emoji is searched as usual, and the note is not shown.
    assert len(search(member, "walk 💙").hits) == 1
    assert not search(member, "walk 💙").no_words


def test_the_api_says_when_a_search_has_no_word(app: Flask, client: Any) -> None:
    answer = client.get("/api/v1/search?q=%E2%9D%A4%EF%B8%8F")
    assert answer.status_code == 200
    assert answer.json["no_words"] is True and answer.json["hits"] == []
    assert client.get("/api/v1/search?q=kettle").json["no_words"] is False


def test_private_journal_text_is_never_searchable(app: Flask, member: User) -> None:
    from forum.services.practice import journal

    entry_text = "My private journal mentions zanzibar and nobody may find it."
    journal.write_entry(member, body=entry_text)
    thread_by(member, title="Public words", body="nothing about islands")
    assert search(member, "zanzibar").hits == []


METHOD_QUERIES = [
    "how many pills to overdose",
    "lethal dose paracetamol",
    "how much paracetamol is lethal",
    "painless way to die",
    "easiest way to commit suicide",
    "suicide methods",
    "how do i cut deeper",
    "how to tie a noose",
]
HELP_QUERIES = [
    "surviving suicide loss",
    "how do you cope after a suicide attempt",
    "how many pills of sertraline do you take",
    "my brother died of an overdose",
    "how to stop self harm urges",
    "suicide prevention",
    "how to help a friend who wants to die",
]


@pytest.mark.parametrize("query", METHOD_QUERIES)
def test_method_seeking_queries_are_recognised(query: str) -> None:
    assert seeks_self_harm_method(query)


@pytest.mark.parametrize("query", HELP_QUERIES)
def test_queries_looking_for_help_or_company_still_find_posts(query: str) -> None:
    assert not seeks_self_harm_method(query)
