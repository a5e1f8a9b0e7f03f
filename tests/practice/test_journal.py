"""The private journal: only the author reads it, it stays out of moderation and search, crisis shows support."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask_login import AnonymousUserMixin
from sqlalchemy import String, Text, func, inspect, select, text

from forum import permissions
from forum.extensions import db
from forum.models import JournalEntry, ReviewEvent, ReviewItem, ScreeningRecord, User, utcnow
from forum.services import posting
from forum.services.errors import NotAuthenticated, NotFound, ValidationFailed
from forum.services.practice import journal
from forum.services.transaction import write_transaction
from tests.conftest import login
from tests.practice.conftest import CRISIS_TEXT

MARKER = "zebrafinch-quartz-lantern"


def _write(user: User, body: str = f"Saw my sister today. {MARKER}.", **kw: object) -> JournalEntry:
    return journal.write_entry(user, body=body, **kw).entry


def test_an_entry_is_stored_with_its_markdown_rendered_and_sanitised(app: Flask, member: User) -> None:
    entry = _write(member, body="**Felt** brave <script>alert(1)</script>", title="After the call")
    assert entry.body_html.startswith("<p><strong>Felt</strong> brave")
    assert "<script" not in entry.body_html
    assert entry.title == "After the call"
    assert entry.screen_level == "none"


@pytest.mark.parametrize("body", ["", "   ", "x" * 20_001, "nul \x00"])
def test_bad_bodies_are_refused_and_nothing_is_written(app: Flask, member: User, body: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        journal.write_entry(member, body=body)
    assert "body" in caught.value.fields
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 0


def test_a_resubmit_with_the_same_key_returns_the_first_entry_and_its_support(app: Flask, member: User) -> None:
    first = journal.write_entry(member, body=CRISIS_TEXT, idempotency_key="k-1")
    again = journal.write_entry(member, body=CRISIS_TEXT, idempotency_key="k-1")
    assert again.entry.id == first.entry.id
    assert again.screen.level == first.screen.level == "crisis"  # the replay shows the same support panel
    journal.write_entry(member, body=f"{CRISIS_TEXT} Still.", idempotency_key="k-2")  # new words: a new entry
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 2


def test_one_persons_key_does_not_replay_anothers_entry(app: Flask, member: User, other: User) -> None:
    mine = _write(member, idempotency_key="same-key")
    theirs = _write(other, idempotency_key="same-key")
    assert mine.id != theirs.id and theirs.user_id == other.id


def test_writing_needs_a_signed_in_person(app: Flask) -> None:
    with pytest.raises(NotAuthenticated):
        journal.write_entry(AnonymousUserMixin(), body="hello")


def test_only_the_author_passes_the_permission_check(
    app: Flask, member: User, other: User, moderator: User, admin: User
) -> None:
    entry = _write(member)
    assert permissions.can_read_journal(member, entry)
    for reader in (other, moderator, admin, None, AnonymousUserMixin()):
        assert not permissions.can_read_journal(reader, entry)
        assert not permissions.can_edit_journal(reader, entry)
        assert not permissions.can_delete_journal(reader, entry)
        with pytest.raises(NotFound):
            permissions.ensure_can_read_journal(reader, entry)


def test_the_author_reads_their_entry_page(app: Flask, member: User) -> None:
    entry = _write(member)
    client = app.test_client()
    login(client, "sam")
    page = client.get(f"/me/journal/{entry.id}")
    assert page.status_code == 200
    assert MARKER in page.get_data(as_text=True)


@pytest.mark.parametrize("reader", ["river", "mod_maya", "ada_admin", None])
def test_nobody_else_can_open_an_entry_not_even_staff(
    app: Flask, member: User, other: User, moderator: User, admin: User, reader: str | None
) -> None:
    entry = _write(member)
    client = app.test_client()
    if reader:
        login(client, reader)
    for url in (f"/me/journal/{entry.id}", f"/me/journal/{entry.id}/edit"):
        page = client.get(url)
        assert page.status_code == 404
        assert MARKER not in page.get_data(as_text=True)
    assert client.post(f"/me/journal/{entry.id}/delete").status_code == 404
    assert db.session.get(JournalEntry, entry.id) is not None


def test_an_entry_that_does_not_exist_looks_the_same_as_someone_elses(app: Flask, member: User, other: User) -> None:
    entry = _write(member)
    client = app.test_client()
    login(client, "river")
    assert client.get(f"/me/journal/{entry.id}").status_code == client.get("/me/journal/999999").status_code == 404


def test_the_journal_list_shows_only_my_entries(app: Flask, member: User, other: User) -> None:
    _write(member, title="Mine")
    _write(other, title="Theirs", body="their words")
    client = app.test_client()
    login(client, "sam")
    html = client.get("/me/journal").get_data(as_text=True)
    assert "Mine" in html and "Theirs" not in html


def test_writing_through_the_form_redirects_to_the_entry(member_client, app: Flask) -> None:
    response = member_client.post("/me/journal/new", data={"title": "Today", "body": "A *quiet* day."})
    assert response.status_code == 302
    entry = db.session.scalar(select(JournalEntry))
    assert response.headers["Location"].endswith(f"/me/journal/{entry.id}")
    assert "<em>quiet</em>" in member_client.get(response.headers["Location"]).get_data(as_text=True)


def test_an_entry_that_brings_the_support_panel_opens_at_it(member_client, app: Flask) -> None:
    """As a post does: the keyboard's starting point and the screen reader land on the panel (#support)."""
    response = member_client.post("/me/journal/new", data={"title": "Tonight", "body": CRISIS_TEXT})
    entry = db.session.scalar(select(JournalEntry))
    assert response.headers["Location"].endswith(f"/me/journal/{entry.id}#support")
    edited = member_client.post(f"/me/journal/{entry.id}/edit", data={"title": "Tonight", "body": "A quiet day."})
    assert edited.headers["Location"].endswith(f"/me/journal/{entry.id}")


