"""Accounts: who may register, how sign-in answers, and that sessions end on the server."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import User
from forum.services import accounts
from forum.services.errors import Conflict, NotAuthenticated, ValidationFailed
from tests.conftest import login


def _user_count() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("ab", "long enough password", "username"),
        ("x" * 31, "long enough password", "username"),
        ("sam@example.org", "long enough password", "username"),
        ("+44-7700-900123", "long enough password", "username"),
        ("07700900123", "long enough password", "username"),
        ("has space", "long enough password", "username"),
        ("sam", "short", "password"),
        ("LongEnoughName", "longenoughname", "password"),
        ("nul\x00name", "long enough password", "username"),
    ],
)
def test_register_refuses_bad_names_and_passwords_and_writes_nothing(
    app: Flask, username: str, password: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        accounts.register(username, password)
    assert field in caught.value.fields
    assert _user_count() == 0


@pytest.mark.parametrize(
    "username", ["moderator", "Admin2", "hearth_team", "mod-sam", "the_staff", "MODERATORS_here", "m0derator", "adm1n"]
)
def test_members_cannot_take_names_that_pass_as_staff(app: Flask, username: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        accounts.register(username, "long enough password")
    assert "kept for the Hearth team" in caught.value.fields["username"][0]
    assert _user_count() == 0


def test_ordinary_names_with_staff_letters_in_them_are_fine_and_staff_may_use_staff_names(app: Flask) -> None:
    for name in ("modesty", "badminton_fan", "the_modern_sam"):
        accounts.register(name, "long enough password")
    accounts.register("mod_maya", "long enough password", role="moderator")
    assert _user_count() == 4


def test_usernames_are_unique_regardless_of_case(app: Flask) -> None:
    accounts.register("River", "correct horse battery")
    with pytest.raises(Conflict):
        accounts.register("river", "another good password")
    assert _user_count() == 1


def test_passwords_are_hashed_with_argon2id(app: Flask) -> None:
    user = accounts.register("river", "correct horse battery")
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in user.password_hash


def test_wrong_username_and_wrong_password_get_the_same_answer(app: Flask) -> None:
    accounts.register("river", "correct horse battery")
    with pytest.raises(NotAuthenticated) as unknown_user:
        accounts.authenticate("nobody", "correct horse battery")
    with pytest.raises(NotAuthenticated) as wrong_password:
        accounts.authenticate("river", "wrong password here")
    assert unknown_user.value.message == wrong_password.value.message


def test_login_starts_a_session_and_logout_ends_it_on_the_server(client: FlaskClient, member: User) -> None:
    assert login(client, "sam").status_code == 302
    stolen_cookie = client.get_cookie("session")
    assert stolen_cookie is not None
    assert client.get("/b/grief-and-loss/new").status_code == 200

    assert client.post("/logout").status_code == 302
    # Replaying the old cookie after logout must not sign anyone in.
    client.set_cookie("session", stolen_cookie.value)
    response = client.get("/b/grief-and-loss/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_remember_me_cookie_is_httponly_samesite_lax_and_at_most_30_days(client: FlaskClient, member: User) -> None:
    response = client.post("/login", data={"username": "sam", "password": "correct horse battery", "remember": "y"})
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("remember_token=")]
    assert cookies, "remember-me sets a cookie"
    cookie = cookies[0]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age=2592000" in cookie or "Expires=" in cookie


def test_password_change_revokes_tokens(app: Flask, client: FlaskClient) -> None:
    user = accounts.register("river", "correct horse battery")
    token = accounts.issue_token(user)
    assert accounts.user_for_token(token) is not None
    accounts.change_password(user, "correct horse battery", "a brand new passphrase")
    assert accounts.user_for_token(token) is None
    with pytest.raises(NotAuthenticated):
        accounts.authenticate("river", "correct horse battery")
    assert accounts.authenticate("river", "a brand new passphrase").id == user.id


def test_register_page_shows_field_errors_and_writes_nothing(client: FlaskClient) -> None:
    response = client.post("/register", data={"username": "me@example.org", "password": "long enough password"})
    assert response.status_code == 422
    assert b"not an email address" in response.data
    assert _user_count() == 0


def test_cli_creates_a_moderator_from_stdin_password(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "mod_ash", "--role", "moderator", "--password-stdin"],
        input="a very good passphrase\n",
    )
    assert result.exit_code == 0, result.output
    user = accounts.find_user("mod_ash")
    assert user is not None and user.role == "moderator"
    assert accounts.authenticate("mod_ash", "a very good passphrase").id == user.id


def test_cli_refuses_a_bad_password_with_a_clear_message(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "mod_ash", "--password-stdin"], input="short\n")
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert accounts.find_user("mod_ash") is None


def test_cli_trusts_a_member_to_host_check_ins_and_takes_it_back(app: Flask, member: User) -> None:
    from forum import permissions

    runner = app.test_cli_runner()
    assert not permissions.can_host_checkin(member)
    assert runner.invoke(args=["users", "trust", "sam"]).exit_code == 0
    db.session.expire_all()
    assert permissions.can_host_checkin(accounts.find_user("sam"))
    assert runner.invoke(args=["users", "trust", "sam", "--remove"]).exit_code == 0
    db.session.expire_all()
    assert not permissions.can_host_checkin(accounts.find_user("sam"))
    unknown = runner.invoke(args=["users", "trust", "nobody_here"])
    assert unknown.exit_code != 0 and "No account is called nobody_here" in unknown.output


def test_the_register_page_promises_no_password_reset_by_email(client: FlaskClient) -> None:
    # Hearth sends no email and has no reset route: the optional email field must not suggest one.
    page = client.get("/register").get_data(as_text=True)
    assert 'name="email"' in page and "cannot reset a forgotten password" in page
