"""A deleted row's id is never given to someone new, and nothing that named a deleted account signs anyone in.

SQLite gives the highest id of a table to the next row once that row is deleted, unless the table is declared
AUTOINCREMENT. Account deletion removes the account row, so the next person to register was given the deleted
person's id, and the deleted person's other devices (a session cookie, a remember-me cookie, an open socket)
were signed in as the newcomer. The tables whose ids leave the database now never go back, on either
backend; and the cookies, sockets and data passes also carry a stamp of the account they were made for, so
even a database that did give an id out again (simulated here by turning its counter back) signs nobody in
as a stranger.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, text

import forum.realtime
from forum.extensions import db
from forum.models import ChatMessage, Notification, Post, User
from forum.services import accounts, chat, posting, privacy
from forum.services.errors import NotAuthenticated
from tests.conftest import login

PASSWORD = "correct horse battery"
PRIVATE_PAGE = "/b/grief-and-loss/new"  # login_required: 200 when signed in, a redirect otherwise
# The tables whose ids are named outside their rows (cookies, sockets, links, clients, records without a
# foreign key): AUTOINCREMENT on SQLite.
NEVER_REUSED = ("users", "threads", "posts", "chat_messages", "review_items", "notifications")


# --- arrangers ---------------------------------------------------------------------------------------


def _register(client: FlaskClient, username: str) -> User:
    response = client.post("/register", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    user = _user(username)
    assert user is not None
    return user


def _user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username_key == username))


def _signed_in_as(client: FlaskClient) -> str | None:
    """Whose data export this browser gets (the file is named after the account), or None when it is not
    signed in: what a browser signed in as someone else could take."""
    response = client.post("/me/export")
    if response.status_code != 200:
        return None
    named = re.search(r'filename="hearth-export-(.+)-\d{8}-\d{6}\.zip"', response.headers["Content-Disposition"])
    assert named is not None, response.headers["Content-Disposition"]
    return named.group(1)


def _device_holding(app: Flask, source: FlaskClient, cookie: str) -> FlaskClient:
    """A browser holding only this cookie of another: a second tab's session, or a browser reopened days later."""
    held = source.get_cookie(cookie)
    assert held is not None, f"no {cookie} cookie to copy"
    device = app.test_client()
    device.set_cookie(cookie, held.value)
    return device


def _delete_account(client: FlaskClient) -> None:
    response = client.post("/me/delete", data={"password": PASSWORD, "posts": "delete"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _give_ids_out_again(table: str, next_id: int) -> None:
    """Turn the table's id counter back, so its next row is given `next_id`: what a SQLite table without
    AUTOINCREMENT does after its newest row is deleted (and what any database restored or rebuilt carelessly
    could do). The defences in the cookies and sockets must hold even then."""
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n, false)"), {"t": table, "n": next_id})
        elif conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
            conn.execute(text("UPDATE sqlite_sequence SET seq = :n WHERE name = :t"), {"t": table, "n": next_id - 1})
        # else: a SQLite table without AUTOINCREMENT gives the newest deleted id out again by itself


# --- accounts: the id itself -------------------------------------------------------------------------


def test_the_newest_accounts_id_is_not_given_to_the_next_person_to_register(app: Flask, make_user: Any) -> None:
    make_user("ash")
    leaving = make_user("bea")
    leaving_id = leaving.id
    privacy.delete_account(leaving, password=PASSWORD, posts="delete")

    newcomer = make_user("cai")

    assert newcomer.id > leaving_id


# --- sign-in cookies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_a_deleted_persons_other_device_is_not_signed_in_as_the_next_person_to_register(
    app: Flask, cookie: str
) -> None:
    laptop = app.test_client()
    ash = _register(laptop, "ash")
    ash_id = ash.id
    phone = app.test_client()
    if cookie == "session":
        assert login(phone, "ash").status_code == 302
    else:
        assert _remember_me(phone, "ash")
    other_device = _device_holding(app, phone, cookie)
    assert _signed_in_as(other_device) == "ash"

    _delete_account(laptop)
    newcomer = app.test_client()
    bea = _register(newcomer, "bea")

    assert _signed_in_as(newcomer) == "bea"
    assert _signed_in_as(other_device) is None, "the deleted person's device took the newcomer's account"
    assert _signed_in_as(phone) is None
    assert bea.id != ash_id


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_a_deleted_persons_cookie_never_signs_in_whoever_is_given_their_id(app: Flask, cookie: str) -> None:
    """Even where a database gives the id out again, the cookie names the account it was made for."""
    laptop = app.test_client()
    ash = _register(laptop, "ash")
    ash_id, ash_version = ash.id, ash.session_version
    phone = app.test_client()
    assert _remember_me(phone, "ash")
    other_device = _device_holding(app, phone, cookie)

    _delete_account(laptop)
    _give_ids_out_again("users", ash_id)
    newcomer = app.test_client()
    bea = _register(newcomer, "bea")

    assert (bea.id, bea.session_version) == (ash_id, ash_version), "the id and version both match the old cookie"
    assert _signed_in_as(newcomer) == "bea"
    assert _signed_in_as(other_device) is None


def _remember_me(client: FlaskClient, username: str) -> bool:
    response = client.post("/login", data={"username": username, "password": PASSWORD, "remember": "y"})
    return response.status_code == 302 and client.get_cookie("remember_token") is not None


def test_a_cookie_made_before_the_account_stamp_signs_nobody_in(app: Flask, member: User) -> None:
    """A cookie of the old form (id and session version only) could name a stranger: it is refused, and
    signing in again is all it costs."""
    client = app.test_client()
    with client.session_transaction() as old:
        old["_user_id"] = f"{member.id}:{member.session_version}"
        old["_fresh"] = True
    assert client.get(PRIVATE_PAGE).status_code == 302
    assert login(client, "sam").status_code == 302
    assert client.get(PRIVATE_PAGE).status_code == 200