def test_the_forms_key_survives_an_error_and_a_resend_saves_one_entry(member_client) -> None:
    first = member_client.get("/me/journal/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', first)
    assert key is not None
    refused = member_client.post("/me/journal/new", data={"body": "", "idempotency_key": key.group(1)})
    assert refused.status_code == 422 and key.group(1) in refused.get_data(as_text=True)
    for _ in range(2):
        sent = member_client.post("/me/journal/new", data={"body": "Better now.", "idempotency_key": key.group(1)})
        assert sent.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 1


def test_an_empty_entry_through_the_form_gets_422_and_a_field_error(member_client) -> None:
    response = member_client.post("/me/journal/new", data={"title": "x", "body": "   "})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 0


def test_guide_prompts_start_a_new_entry(member_client) -> None:
    html = member_client.get("/me/journal/new?guide=boundaries").get_data(as_text=True)
    assert "What did you say no to?" in html
    assert "How did you feel afterward?" in html


def test_the_author_can_edit_and_delete(app: Flask, member_client, member: User) -> None:
    entry = _write(member)
    assert member_client.post(f"/me/journal/{entry.id}/edit", data={"title": "t", "body": "changed"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(JournalEntry, entry.id).body_md == "changed"
    assert member_client.post(f"/me/journal/{entry.id}/delete").status_code == 302
    assert db.session.get(JournalEntry, entry.id) is None


# --- crisis, moderation and search ----------------------------------------------------------------


def test_a_crisis_entry_keeps_its_screening_on_the_row_only(app: Flask, member: User) -> None:
    outcome = journal.write_entry(member, body=CRISIS_TEXT)
    assert outcome.screen.level == "crisis"
    assert outcome.entry.screen_level == "crisis"
    assert outcome.entry.model_version == outcome.screen.model_version
    assert db.session.scalar(select(func.count()).select_from(ScreeningRecord)) == 0
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)) == 0


def test_a_crisis_entry_shows_the_author_the_support_panel_and_the_choice_at_once(member_client) -> None:
    response = member_client.post("/me/journal/new", data={"body": CRISIS_TEXT}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert 'data-testid="support-panel"' in html
    assert 'data-testid="journal-check-in"' in html
    assert "Ask a moderator to check in with me" in html
    assert db.session.scalar(select(func.count()).select_from(ReviewItem)) == 0


def test_a_calm_entry_shows_no_support_panel(member_client) -> None:
    html = member_client.post("/me/journal/new", data={"body": "Walked to the shop."}, follow_redirects=True)
    assert 'data-testid="support-panel"' not in html.get_data(as_text=True)


def test_asking_for_a_check_in_tells_moderators_without_the_journal_text(
    app: Flask, member_client, member: User
) -> None:
    entry = _write(member, body=f"{CRISIS_TEXT} {MARKER}")
    response = member_client.post("/me/journal/check-in", data={"note": "please message me", "back": entry.id})
    assert response.status_code == 302
    item = db.session.scalar(select(ReviewItem))
    assert item is not None and item.target_type == "user" and item.subject_user_id == member.id
    assert item.priority == "urgent"
    assert item.reasons[0]["kind"] == "journal"
    queue_text = repr(item.reasons) + " ".join(e.note for e in db.session.scalars(select(ReviewEvent)))
    assert "please message me" in queue_text
    assert MARKER not in queue_text and "pills" not in queue_text


def test_a_check_in_request_with_a_long_note_is_sent_with_its_first_thousand_characters(
    app: Flask, member_client, member: User
) -> None:
    """A request for help is never lost to a note's length: it goes, cut, and the person is told."""
    entry = _write(member, body=CRISIS_TEXT)
    note = "please message me " + "x" * 1200
    response = member_client.post("/me/journal/check-in", data={"note": note, "back": entry.id})
    assert response.status_code == 302
    item = db.session.scalar(select(ReviewItem))
    assert item is not None and item.reasons[0]["detail"] == note[:1000]
    page = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A moderator has been asked to check in with you" in page and "first 1,000 characters" in page


def test_saving_the_same_words_again_soon_keeps_one_entry(app: Flask, member: User) -> None:
    """Back to the form after saving, then Save: the page has a new key, and the same words stay one entry.
    Different words, or the same words written again later, are a new entry."""
    first = journal.write_entry(member, title="Tuesday", body="A hard day.", idempotency_key="k1").entry
    again = journal.write_entry(member, title="Tuesday", body="A hard day.", idempotency_key="k2").entry
    assert again.id == first.id
    other = journal.write_entry(member, title="Tuesday", body="A hard day. And then dinner.", idempotency_key="k3")
    assert other.entry.id != first.id
    with write_transaction():
        other.entry.created_at = utcnow() - timedelta(hours=1)
    later = journal.write_entry(member, title="Tuesday", body="A hard day. And then dinner.", idempotency_key="k4")
    assert later.entry.id != other.entry.id


def _text_columns() -> list[tuple[str, str]]:
    columns = []
    for table in db.metadata.sorted_tables:
        if table.name == "journal_entries":
            continue
        columns += [(table.name, c.name) for c in table.columns if isinstance(c.type, String | Text)]
    return columns


def test_journal_text_is_stored_nowhere_but_the_journal(app: Flask, member: User, moderator: User) -> None:
    """Nothing a search index, the review queue or a moderator page reads from can hold the words."""
    _write(member, body=f"{CRISIS_TEXT} {MARKER}", title=f"title {MARKER}")
    journal.request_check_in(member, note="checking in")
    for table, column in _text_columns():
        hits = db.session.scalar(text(f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE :m'), {"m": f"%{MARKER}%"})
        assert hits == 0, f"journal text found in {table}.{column}"
    assert "journal_entries" in inspect(db.engine).get_table_names()


def test_journal_text_never_appears_in_the_moderators_queue_or_item_pages(
    app: Flask, member: User, moderator: User
) -> None:
    _write(member, body=f"{CRISIS_TEXT} {MARKER}")
    journal.request_check_in(member, note="checking in")
    client = app.test_client()
    login(client, "mod_maya")
    item_ids = list(db.session.scalars(select(ReviewItem.id)))
    assert item_ids, "the check-in request should be in the queue"
    for path in ["/moderation/", *(f"/moderation/items/{item_id}" for item_id in item_ids)]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert MARKER not in page.get_data(as_text=True), path
        assert "pills" not in page.get_data(as_text=True), path


def test_journal_text_never_appears_in_search_results(app: Flask, member: User) -> None:
    search = pytest.importorskip("forum.search")
    if not any(rule.rule.startswith(("/search", "/api/v1/search")) for rule in app.url_map.iter_rules()):
        pytest.skip("search is not wired into the app yet (its index is installed with its pages)")
    _write(member, body=f"Thinking about the lantern again. {MARKER}")
    # A public post with the same word proves the search works and still finds only posts.
    board = posting.get_board("grief-and-loss")
    public = posting.create_thread(member, board, title="The old lantern", body="Dad's lantern in the shed.").post
    for viewer in (member, None):
        results = search.search(viewer, "lantern")
        assert [hit.post.id for hit in results.hits] == [public.id]
    client = app.test_client()
    login(client, "sam")
    assert search.search(member, MARKER).hits == []
    for path in ("/search?q=lantern", "/api/v1/search?q=lantern"):
        assert MARKER not in client.get(path).get_data(as_text=True)


def test_a_fields_error_is_tied_to_the_field(member_client) -> None:
    """Read with the field (aria-describedby), not only announced once as an alert."""
    html = member_client.post("/me/journal/new", data={"title": "Today", "body": ""}).get_data(as_text=True)
    box = re.search(r"<textarea[^>]*name=\"body\"[^>]*>", html)
    assert box is not None and 'aria-describedby="body-hint body-error"' in box.group(0)
    assert 'aria-invalid="true"' in box.group(0)
    assert re.search(r'<div id="body-error"><p class="error" role="alert">[^<]+</p></div>', html)


def test_an_edit_opened_before_another_save_is_refused_with_its_words_kept(member_client, member: User) -> None:
    """Two tabs editing one entry: the later save is refused (409), not allowed to wipe the other's paragraph."""
    entry = _write(member, title="Tuesday", body="First words.")
    page = member_client.get(f"/me/journal/{entry.id}/edit").get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="([^"]*)"', page)
    assert seen is not None
    saved = {"title": "Tuesday", "body": "First words.\n\nA second paragraph.", "seen": seen.group(1)}
    assert member_client.post(f"/me/journal/{entry.id}/edit", data=saved).status_code == 302
    stale = member_client.post(
        f"/me/journal/{entry.id}/edit", data={"title": "Tuesday", "body": "Other words.", "seen": seen.group(1)}
    )
    assert stale.status_code == 409
    assert "changed somewhere else" in stale.get_data(as_text=True) and "Other words." in stale.get_data(as_text=True)
    assert journal.get_entry(entry.id).body_md == "First words.\n\nA second paragraph."
