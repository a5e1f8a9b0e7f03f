"""Thread and board pages keep rendered posts and rows between requests (forum/post_views.py, boards.py).

What is kept must follow every write at once, and must never show one person's view of a post to another.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from forum import queries
from forum.extensions import db
from forum.models import Post, Thread, User
from forum.services import accounts, moderation_actions, notifications, posting, social
from forum.services import moderator_messages as messages
from tests.community.helpers import reply, thread_by
from tests.conftest import login
from tests.moderation_queue.helpers import CONCERN_TEXT, CRISIS_TEXT, item_for, start_thread


def _client(app: Flask, user: User | None = None) -> FlaskClient:
    client = app.test_client()
    if user is not None:
        assert login(client, user.username).status_code == 302
    return client


def _page(client: FlaskClient, thread: Thread) -> str:
    response = client.get(f"/t/{thread.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post(page: str, post: Post) -> str:
    """The HTML of one post on a thread page."""
    start = page.index(f'id="p{post.id}"')
    end = page.find('<li class="post', start)
    return page[start : end if end != -1 else page.index("</ol>", start)]


def test_an_edit_shows_on_the_next_view(app: Flask, member: User) -> None:
    thread = thread_by(member, body="The first words.")
    author = _client(app, member)
    assert "The first words." in _page(author, thread)
    posting.edit_post(member, posting.get_post(_opening(thread).id), body="Better words now.")
    page = _page(author, thread)
    assert "Better words now." in page and "The first words." not in page and "(edited)" in page


def test_deleting_and_hiding_show_on_the_next_view(app: Flask, member: User, moderator: User, make_user: Any) -> None:
    river = make_user("river")
    thread = thread_by(member)
    deleted = reply(river, thread, "I said too much.")
    hidden = start_thread(river, CONCERN_TEXT)
    reader, mod = _client(app, member), _client(app, moderator)
    assert "I said too much." in _post(_page(reader, thread), deleted)
    hidden_thread = posting.get_thread(hidden.thread_id)
    assert "burden" in _post(_page(reader, hidden_thread), hidden)

    posting.delete_post(river, posting.get_post(deleted.id))
    moderation_actions.act(moderator, item_for(hidden).id, action="hide", version=item_for(hidden).version)

    assert "This post was deleted." in _post(_page(reader, thread), deleted)
    assert "I said too much." not in _page(reader, thread)
    assert "burden" not in _page(reader, hidden_thread)
    as_moderator = _post(_page(mod, hidden_thread), hidden)
    assert "Hidden by a moderator." in as_moderator and "burden" in as_moderator


def test_reactions_and_bookmarks_show_at_once_and_only_to_their_owner(app: Flask, member: User, make_user: Any) -> None:
    river, wren = make_user("river"), make_user("wren")
    post = reply(river, thread_by(member), "Small steps today.")
    thread = posting.get_thread(post.thread_id)
    mine, theirs = _client(app, member), _client(app, wren)
    for client in (mine, theirs):
        shown = _post(_page(client, thread), post)
        assert "reaction-count" not in shown and "Remove bookmark" not in shown

    social.set_reaction(wren, posting.get_post(post.id), "hug", True)
    hug = r'aria-pressed="{}" data-kind="hug">Hug <span class="reaction-count">1</span>'
    assert re.search(hug.format("false"), _post(_page(mine, thread), post))
    assert re.search(hug.format("true"), _post(_page(theirs, thread), post))

    social.set_bookmark(member, posting.get_post(post.id), True)
    assert "Remove bookmark" in _post(_page(mine, thread), post)
    assert "Remove bookmark" not in _post(_page(theirs, thread), post)


def test_a_page_seen_before_is_answered_from_rows_until_something_on_it_changes(
    app: Flask, member: User, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    river = make_user("river")
    post = reply(river, thread_by(member), "Small steps today.")
    thread = posting.get_thread(post.thread_id)
    loads: list[list[int]] = []
    load_posts = queries.page_posts
    monkeypatch.setattr(queries, "page_posts", lambda thread, ids: loads.append(ids) or load_posts(thread, ids))
    reader = _client(app, member)
    assert "Small steps today." in _post(_page(reader, thread), post)
    assert len(loads) == 1  # worked out from the posts as objects, for the permission rules
    assert "Small steps today." in _post(_page(reader, thread), post)
    assert len(loads) == 1  # the rows' key found what the objects' key kept

    social.set_reaction(river, posting.get_post(post.id), "hug", True)
    assert 'Hug <span class="reaction-count">1</span>' in _post(_page(reader, thread), post)
    assert len(loads) == 2


def test_ones_own_reaction_shows_even_when_the_count_stays_the_same(app: Flask, member: User, make_user: Any) -> None:
    river, wren = make_user("river"), make_user("wren")
    post = reply(river, thread_by(member), "Small steps today.")
    thread = posting.get_thread(post.thread_id)
    mine = _client(app, member)
    social.set_reaction(wren, posting.get_post(post.id), "hug", True)
    assert 'aria-pressed="false" data-kind="hug">Hug <span class="reaction-count">1<' in _page(mine, thread)
    social.set_reaction(wren, posting.get_post(post.id), "hug", False)
    social.set_reaction(member, posting.get_post(post.id), "hug", True)
    assert 'aria-pressed="true" data-kind="hug">Hug <span class="reaction-count">1<' in _page(mine, thread)


def test_edit_and_delete_are_offered_only_on_ones_own_posts(app: Flask, member: User, make_user: Any) -> None:
    river = make_user("river")
    post = reply(member, thread_by(river), "Mine.")
    thread = posting.get_thread(post.thread_id)
    for viewer, own in [(member, True), (river, False), (None, False), (member, True)]:
        shown = _post(_page(_client(app, viewer), thread), post)
        assert ("Edit</a>" in shown) is own and ("Delete this post?" in shown) is own
        assert ('/report">Report</a>' in shown) is (viewer is river)
        assert ("<form" in shown) is (viewer is not None)


def test_an_anonymous_post_names_its_author_only_to_them(
    app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(river, slug="role-transitions")
    post = reply(member, thread, "Quietly, me too.", anonymous=True)
    for viewer, name, reveal in [(member, "sam", False), (river, "a member", False), (moderator, "a member", True)]:
        shown = _post(_page(_client(app, viewer), thread), post)
        assert re.search(rf'<strong class="author">(<a [^>]*>)?{name}<', shown), (viewer.username, shown)
        assert ("Reveal author" in shown) is reveal


def test_a_held_post_stays_with_its_author_and_the_moderators(
    app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    app.config["CRISIS_POLICY"] = "hold"
    river = make_user("river")
    thread = thread_by(river)
    post = reply(member, thread, CRISIS_TEXT)
    assert "pills" in _post(_page(_client(app, member), thread), post)
    assert "pills" not in _page(_client(app, river), thread)
    assert "pills" not in _page(_client(app, None), thread)
    assert "pills" in _post(_page(_client(app, moderator), thread), post)


def test_a_lock_and_a_new_role_show_on_the_next_view(app: Flask, member: User, moderator: User, make_user: Any) -> None:
    river = make_user("river")
    thread = thread_by(river)
    post = reply(member, thread, CONCERN_TEXT)
    author = _client(app, member)
    shown = _post(_page(author, thread), post)
    assert "Edit</a>" in shown and "Quote</a>" in shown and 'class="badge risk-' not in shown

    posting.set_locked(moderator, posting.get_thread(thread.id), True)
    shown = _post(_page(author, thread), post)
    assert "Edit</a>" not in shown and "Quote</a>" not in shown

    accounts.set_role(member, "moderator")
    shown = _post(_page(author, thread), post)
    assert 'class="badge risk-concern"' in shown and "Edit</a>" in shown


def test_blocking_hides_posts_on_the_next_view_both_ways(app: Flask, member: User, make_user: Any) -> None:
    river, wren = make_user("river"), make_user("wren")
    thread = thread_by(wren)
    post = reply(river, thread, "Something river wrote.")
    mine, theirs = _client(app, member), _client(app, river)
    own = reply(member, thread, "Something sam wrote.")
    assert "Something river wrote." in _page(mine, thread) and "Something sam wrote." in _page(theirs, thread)

    social.set_block(member, _user(river.id), "block")

    assert "Hidden because you blocked this person." in _post(_page(mine, thread), post)
    assert "Something river wrote." not in _page(mine, thread)
    assert "This post isn&#39;t shown to you." in _post(_page(theirs, thread), own)
    assert "Something river wrote." in _page(_client(app, wren), thread)


def test_every_form_in_kept_posts_carries_the_viewers_own_csrf_token(app: Flask, member: User, make_user: Any) -> None:
    river = make_user("river")
    thread = thread_by(river)
    reply(member, thread, "First.")
    reply(river, thread, "Second.")
    tokens = []
    for viewer in (member, river, member):
        g.pop("csrf_token", None)  # Flask-WTF keeps it in g, which these tests share between requests
        page = _page(_client(app, viewer), thread)
        meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        in_forms = set(re.findall(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page))
        assert in_forms == {meta}
        tokens.append(meta)
    assert len(set(tokens)) == 3  # three sessions, three tokens


def test_board_rows_follow_replies_pins_and_locks(
    app: Flask, member: User, moderator: User, client: FlaskClient
) -> None:
    thread = thread_by(member, title="Missing my mum")
    row = _row(client.get("/b/grief-and-loss").get_data(as_text=True), thread)
    assert "1 post &middot;" in row and "Pinned" not in row
    reply(member, thread, "Still here.")
    posting.set_pinned(moderator, posting.get_thread(thread.id), True)
    posting.set_locked(moderator, posting.get_thread(thread.id), True)
    row = _row(client.get("/b/grief-and-loss").get_data(as_text=True), thread)
    assert "2 posts &middot;" in row and "Pinned" in row and "Locked" in row


def test_a_held_thread_is_listed_only_for_its_author_and_moderators(
    app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    app.config["CRISIS_POLICY"] = "hold"
    river = make_user("river")
    held = posting.get_thread(start_thread(member, CRISIS_TEXT, title="A hard night").thread_id)
    for viewer, listed in [(member, True), (river, False), (None, False), (moderator, True)]:
        board = _client(app, viewer).get("/b/grief-and-loss").get_data(as_text=True)
        assert (f'href="/t/{held.id}"' in board) is listed


def test_guests_reading_boards_and_threads_get_no_session_cookie(app: Flask, member: User) -> None:
    thread = thread_by(member)
    app.config["WTF_CSRF_ENABLED"] = True
    guest = app.test_client()
    for path in ["/", "/b/grief-and-loss", f"/t/{thread.id}"]:
        response = guest.get(path)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers, path
        assert 'name="csrf-token"' not in response.get_data(as_text=True)
    login_page = guest.get("/login")
    assert "Set-Cookie" in login_page.headers and 'name="csrf-token"' in login_page.get_data(as_text=True)


def test_links_follow_the_script_root(app: Flask, member: User) -> None:
    thread = thread_by(member)
    client = app.test_client()
    plain = client.get(f"/t/{thread.id}").get_data(as_text=True)
    mounted = client.get(f"/t/{thread.id}", base_url="http://localhost/forum/").get_data(as_text=True)
    assert 'href="/b/grief-and-loss"' in plain and 'href="/forum/b/grief-and-loss"' in mounted
    assert 'href="/forum/login' in mounted and 'href="/login' not in mounted
    assert 'href="/forum/login' not in client.get(f"/t/{thread.id}").get_data(as_text=True)


def test_the_menu_badges_count_unread_messages_and_notifications(
    app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member)
    reply(river, thread, "I hear you.")
    post = start_thread(member, CONCERN_TEXT)
    moderation_actions.act(moderator, item_for(post).id, action="reach_out", version=item_for(post).version)
    page = _page(_client(app, member), thread)
    unread_messages, unread_notifications = messages.unread_count(member), notifications.unread_count(member)
    assert unread_messages == 1 and unread_notifications >= 1
    assert f'{unread_messages}<span class="visually-hidden"> unread</span>' in page
    assert re.search(rf"data-unread-count>{unread_notifications}</span>", page)


def _opening(thread: Thread) -> Post:
    first = db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.number == 1))
    assert first is not None
    return first


def _user(user_id: int) -> User:
    found = db.session.get(User, user_id)
    assert found is not None
    return found


def _row(board_page: str, thread: Thread) -> str:
    start = board_page.index(f'href="/t/{thread.id}"')
    return board_page[start : board_page.index("</li>", start)]


def test_a_quote_link_starts_the_reply_with_the_quoted_post(app: Flask, member: User, make_user: Any) -> None:
    river = make_user("river")
    thread = thread_by(river, body="It gets <softer> with time.")
    other = thread_by(river, title="Another thread here")
    opening, elsewhere = _opening(thread), _opening(other)
    client = _client(app, member)
    page = client.get(f"/t/{thread.id}?quote={opening.id}").get_data(as_text=True)
    assert "**river** wrote:\n\n&gt; It gets &lt;softer&gt; with time." in page
    assert f'name="reply_to" type="hidden" value="{opening.id}"' in page
    for fresh in (f"/t/{thread.id}", f"/t/{thread.id}?quote={elsewhere.id}"):
        page = client.get(fresh).get_data(as_text=True)
        assert "wrote:" not in page and 'name="reply_to" type="hidden" value=""' in page


def test_a_quote_keeps_the_quoted_posts_content_note_and_never_quotes_a_hidden_author(
    app: Flask, member: User, make_user: Any
) -> None:
    river, wren = make_user("river"), make_user("wren")
    thread = thread_by(river)
    noted = posting.create_reply(river, thread, body="The day she died.", content_note="talks about a death").post
    blocked = posting.create_reply(wren, thread, body="words of someone blocked").post
    social.set_block(member, wren, "block")
    client = _client(app, member)

    page = client.get(f"/t/{thread.id}?quote={noted.id}").get_data(as_text=True)
    assert 'name="content_note" type="text" value="talks about a death"' in page

    page = client.get(f"/t/{thread.id}?quote={blocked.id}").get_data(as_text=True)
    assert "words of someone blocked" not in page and 'name="reply_to" type="hidden" value=""' in page


def test_a_refused_reply_comes_back_with_its_error_and_a_fresh_form_without(app: Flask, member: User) -> None:
    thread = thread_by(member)
    client = _client(app, member)
    refused = client.post(f"/t/{thread.id}/reply", data={"body": " ", "content_note": "kept note"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'class="error"' in page and 'value="kept note"' in page
    fresh = _page(client, thread)
    assert 'class="error"' not in fresh and "kept note" not in fresh
    keys = {
        re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', _page(client, thread)).group(1)  # type: ignore[union-attr]
        for _ in range(3)
    }
    assert len(keys) == 3  # a new key for every fresh form


def test_the_header_names_each_viewer_and_follows_their_badges_and_role(
    app: Flask, member: User, moderator: User, make_user: Any
) -> None:
    river = make_user("river")
    thread = thread_by(member)
    sam, rivers, maya = _client(app, member), _client(app, river), _client(app, moderator)
    for client, name, staff in [(sam, "sam", False), (rivers, "river", False), (maya, "mod_maya", True)]:
        header = _header(_page(client, thread))
        assert f"<strong>{name}</strong>" in header and ("Moderation</a>" in header) is staff
    assert "data-unread-count hidden>0<" in _header(_page(sam, thread))

    reply(river, thread, "I hear you.")
    assert re.search(r"data-unread-count>[1-9]\d*<", _header(_page(sam, thread)))
    notifications.mark_read(member)
    assert "data-unread-count hidden>0<" in _header(_page(sam, thread))

    accounts.set_role(_user(moderator.id), "member")
    assert "Moderation</a>" not in _header(_page(maya, thread))
    assert "Sign in</a>" in _header(_page(_client(app, None), thread))


def _header(page: str) -> str:
    return page[page.index('<header class="site-header"') : page.index("</header>")]


def test_follow_and_mute_buttons_show_each_viewers_own_choice(app: Flask, member: User, make_user: Any) -> None:
    river = make_user("river")
    thread = thread_by(river)
    mine, theirs = _client(app, member), _client(app, river)
    for client in (mine, theirs):
        assert _pressed(_page(client, thread)) == set()
    social.set_thread_watch(member, posting.get_thread(thread.id), "follow")
    assert _pressed(_page(mine, thread)) == {"Following"} and _pressed(_page(theirs, thread)) == set()
    social.set_thread_watch(member, posting.get_thread(thread.id), "mute")
    assert _pressed(_page(mine, thread)) == {"Muted"}
    paged = mine.get(f"/t/{thread.id}?page=1").get_data(as_text=True)
    assert f'name="next" value="/t/{thread.id}?page=1"' in paged
    assert 'class="watch-actions"' not in _page(_client(app, None), thread)


def _pressed(page: str) -> set[str]:
    watch = page[page.index('class="watch-actions"') : page.index("</div>", page.index('class="watch-actions"'))]
    return set(re.findall(r'aria-pressed="true">([^<]+)<', watch))


def test_kept_html_is_ascii_so_a_page_of_any_text_is_sent_as_written(app: Flask, member: User) -> None:
    """A curly quote or an emoji in a post is written as a character reference: the page reads the same
    in a browser, and a page that is all ASCII is encoded for the response by copying it."""
    words = "It\u2019s been a year \U0001f642 \u2014 caf\u00e9 \u201cquiet\u201d"
    thread = thread_by(member, body=words)
    reply(member, thread, "Still here \u2764\ufe0f")
    response = _client(app, member).get(f"/t/{thread.id}")
    assert response.status_code == 200
    assert response.data.isascii(), "a page of ASCII words and references"
    shown = html.unescape(response.get_data(as_text=True))
    assert words in shown and "Still here \u2764\ufe0f" in shown
    assert "Reply as \u201ca member\u201d" in shown  # the kept reply form's label too