def test_logout_still_ends_every_cookie_of_the_person(app: Flask, member: User) -> None:
    phone = app.test_client()
    assert _remember_me(phone, "sam")
    tablet = _device_holding(app, phone, "session")
    reopened = _device_holding(app, phone, "remember_token")
    assert tablet.get(PRIVATE_PAGE).status_code == 200
    assert reopened.get(PRIVATE_PAGE).status_code == 200

    assert phone.post("/logout").status_code == 302

    assert tablet.get(PRIVATE_PAGE).status_code == 302
    assert reopened.get(PRIVATE_PAGE).status_code == 302


# --- sockets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("id_given_again", [False, True], ids=["ids_as_they_are", "id_given_out_again"])
def test_a_socket_left_open_by_a_deleted_account_cannot_send_as_the_next_person(
    app: Flask, monkeypatch: pytest.MonkeyPatch, id_given_again: bool
) -> None:
    """A process that missed the account's disconnect still has the socket open: its next event is refused."""
    from forum.extensions import socketio

    device = app.test_client()
    ash = _register(device, "ash")
    ash_id = ash.id
    sock = socketio.test_client(app, namespace="/chat", flask_test_client=device)
    assert sock.is_connected("/chat")
    monkeypatch.setattr(forum.realtime, "disconnect_user", lambda user_id: None)  # the message that was missed

    privacy.delete_account(ash, password=PASSWORD, posts="delete")
    if id_given_again:
        _give_ids_out_again("users", ash_id)
    bea = accounts.register("bea", PASSWORD)

    data = {"room": "board-introductions", "body": "Hello, it is me again", "client_id": "after-deletion"}
    ack = sock.emit("send", data, namespace="/chat", callback=True)

    db.session.expire_all()
    assert db.session.scalars(select(ChatMessage)).all() == [], "the old socket wrote as the newcomer"
    assert ack["ok"] is False and ack["error"]["code"] == "not_authenticated"
    assert (bea.id == ash_id) is id_given_again


def test_a_socket_of_a_living_account_still_sends(app: Flask) -> None:
    from forum.extensions import socketio

    device = app.test_client()
    _register(device, "ash")
    sock = socketio.test_client(app, namespace="/chat", flask_test_client=device)
    data = {"room": "board-introductions", "body": "Hello, everyone", "client_id": "first"}
    ack = sock.emit("send", data, namespace="/chat", callback=True)
    assert ack["ok"] is True, ack


# --- the suspended person's data pass ------------------------------------------------------------------


def test_a_data_pass_of_a_deleted_account_never_opens_the_data_of_whoever_is_given_its_id(
    app: Flask, make_user: Any
) -> None:
    ash = make_user("ash")
    ash_id = ash.id
    data_pass = accounts.data_pass(ash_id)
    assert accounts.holder_of_data_pass(data_pass).id == ash_id

    privacy.delete_account(ash, password=PASSWORD, posts="delete")
    _give_ids_out_again("users", ash_id)
    bea = make_user("bea")
    assert bea.id == ash_id

    with pytest.raises(NotAuthenticated):
        accounts.holder_of_data_pass(data_pass)


# --- other ids that leave the database ---------------------------------------------------------------------


def test_a_taken_back_notifications_id_is_not_given_to_the_next_notification(app: Flask, make_user: Any) -> None:
    """Deleting a reply deletes the notification about it; pages and live clients still hold that id."""
    ash, bea, cai = make_user("ash"), make_user("bea"), make_user("cai")
    thread = posting.create_thread(ash, posting.get_board("grief-and-loss"), title="Missing my mum", body="Hard week.")
    reply = posting.create_reply(bea, thread.thread, body="I am so sorry, that sounds hard.").post
    told_id = db.session.scalar(select(func.max(Notification.id)).where(Notification.user_id == ash.id))
    assert told_id is not None

    posting.delete_post(bea, reply)
    assert db.session.get(Notification, told_id) is None
    posting.create_reply(cai, thread.thread, body="Thinking of you this week.")

    newest = db.session.scalar(select(func.max(Notification.id)).where(Notification.user_id == ash.id))
    assert newest is not None and newest > told_id


def test_a_removed_posts_and_chat_messages_ids_are_not_given_out_again(app: Flask, make_user: Any) -> None:
    """Nothing removes a post or message row today (they are emptied instead), but links, clients' `after`,
    the search index and review items name them by id: the tables themselves never go back."""
    ash = make_user("ash")
    thread = posting.create_thread(ash, posting.get_board("grief-and-loss"), title="Missing my mum", body="Hard.")
    newest_post = posting.create_reply(ash, thread.thread, body="A second thought.").post.id
    chat.send_to_room(ash, "board-introductions", body="Hello there", client_id="one")
    newest_message = db.session.scalar(select(func.max(ChatMessage.id)))
    assert newest_message is not None

    with db.engine.begin() as conn:
        conn.execute(delete(Post).where(Post.id == newest_post))
        conn.execute(delete(ChatMessage).where(ChatMessage.id == newest_message))
    db.session.expire_all()

    assert posting.create_reply(ash, thread.thread, body="Trying again.").post.id > newest_post
    assert (
        chat.send_to_room(ash, "board-introductions", body="Hello again", client_id="two").payload["id"]
        > newest_message
    )


def test_sqlite_declares_autoincrement_on_every_table_whose_ids_leave_the_database(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's sequences never go back: there is nothing to declare")
    with db.engine.connect() as conn:
        sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    assert [table for table in NEVER_REUSED if "AUTOINCREMENT" not in sql[table]] == []
