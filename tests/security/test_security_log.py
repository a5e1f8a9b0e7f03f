"""Security events are JSON lines with ids and outcomes; no post text, password or address ever reaches a log."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.models import AuditLog, User
from forum.services import posting
from forum.services.transaction import write_transaction
from tests.conftest import api_token, bearer, login
from tests.security.conftest import SecurityLog

SECRET_BODY = "my sister's name is Marguerite and nobody may read this in a log"
SECRET_TITLE = "Zanzibar-kettle private title"
SECRET_PASSWORD = "hunter2-but-much-longer-xyz"


def test_failed_logins_are_logged_without_the_pseudonym_or_password(
    client: FlaskClient, member: User, security_log: SecurityLog
) -> None:
    client.post("/login", data={"username": "sam", "password": SECRET_PASSWORD})
    (event,) = security_log.events("login_failed")
    assert event["path"] == "/login"
    assert event["addr"].startswith("addr:")
    assert "127.0.0.1" not in json.dumps(event)
    assert SECRET_PASSWORD not in security_log.lines[0] and "sam" not in json.dumps(event)


def test_permission_denials_are_logged_with_the_actor(
    client: FlaskClient, member: User, make_user, security_log: SecurityLog
) -> None:
    board = posting.get_board("small-wins")
    outcome = posting.create_thread(member, board, title="A small win", body="I cooked dinner.")
    make_user("river")
    token = api_token(client, "river")
    response = client.patch(f"/api/v1/posts/{outcome.post.id}", json={"body": "hijacked"}, headers=bearer(token))
    assert response.status_code == 403
    (event,) = security_log.events("permission_denied")
    assert event["status"] == 403 and event["method"] == "PATCH"
    assert isinstance(event["actor_id"], int)


def test_deletions_are_logged_after_commit(member_client: FlaskClient, member: User, security_log: SecurityLog) -> None:
    board = posting.get_board("small-wins")
    outcome = posting.create_thread(member, board, title=SECRET_TITLE, body=SECRET_BODY)
    assert member_client.post(f"/p/{outcome.post.id}/delete").status_code == 302
    deleted = security_log.events("deleted")
    assert {"target_type": "posts", "target_id": outcome.post.id, "soft": True}.items() <= deleted[0].items()
    assert deleted[0]["actor_id"] == member.id
    assert not any(SECRET_BODY in line or SECRET_TITLE in line for line in security_log.lines)


def test_moderation_actions_are_logged_from_the_audit_log_without_the_reason(
    app: Flask, moderator: User, security_log: SecurityLog
) -> None:
    with write_transaction() as session:
        session.add(
            AuditLog(actor_id=moderator.id, action="suspend", target_type="user", target_id=42, reason=SECRET_BODY)
        )
    (event,) = security_log.events("moderation_action")
    assert event == {"event": "moderation_action", "action": "suspend", "by_user_id": moderator.id,
                     "target_type": "user", "target_id": 42}  # fmt: skip
    assert SECRET_BODY not in security_log.lines[0]


def test_a_rolled_back_write_logs_nothing(app: Flask, moderator: User, security_log: SecurityLog) -> None:
    with pytest.raises(RuntimeError), write_transaction() as session:
        session.add(AuditLog(actor_id=moderator.id, action="hide", target_type="post", target_id=1))
        session.flush()
        raise RuntimeError("the write fails after the flush")
    assert security_log.events("moderation_action") == []


def test_text_and_secret_fields_are_withheld_even_if_a_caller_passes_them(app: Flask) -> None:
    from forum.logs import security_event

    handler = SecurityLog()
    logging.getLogger("forum.security").addHandler(handler)
    try:
        security_event("export", user_id=7, body=SECRET_BODY, password=SECRET_PASSWORD, token="abc")
    finally:
        logging.getLogger("forum.security").removeHandler(handler)
    (event,) = handler.events()
    assert event["body"] == event["password"] == event["token"] == "[withheld]"
    assert event["user_id"] == 7


def test_no_post_text_or_password_reaches_any_log(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/register", data={"username": "river", "password": SECRET_PASSWORD})
    client.post("/logout")
    client.post("/login", data={"username": "river", "password": SECRET_PASSWORD + "wrong"})
    login(client, "river", SECRET_PASSWORD)
    client.post("/b/small-wins/new", data={"title": SECRET_TITLE, "body": SECRET_BODY})
    client.post("/b/safe-space/new", data={"title": SECRET_TITLE + " two", "body": "I want to kill myself tonight."})
    token = api_token(app.test_client(), "river", SECRET_PASSWORD)
    app.test_client().post("/api/v1/boards/small-wins/threads", json={"title": SECRET_TITLE, "body": SECRET_BODY},
                headers=bearer(token))  # fmt: skip

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "the flow logged something"
    for secret in (SECRET_BODY, SECRET_TITLE, SECRET_PASSWORD, "kill myself", token):
        assert secret not in text


def test_events_name_the_route_not_a_path_that_names_a_person(
    member_client: FlaskClient, member: User, make_user, security_log: SecurityLog
) -> None:
    """Blocking and unblocking someone logs /u/<username>/block: the log never says whom, by name."""
    make_user("carl_named")
    member_client.post("/u/carl_named/block", data={"kind": "block"})
    member_client.post("/u/carl_named/block", data={"kind": ""})  # no kind: unblock
    events = security_log.events()
    assert events, "blocking writes security events"
    assert all("carl_named" not in json.dumps(event) for event in events)
    assert {event["path"] for event in events} == {"/u/<username>/block"}
