"""Rate limits per address and per account: login, register, posting; 429 with Retry-After; no address kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum import ratelimits
from forum.models import User, utcnow
from forum.services import accounts, chat
from forum.services.errors import RateLimited
from forum.services.transaction import write_transaction
from tests.conftest import bearer

PASSWORD = "correct horse battery"


def _from(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def _login(client: FlaskClient, username: str, password: str, address: str = "198.51.100.1") -> Any:
    return client.post("/login", data={"username": username, "password": password}, **_from(address))


def _token(client: FlaskClient, username: str, address: str = "198.51.100.1") -> str:
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD}, **_from(address))
    assert response.status_code == 201, response.json
    return str(response.json["token"])


def _reply(client: FlaskClient, token: str, thread_id: int, n: int, address: str = "198.51.100.1") -> Any:
    return client.post(
        f"/api/v1/threads/{thread_id}/posts",
        json={"body": f"Thanks for sharing this, note {n}."},
        headers=bearer(token),
        **_from(address),
    )


def _thread_id(client: FlaskClient, token: str) -> int:
    response = client.post(
        "/api/v1/boards/small-wins/threads",
        json={"title": "A small win today", "body": "I went for a walk."},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.json
    return int(response.json["thread"]["id"])


def _age(user: User, days: int) -> None:
    with write_transaction():
        user.created_at = utcnow() - timedelta(days=days)


def _assert_limited_html(response: Any) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.mimetype == "text/html"
    assert "try again" in response.get_data(as_text=True)


def _assert_limited_json(response: Any) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json["error"]
    assert error["code"] == "rate_limited"
    assert error["retry_after"] == int(response.headers["Retry-After"])


def test_login_attempts_are_limited_per_address_with_a_retry_after_page(
    client: FlaskClient, member: User, limits_on: Any
) -> None:
    limits_on(login={"per_address": "3/minute", "per_account": "100/hour"})
    for _ in range(3):
        assert _login(client, "sam", "not the password").status_code == 401
    _assert_limited_html(_login(client, "sam", PASSWORD))
    # Another address is not punished for the first one.
    assert _login(client, "sam", PASSWORD, address="198.51.100.2").status_code == 302


def test_failed_logins_against_one_pseudonym_are_limited_across_addresses(
    client: FlaskClient, member: User, limits_on: Any
) -> None:
    limits_on(login={"per_address": "100/minute", "per_account": "4/hour"})
    for n in range(4):
        assert _login(client, "sam", f"guess number {n}", address=f"203.0.113.{n}").status_code == 401
    _assert_limited_html(_login(client, "sam", PASSWORD, address="203.0.113.99"))
    # Other people's sign-in is untouched, and successes never count towards the limit.
    accounts.register("river", PASSWORD)
    for _ in range(6):
        assert _login(client, "river", PASSWORD).status_code == 302
        client.post("/logout")


def test_token_requests_share_the_login_limits_and_answer_json(
    client: FlaskClient, member: User, limits_on: Any
) -> None:
    limits_on(login={"per_address": "2/minute"})
    _login(client, "sam", "not the password")
    client.post("/api/v1/tokens", json={"username": "sam", "password": "nope nope nope"}, **_from("198.51.100.1"))
    response = client.post("/api/v1/tokens", json={"username": "sam", "password": PASSWORD}, **_from("198.51.100.1"))
    _assert_limited_json(response)


def test_registration_is_limited_per_address(client: FlaskClient, limits_on: Any) -> None:
    limits_on(register={"per_address": "2/hour"})
    for n in range(2):
        response = client.post("/api/v1/users", json={"username": f"person{n}", "password": PASSWORD})
        assert response.status_code == 201
    _assert_limited_json(client.post("/api/v1/users", json={"username": "person9", "password": PASSWORD}))
    _assert_limited_html(client.post("/register", data={"username": "person8", "password": PASSWORD}))


def test_posting_is_limited_per_account_across_addresses(client: FlaskClient, member: User, limits_on: Any) -> None:
    _age(member, days=30)
    token = _token(client, "sam")
    thread_id = _thread_id(client, token)
    limits_on(post={"per_account": "3/minute", "per_address": "100/minute"})
    for n in range(3):
        assert _reply(client, token, thread_id, n, address=f"203.0.113.{n}").status_code == 201
    _assert_limited_json(_reply(client, token, thread_id, 9, address="203.0.113.50"))


def test_posting_is_limited_per_address_across_accounts(client: FlaskClient, make_user: Any, limits_on: Any) -> None:
    tokens = []
    for name in ("sam", "river", "ash", "kit"):
        _age(make_user(name), days=30)
        tokens.append(_token(client, name))
    thread_id = _thread_id(client, tokens[0])
    limits_on(post={"per_account": "100/minute", "per_address": "3/minute"})
    for n, token in enumerate(tokens[:3]):
        assert _reply(client, token, thread_id, n).status_code == 201
    _assert_limited_json(_reply(client, tokens[3], thread_id, 3))
    assert _reply(client, tokens[3], thread_id, 4, address="198.51.100.77").status_code == 201


def test_forms_and_the_api_draw_from_the_same_posting_bucket(client: FlaskClient, member: User, limits_on: Any) -> None:
    _age(member, days=30)
    token = _token(client, "sam")
    thread_id = _thread_id(client, token)
    _login(client, "sam", PASSWORD)
    limits_on(post={"per_account": "2/minute"})
    assert client.post(f"/t/{thread_id}/reply", data={"body": "From the form."}).status_code == 302
    assert _reply(client, token, thread_id, 1).status_code == 201
    _assert_limited_html(client.post(f"/t/{thread_id}/reply", data={"body": "Once more from the form."}))


def test_new_accounts_are_stricter_on_their_first_day(
    app: Flask, client: FlaskClient, make_user: Any, limits_on: Any
) -> None:
    make_user("newcomer")
    regular = make_user("regular")
    _age(regular, days=2)
    newcomer_token, regular_token = _token(client, "newcomer"), _token(client, "regular")
    thread_id = _thread_id(client, regular_token)
    limits_on(post={"per_account": "4/minute", "first_day": "2/minute", "per_address": None})

    assert [_reply(client, newcomer_token, thread_id, n).status_code for n in range(3)] == [201, 201, 429]
    assert [_reply(client, regular_token, thread_id, n).status_code for n in range(5)] == [201] * 4 + [429]


def test_a_newcomer_fixing_a_refused_form_is_not_counted_as_writing_a_lot(
    client: FlaskClient, make_user: Any, limits_on: Any
) -> None:
    """Only accepted writes count: two refusals for bad input (API and form) leave a first-day limit of two
    threads whole, and the third accepted one is refused."""
    make_user("newcomer")
    token = _token(client, "newcomer")
    limits_on(thread={"first_day": "2/minute", "per_address": None})
    untitled = {"title": "", "body": "I went for a walk."}
    assert client.post("/api/v1/boards/small-wins/threads", json=untitled, headers=bearer(token)).status_code == 422
    client.post("/login", data={"username": "newcomer", "password": PASSWORD})
    assert client.post("/b/small-wins/new", data={"title": "", "body": "I went for a walk."}).status_code == 422
    titled = {"title": "A small win today", "body": "I went for a walk."}
    statuses = [client.post("/api/v1/boards/small-wins/threads", json=titled, headers=bearer(token)).status_code
                for _ in range(3)]  # fmt: skip
    assert statuses == [201, 201, 429]


def test_refused_registrations_still_count_so_nobody_can_test_pseudonyms_freely(
    client: FlaskClient, make_user: Any, limits_on: Any
) -> None:
    make_user("taken_name")
    limits_on(register={"per_address": "2/hour"})
    for _ in range(2):
        response = client.post("/api/v1/users", json={"username": "taken_name", "password": PASSWORD})
        assert response.status_code in (409, 422)
    _assert_limited_json(client.post("/api/v1/users", json={"username": "taken_name", "password": PASSWORD}))


def test_the_first_day_is_configurable(app: Flask, client: FlaskClient, make_user: Any, limits_on: Any) -> None:
    make_user("newcomer")
    token = _token(client, "newcomer")
    thread_id = _thread_id(client, token)
    limits_on(post={"per_account": "3/minute", "first_day": "1/minute", "per_address": None})
    app.config["RATELIMIT_NEW_ACCOUNT_HOURS"] = 0
    assert [_reply(client, token, thread_id, n).status_code for n in range(4)] == [201, 201, 201, 429]


def test_rate_limit_buckets_never_hold_an_address_in_clear(client: FlaskClient, member: User, limits_on: Any) -> None:
    _login(client, "sam", "not the password", address="203.0.113.77")
    storage = ratelimits.buckets().storage
    keys = " ".join(storage.events)  # type: ignore[attr-defined]
    assert keys, "the attempt was counted"
    assert "203.0.113.77" not in keys and "203.0.113" not in keys
    assert ratelimits.address_key("203.0.113.77") in keys


def test_the_address_key_is_a_keyed_hash_that_changes_with_the_secret(app: Flask) -> None:
    first = ratelimits.address_key("203.0.113.77")
    assert first.startswith("addr:") and "203" not in first
    app.config["RATELIMIT_ADDRESS_SECRET"] = "another deployment"
    assert ratelimits.address_key("203.0.113.77") != first


def test_reports_are_limited_per_account_with_a_json_retry_after(
    client: FlaskClient, make_user: Any, limits_on: Any
) -> None:
    from forum.services import posting

    author, reporter = make_user("author"), make_user("reporter")
    _age(reporter, days=30)
    thread = posting.create_thread(author, posting.get_board("small-wins"), title="Posts to report", body="One.")
    posts = [posting.create_reply(author, thread.thread, body=f"Reply {n}.").post.id for n in range(3)]
    token = _token(client, "reporter")
    limits_on(report={"per_account": "2/hour", "per_address": None})
    answers = [
        client.post(f"/api/v1/posts/{post_id}/reports", json={"kind": "rules", "reason": "spam"}, headers=bearer(token))
        for post_id in posts
    ]
    assert [a.status_code for a in answers[:2]] == [201, 201]
    _assert_limited_json(answers[2])


def test_chat_messages_are_limited_per_account_across_sockets(app: Flask, make_user: Any, limits_on: Any) -> None:
    from forum.extensions import socketio
    from forum.services import chat

    _age(make_user("chatty"), days=30)
    chat.ensure_board_rooms()
    room = chat.board_rooms()[0].key
    limits_on(chat={"per_account": "3/minute", "per_address": None})
    acks = []
    for n in range(2):  # two sockets, as from a phone and a laptop: one bucket
        web = app.test_client()
        web.post("/login", data={"username": "chatty", "password": PASSWORD})
        sock = socketio.test_client(app, namespace="/chat", flask_test_client=web)
        sock.emit("join", {"room": room}, namespace="/chat", callback=True)
        for m in range(2):
            payload = {"room": room, "body": f"hello {n}.{m}", "client_id": f"c-{n}-{m}"}
            acks.append(sock.emit("send", payload, namespace="/chat", callback=True))
        sock.disconnect(namespace="/chat")
    assert [ack["ok"] for ack in acks] == [True, True, True, False]
    assert acks[3]["error"]["code"] == "rate_limited" and acks[3]["error"]["retry_after"] >= 1


def test_search_is_limited_on_the_page_and_the_api_alike(client: FlaskClient, limits_on: Any) -> None:
    limits_on(search={"per_address": "2/minute"})
    assert client.get("/search?q=walk").status_code == 200
    assert client.get("/api/v1/search?q=walk").status_code == 200
    _assert_limited_html(client.get("/search?q=walk"))
    _assert_limited_json(client.get("/api/v1/search?q=walk"))


def test_check_in_requests_and_draft_screening_are_limited_per_account(
    client: FlaskClient, member: User, limits_on: Any
) -> None:
    token = _token(client, "sam")
    limits_on(check_in_request={"per_account": "1/hour"}, screen_draft={"per_account": "1/minute"})
    ask = {"note": "rough night", "source": "support_panel"}
    assert client.post("/api/v1/check-ins", json=ask, headers=bearer(token)).status_code == 201
    _assert_limited_json(client.post("/api/v1/check-ins", json=ask, headers=bearer(token), **_from("203.0.113.7")))
    draft = {"text": "a quiet day"}
    assert client.post("/api/v1/screen", json=draft, headers=bearer(token)).status_code == 200
    _assert_limited_json(client.post("/api/v1/screen", json=draft, headers=bearer(token)))


# --- crisis words and a full limit ------------------------------------------------------------------

CRISIS_WORDS = "I can't do this anymore. I have the pills saved up and I'm going to kill myself tonight."


def _crisis_reply(client: FlaskClient, token: str, thread_id: int, n: int) -> Any:
    body = {"body": f"{CRISIS_WORDS} ({n})", "idempotency_key": f"crisis-{n}"}
    return client.post(f"/api/v1/threads/{thread_id}/posts", json=body, headers=bearer(token), **_from("198.51.100.1"))


def test_crisis_words_get_through_a_full_limit_within_their_own_allowance(
    client: FlaskClient, member: User, limits_on: Any
) -> None:
    _age(member, days=30)
    token = _token(client, "sam")
    thread_id = _thread_id(client, token)
    limits_on(post={"per_account": "2/minute"}, crisis_allowance={"per_account": "2/hour"})
    assert [_reply(client, token, thread_id, n).status_code for n in range(3)] == [201, 201, 429]
    # The limit is full; crisis words still reach the thread (and so the moderators), twice.
    first, second = _crisis_reply(client, token, thread_id, 1), _crisis_reply(client, token, thread_id, 2)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json["screening"]["level"] == "crisis"
    _assert_limited_json(_crisis_reply(client, token, thread_id, 3))
    # The allowance is not a way round the limit for anything else.
    _assert_limited_json(_reply(client, token, thread_id, 9))


def test_a_form_refused_by_a_limit_keeps_the_words_and_offers_to_send_them_again(
    client: FlaskClient, member: User, limits_on: Any
) -> None:
    _age(member, days=30)
    token = _token(client, "sam")
    thread_id = _thread_id(client, token)
    _login(client, "sam", PASSWORD)
    limits_on(post={"per_account": "1/minute"})
    assert client.post(f"/t/{thread_id}/reply", data={"body": "First reply."}).status_code == 302
    words = "I feel worthless and like a burden to everyone, I just want to disappear for a while. <b>x</b>"
    refused = client.post(
        f"/t/{thread_id}/reply",
        data={"body": words, "idempotency_key": "kept-1", "content_note": "a heavy day"},
        headers={"Referer": f"http://localhost/t/{thread_id}"},
    )
    _assert_limited_html(refused)
    page = refused.get_data(as_text=True)
    kept = page[page.index('data-testid="kept-submission"') :]
    assert f'action="/t/{thread_id}/reply"' in page
    assert "I just want to disappear for a while. &lt;b&gt;x&lt;/b&gt;</textarea>" in kept, "the words, escaped"
    assert 'name="idempotency_key" value="kept-1"' in kept and 'name="content_note" value="a heavy day"' in kept
    assert 'data-testid="support-panel"' in page, "words of concern bring the support panel"
    assert f'name="next" value="/t/{thread_id}"' in page, "asking for a check-in returns to the thread"
    # Nothing was stored.
    thread = client.get(f"/api/v1/threads/{thread_id}", headers=bearer(token)).json
    assert [post["body_html"] for post in thread["posts"]][-1] == "<p>First reply.</p>\n"


def test_chat_crisis_words_get_through_a_full_limit_within_their_own_allowance(member: User, limits_on: Any) -> None:
    _age(member, days=30)
    chat.ensure_board_rooms()
    room = chat.board_rooms()[0]
    limits_on(chat={"per_account": "1/minute", "per_address": None}, crisis_allowance={"per_account": "1/hour"})
    chat.send_message(member, room, body="Evening, everyone.", client_id="c1")
    with pytest.raises(RateLimited):
        chat.send_message(member, room, body="How is everyone doing?", client_id="c2")
    sent = chat.send_message(member, room, body=CRISIS_WORDS, client_id="c3")
    assert sent.message.risk_level == "crisis"
    with pytest.raises(RateLimited):
        chat.send_message(member, room, body=CRISIS_WORDS + " Again.", client_id="c4")


def _items_about(user: User) -> list[Any]:
    from sqlalchemy import select

    from forum.extensions import db
    from forum.models import ReviewItem

    db.session.expire_all()
    return list(
        db.session.scalars(select(ReviewItem).where(ReviewItem.target_type == "user", ReviewItem.target_id == user.id))
    )


def test_a_note_to_the_moderators_keeps_its_words_at_a_limit_and_crisis_words_get_through(
    client: FlaskClient, member: User, limits_on: Any
) -> None:
    limits_on(
        check_in_request={"per_account": "1/hour", "per_address": None}, crisis_allowance={"per_account": "1/hour"}
    )
    _login(client, "sam", PASSWORD)
    send = lambda note: client.post("/support/check-in", data={"source": "reply", "note": note})  # noqa: E731
    assert send("Thank you for writing to me.").status_code == 302

    refused = send("One more thing I forgot to say.")
    _assert_limited_html(refused)
    kept = refused.get_data(as_text=True)
    assert '<textarea id="kept-body" name="note" rows="8">One more thing I forgot to say.</textarea>' in kept
    assert "Send it again" in kept

    crisis = "Nobody is answering. I have the pills in my hand and I'm taking them now."
    assert send(crisis).status_code == 302, "crisis words get through a full limit"
    [item] = _items_about(member)
    assert item.level == "crisis" and item.reasons[-1]["detail"] == crisis

    past = send(crisis + " Please.")  # past the allowance too: still kept for the moderators, and said so
    _assert_limited_html(past)
    assert 'data-testid="moderators-told"' in past.get_data(as_text=True)
    assert "You can send it again in about an hour." in past.get_data(as_text=True)
    [item] = _items_about(member)
    assert item.reasons[-1]["source"] == "refused_words" and item.reasons[-1]["detail"] == crisis + " Please."


def test_a_report_refused_by_a_limit_keeps_its_reason(
    client: FlaskClient, member: User, make_user: Any, limits_on: Any
) -> None:
    from forum.services import posting

    author, board = make_user("river"), posting.get_board("small-wins")
    first, second = (posting.create_thread(author, board, title=f"A walk {n}", body="I walked.").post for n in (1, 2))
    _age(member, days=30)
    limits_on(report={"per_account": "1/hour", "per_address": None})
    _login(client, "sam", PASSWORD)
    report = lambda post, reason: client.post(f"/p/{post.id}/report", data={"kind": "rules", "reason": reason})  # noqa: E731
    assert report(first, "This is an advert for a shop.").status_code == 302

    refused = report(second, "And this one is spam too, I think.")

    _assert_limited_html(refused)
    assert 'name="reason" rows="8">And this one is spam too, I think.</textarea>' in refused.get_data(as_text=True)


def test_asking_for_a_check_in_is_never_a_bare_refusal(client: FlaskClient, member: User, limits_on: Any) -> None:
    from forum.services import review

    _age(member, days=30)
    review.request_check_in(member, source="post")
    review.request_check_in(member, source="post")  # the button pressed again adds nothing
    [item] = _items_about(member)
    assert [reason["source"] for reason in item.reasons] == ["check_in_request"]

    limits_on(check_in_request={"per_account": "1/hour", "per_address": None})
    token = _token(client, "sam")  # before signing in: the API takes a token, not a session
    _login(client, "sam", PASSWORD)
    assert client.post("/support/check-in", data={"source": "post"}).status_code == 302
    refused = client.post("/support/check-in", data={"source": "post"})
    _assert_limited_html(refused)
    assert 'data-testid="support-panel"' in refused.get_data(as_text=True), "the lines, whatever the words"
    api = client.application.test_client().post(
        "/api/v1/check-ins", json={"source": "draft", "note": ""}, headers=bearer(token)
    )
    assert api.status_code == 429 and api.json["error"]["support"]["resources"]
