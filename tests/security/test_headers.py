"""Every answer carries the headers that keep pages from being framed, sniffed, cached or scripted."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum import create_app
from tests.conftest import make_config

PUBLIC_PATHS = ["/", "/b/small-wins", "/login", "/register", "/guides/", "/api/v1/boards", "/no-such-page"]


def _directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_answer_has_a_strict_content_security_policy(client: FlaskClient, path: str) -> None:
    csp = _directives(client.get(path).headers["Content-Security-Policy"])
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["object-src"] == "object-src 'none'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["base-uri"] == "base-uri 'none'"
    assert csp["default-src"] == "default-src 'self'"
    assert "unsafe-inline" not in str(csp) and "unsafe-eval" not in str(csp)


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_answer_refuses_sniffing_framing_and_foreign_referrers(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_no_hsts_over_plain_http(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_hsts_over_https(client: FlaskClient) -> None:
    headers = client.get("/", base_url="https://forum.example").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_forwarded_https_is_ignored_without_a_trusted_proxy(client: FlaskClient) -> None:
    headers = client.get("/", headers={"X-Forwarded-Proto": "https"}).headers
    assert "Strict-Transport-Security" not in headers


def test_forwarded_https_from_one_trusted_proxy_gets_hsts(database_url: str) -> None:
    app = create_app(make_config(database_url, TRUSTED_PROXIES=1))
    response = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_trusted_proxy_sets_the_client_address_but_only_its_own_hop(database_url: str) -> None:
    app = create_app(make_config(database_url, TRUSTED_PROXIES=1))
    seen: list[str | None] = []

    @app.get("/_test/addr")
    def addr() -> str:
        from flask import request

        seen.append(request.remote_addr)
        return "ok"

    # The client forged the first hop; the trusted proxy appended the real one.
    app.test_client().get("/_test/addr", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert seen == ["203.0.113.9"]


def test_signed_in_pages_and_the_api_are_never_stored(member_client: FlaskClient) -> None:
    for path in ["/", "/b/small-wins", "/guides/", "/api/v1/boards"]:
        response = member_client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path


def test_anonymous_pages_that_set_a_cookie_are_never_stored(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().get("/login")
    assert "Set-Cookie" in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client: FlaskClient) -> None:
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_session_cookies_are_httponly_and_samesite(member_client: FlaskClient, app: Flask) -> None:
    cookie = member_client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_https_deployments_mark_cookies_secure(database_url: str) -> None:
    app = create_app(make_config(database_url, PREFERRED_URL_SCHEME="https"))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
