"""Sessions end on the server: at logout, password change and suspension, for cookies, tokens and sockets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.extensions import db
from forum.models import User, utcnow
from forum.services import accounts
from forum.services.errors import NotAuthenticated
from forum.services.transaction import write_transaction
from tests.conftest import api_token, bearer, login

PRIVATE_PAGE = "/b/grief-and-loss/new"  # login_required: 200 when signed in, a redirect otherwise


def _signed_in(client: FlaskClient) -> bool:
    return client.get(PRIVATE_PAGE).status_code == 200


def _copy_cookies(source: FlaskClient, target: FlaskClient) -> None:
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def _token_works(client: FlaskClient, token: str) -> bool:
    response = client.post("/api/v1/threads/999999/posts", json={"body": "probe"}, headers=bearer(token))
    return response.status_code != 401  # 404: signed in, the thread is missing


def _suspend(user: User, hours: int = 24) -> None:
    with write_transaction():
        user.suspended_until = utcnow() + timedelta(hours=hours)
    accounts.end_sessions(user)


def test_login_starts_a_fresh_session_and_drops_anything_planted(client: FlaskClient, member: User) -> None:
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "yes"
        planted["_user_id"] = "1:999"
    assert login(client, "sam").status_code == 302
    with client.session_transaction() as fresh:
        assert "planted_by_attacker" not in fresh
        assert fresh["_user_id"] == f"{member.id}:{member.session_version}:{member.account_stamp()}"


def test_logout_ends_copies_of_the_session_and_the_remember_me_cookie(app: Flask, member: User) -> None:
    device = app.test_client()
    device.post("/login", data={"username": "sam", "password": "correct horse battery", "remember": "y"})
    thief = app.test_client()
    _copy_cookies(device, thief)
    assert _signed_in(thief)

    assert device.post("/logout").status_code == 302
    assert not _signed_in(thief)
    # The remember-me cookie alone (a new browser session) does not sign the thief back in either.
    late = app.test_client()
    remember = device.get_cookie("remember_token") or thief.get_cookie("remember_token")
    assert remember is not None
    late.set_cookie("remember_token", remember.value)
    assert not _signed_in(late)


def test_logout_revokes_api_tokens_made_under_that_session_version(client: FlaskClient, member: User) -> None:
    token = api_token(client, "sam")
    assert login(client, "sam").status_code == 302
    assert _token_works(client, token)
    client.post("/logout")
    assert not _token_works(client, token)


def test_password_change_ends_every_session_and_token(app: Flask, member: User) -> None:
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "sam")
    login(phone, "sam")
    token = api_token(app.test_client(), "sam")

    accounts.change_password(member, "correct horse battery", "a different passphrase")

    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    assert not _token_works(app.test_client(), token)
    assert login(app.test_client(), "sam", "a different passphrase").status_code == 302


def test_suspension_ends_every_session_and_token_and_refuses_sign_in(app: Flask, member: User) -> None:
    browser = app.test_client()
    login(browser, "sam")
    token = api_token(app.test_client(), "sam")
    _suspend(member)

    assert not _signed_in(browser)
    assert not _token_works(app.test_client(), token)
    refused = app.test_client().post("/api/v1/tokens", json={"username": "sam", "password": "correct horse battery"})
    assert refused.status_code == 401
    assert "suspended" in refused.json["error"]["message"]


def test_suspension_alone_ends_sessions_even_if_no_one_bumped_the_version(app: Flask, member: User) -> None:
    browser = app.test_client()
    login(browser, "sam")
    token = api_token(app.test_client(), "sam")
    with write_transaction():
        member.suspended_until = utcnow() + timedelta(hours=1)
    assert not _signed_in(browser)
    assert not _token_works(app.test_client(), token)


def test_someone_suspended_while_signed_in_is_told_so_with_the_crisis_lines_not_sent_to_sign_in(
    app: Flask, member: User
) -> None:
    browser = app.test_client()
    login(browser, "sam")
    _suspend(member)
    page = browser.get("/me/journal")
    html = page.get_data(as_text=True)
    assert page.status_code == 403 and "Your account is suspended" in html and "findahelpline" in html
    assert "Sign in to read the moderators" in html
    assert 'data-testid="suspended-notice"' not in html, "the suspension page says it once"
    # Public pages say so too, rather than showing them the site as if they were a stranger.
    home = browser.get("/").get_data(as_text=True)
    assert 'data-testid="suspended-notice"' in home and 'href="/messages"' in home
    # Someone merely signed out is still asked to sign in, and is told nothing about suspensions.
    assert app.test_client().get("/me/journal").status_code == 302
    assert 'data-testid="suspended-notice"' not in app.test_client().get("/").get_data(as_text=True)


def test_a_user_hashed_with_the_cheapest_profile_is_rehashed_to_production_at_login(app: Flask) -> None:
    user = accounts.register("river", "correct horse battery")  # the test config hashes with CHEAPEST
    assert user.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    app.config["ARGON2_PROFILE"] = "RFC_9106_LOW_MEMORY"

    client = app.test_client()
    assert login(client, "river").status_code == 302

    db.session.expire_all()
    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # The new hash still opens the door, and the next login leaves it alone.
    assert accounts.authenticate("river", "correct horse battery").password_hash == stored


def test_wrong_pseudonym_and_wrong_password_get_the_same_page(client: FlaskClient, member: User) -> None:
    unknown = client.post("/login", data={"username": "nobody_here", "password": "correct horse battery"})
    wrong = client.post("/login", data={"username": "sam", "password": "not the password"})
    assert unknown.status_code == wrong.status_code == 401
    # The pages differ only in the echoed pseudonym.
    assert unknown.get_data(as_text=True).replace("nobody_here", "sam") == wrong.get_data(as_text=True)


def test_wrong_pseudonym_and_wrong_password_get_the_same_api_answer(client: FlaskClient, member: User) -> None:
    unknown = client.post("/api/v1/tokens", json={"username": "nobody_here", "password": "correct horse battery"})
    wrong = client.post("/api/v1/tokens", json={"username": "sam", "password": "not the password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json == wrong.json


def test_a_deleted_account_answers_like_an_unknown_one(app: Flask, member: User) -> None:
    with write_transaction():
        member.deleted_at = utcnow()
    with pytest.raises(NotAuthenticated) as deleted:
        accounts.authenticate("sam", "correct horse battery")
    with pytest.raises(NotAuthenticated) as unknown:
        accounts.authenticate("nobody_here", "correct horse battery")
    assert deleted.value.message == unknown.value.message


def test_suspension_closes_open_sockets_and_their_events_are_refused(app: Flask, member: User) -> None:
    from flask import g

    from forum.extensions import socketio
    from forum.services import chat

    chat.ensure_board_rooms()
    room = chat.board_rooms()[0].key
    browser = app.test_client()
    login(browser, "sam")
    g.pop("_login_user", None)
    sock = socketio.test_client(app, namespace="/chat", flask_test_client=browser)
    assert sock.is_connected("/chat")
    assert sock.emit("join", {"room": room}, namespace="/chat", callback=True)["ok"]

    _suspend(member)

    assert not sock.is_connected("/chat"), "the server closed the suspended person's socket"
    g.pop("_login_user", None)
    again = socketio.test_client(app, namespace="/chat", flask_test_client=browser)
    assert not again.is_connected("/chat"), "the old cookie cannot open a new one"


def _with_session_of(client: FlaskClient, app: Flask) -> FlaskClient:
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)  # type: ignore[union-attr]
    return other


def test_a_new_secret_key_ends_cookie_sessions_unless_the_old_one_is_kept_as_a_fallback(
    app: Flask, client: FlaskClient, member: User
) -> None:
    """The session's signing serializer is built once per set of keys: a key rotation must still be seen."""
    login(client, member.username)
    assert _signed_in(client)
    old_key, old_fallbacks = app.secret_key, app.config["SECRET_KEY_FALLBACKS"]
    try:
        app.secret_key = "a rotated key for this test"
        assert not _signed_in(_with_session_of(client, app)), "a cookie signed with a retired key is refused"
        app.config["SECRET_KEY_FALLBACKS"] = [old_key]
        assert _signed_in(_with_session_of(client, app)), "and accepted while that key is a fallback"
    finally:
        app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = old_key, old_fallbacks
    assert _signed_in(client)


def test_someone_suspended_can_still_download_their_own_data_with_the_pass_from_their_suspension_page(
    app: Flask, member: User
) -> None:
    import io
    import re
    import zipfile

    from forum.services.practice import journal

    journal.write_entry(member, body="A private line only I should ever get back.")
    _suspend(member)
    browser = app.test_client()
    page = browser.post("/login", data={"username": "sam", "password": "correct horse battery"})
    found = re.search(r'name="pass" value="([^"]+)"', page.get_data(as_text=True))
    assert page.status_code == 403 and found is not None

    download = browser.post("/login/suspended/export", data={"pass": found.group(1)})

    assert download.status_code == 200 and download.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        journal_file = next(name for name in archive.namelist() if name.endswith("/journal.json"))
        assert "A private line only I should ever get back." in archive.read(journal_file).decode()
    # The pass is good for this person's data only, and not after their sessions end again.
    forged = browser.post("/login/suspended/export", data={"pass": found.group(1)[:-2] + "xx"})
    assert forged.status_code == 302 and forged.headers["Location"] == "/login"
    _suspend(member)
    assert browser.post("/login/suspended/export", data={"pass": found.group(1)}).status_code == 302
