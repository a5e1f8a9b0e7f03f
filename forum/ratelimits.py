"""Rate limits per address and per account: one table of rules, enforced alike for pages, the API and Socket.IO.

Built on `limits` (the library under Flask-Limiter) with a store per app. Flask-Limiter itself is not
used: its extension object keeps its on/off switch and storage process-wide and only guards HTTP views,
and chat events need the same limits as pages and the API. The store is RATELIMIT_STORAGE_URI (REDIS_URL
when set), so every process behind a load balancer counts against the same buckets.

Addresses are never stored: the key is an HMAC-SHA256 of the address under a server secret, so the
buckets (and the logs) can tell two requests from one address apart from others without keeping it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache, wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, has_request_context, make_response, request
from flask_login import current_user
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from forum.hashing import keyed_hash
from forum.logs import security_event
from forum.services.errors import RateLimited
from forum.support import mark_own_words

_EXTENSION = "hearth.ratelimits"
CRISIS_ALLOWANCE = "crisis_allowance"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Rule:
    """Limits for one action. `first_day` replaces `per_account` while an account is new."""

    per_address: str | None = None
    per_account: str | None = None
    first_day: str | None = None
    # Count a request only once it is accepted (an answer below 400). For writes, where someone fixing a
    # refused form is not flooding anything: a newcomer's third try at a title within a minute must not be
    # refused as "a lot". Checking first and counting after lets a few requests at the same moment past a
    # full limit, which a brake on floods can allow. Off where a refusal is itself what a limit guards
    # (register: whether a pseudonym is taken).
    accepted_only: bool = False


# One row per action a person can repeat to hurt others or themselves. Overridable per deployment
# through config RATELIMITS, e.g. {"post": {"per_account": "10/minute"}}.
DEFAULT_RULES: dict[str, Rule] = {
    # per_account on login counts failed attempts against one pseudonym, from any address.
    "login": Rule(per_address="10/minute;40/hour", per_account="10/hour"),
    "register": Rule(per_address="3/minute;10/hour"),
    "thread": Rule(
        per_address="20/minute;120/hour",
        per_account="10/minute;60/hour",
        first_day="3/minute;10/hour",
        accepted_only=True,
    ),
    "post": Rule(
        per_address="60/minute;600/hour",
        per_account="20/minute;300/hour",
        first_day="5/minute;40/hour",
        accepted_only=True,
    ),
    "chat": Rule(per_address="120/minute", per_account="30/minute;600/hour", first_day="10/minute;120/hour"),
    "report": Rule(per_address="30/hour", per_account="20/hour", first_day="5/hour", accepted_only=True),
    "search": Rule(per_address="60/minute", per_account="60/minute"),
    "react": Rule(per_address="240/minute", per_account="120/minute"),
    # Asking for a moderator is help-seeking: the limit only stops a script flooding the queue. Far above
    # what a person writes (repeat button presses add nothing: review.request_check_in), and per address
    # high enough for many people behind one (a shelter, a campus). A refusal still shows the lines.
    "check_in_request": Rule(per_address="300/hour", per_account="60/hour"),
    "screen_draft": Rule(per_address="240/minute", per_account="120/minute"),
    "checkin_place": Rule(per_address="120/hour", per_account="30/hour"),
    # Not an action of its own: a write whose words screen as crisis goes through a full limit of its
    # action, this many times (see enforce).
    CRISIS_ALLOWANCE: Rule(per_address="10/hour", per_account="3/hour"),
    "export": Rule(per_address="30/hour", per_account="10/hour"),
    "delete_account": Rule(per_address="30/hour", per_account="10/hour"),
}


class Buckets:
    """The counters of one app: a moving window over a shared store."""

    def __init__(self, storage_uri: str) -> None:
        self.storage = storage_from_string(storage_uri)
        self.strategy = MovingWindowRateLimiter(self.storage)

    def hit(self, limit: str, *identifiers: str) -> int | None:
        """Count one attempt; None when allowed, else the seconds until the window frees a slot."""
        for item in _parse(limit):
            if not self.strategy.hit(item, *identifiers):
                return self._retry_after(item, identifiers)
        return None

    def exhausted(self, limit: str, *identifiers: str) -> int | None:
        """Like hit, without counting: for limits that only count failures."""
        for item in _parse(limit):
            if not self.strategy.test(item, *identifiers):
                return self._retry_after(item, identifiers)
        return None

    def count(self, limit: str, *identifiers: str) -> None:
        for item in _parse(limit):
            self.strategy.hit(item, *identifiers)

    def _retry_after(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> int:
        stats = self.strategy.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))


@lru_cache(maxsize=64)
def _parse(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limit))


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.extensions[_EXTENSION] = Buckets(app.config["RATELIMIT_STORAGE_URI"])


def buckets() -> Buckets:
    return cast(Buckets, current_app.extensions[_EXTENSION])


def rules() -> dict[str, Rule]:
    overrides: Mapping[str, Mapping[str, Any]] = current_app.config.get("RATELIMITS") or {}
    merged = dict(DEFAULT_RULES)
    for action, fields in overrides.items():
        merged[action] = replace(merged.get(action, Rule()), **fields)
    return merged


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


# --- keys -----------------------------------------------------------------------------------------


def address_key(remote_addr: str | None = None) -> str:
    """The client address as a keyed hash: stable per server secret, useless to whoever reads the store."""
    if remote_addr is None and has_request_context():
        remote_addr = request.remote_addr
    return "addr:" + keyed_hash(b"address", remote_addr or "unknown")


def _name_key(username: object) -> str:
    # Hashed too: people sometimes type a password into the pseudonym field.
    return "name:" + keyed_hash(b"login-name", str(username or "").casefold())


def _account_id(user: Any) -> int | None:
    if getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None:
        return int(user.id)
    return None


def _is_first_day(user: Any) -> bool:
    if getattr(user, "is_moderator", False) or getattr(user, "trusted", False):
        return False
    created = getattr(user, "created_at", None)
    if created is None:
        return False
    from forum.models import utcnow

    hours = int(current_app.config.get("RATELIMIT_NEW_ACCOUNT_HOURS", 24))
    return bool(utcnow() - created < timedelta(hours=hours))


# --- enforcing ------------------------------------------------------------------------------------


def enforce(
    action: str, user: Any = None, *, remote_addr: str | None = None, crisis: Callable[[], bool] | None = None
) -> None:
    """Count one `action` by this address and this account; RateLimited (429) when either is over.

    `crisis` says whether the words being sent screen as crisis; it is asked only when a limit is full.
    Such a write still goes through, within an allowance of its own (CRISIS_ALLOWANCE): someone at their
    lowest who has written a lot in a few minutes must not have the words that would put them in front
    of a moderator refused. The allowance bounds how far anyone can flood the urgent queue this way.
    """
    if not _enabled():
        return
    try:
        _count(action, user, remote_addr)
    except RateLimited:
        if crisis is None or not crisis():
            raise
        _count(CRISIS_ALLOWANCE, user, remote_addr)
        security_event("rate_limit_crisis_allowance", action=action)


def _count(action: str, user: Any, remote_addr: str | None) -> None:
    store = buckets()
    for limit, identifier, scope in _limits(action, user, remote_addr):
        _refuse_if(store.hit(limit, action, identifier), action, scope)


def _limits(action: str, user: Any, remote_addr: str | None) -> list[tuple[str, str, str]]:
    """(limit, identifier, scope) of each counter `action` goes through for this address and account."""
    rule = rules()[action]
    found = []
    if rule.per_address:
        found.append((rule.per_address, address_key(remote_addr), "address"))
    account = _account_id(user)
    limit = rule.first_day if rule.first_day and _is_first_day(user) else rule.per_account
    if account is not None and limit:
        found.append((limit, f"acct:{account}", "account"))
    return found


def admit(action: str, user: Any = None, *, crisis: Callable[[], bool] | None = None) -> str | None:
    """enforce without counting: RateLimited when a limit is full; otherwise the counter to charge once the
    request is accepted (record): `action`, or the crisis allowance when the words are crisis and the
    action's own limit is full. None when limits are off."""
    if not _enabled():
        return None
    try:
        _check(action, user)
        return action
    except RateLimited:
        if crisis is None or not crisis():
            raise
        _check(CRISIS_ALLOWANCE, user)
        security_event("rate_limit_crisis_allowance", action=action)
        return CRISIS_ALLOWANCE


def _check(action: str, user: Any) -> None:
    store = buckets()
    for limit, identifier, scope in _limits(action, user, None):
        _refuse_if(store.exhausted(limit, action, identifier), action, scope)


def record(action: str, user: Any = None) -> None:
    """Charge one accepted request to `action`'s counters (see admit)."""
    store = buckets()
    for limit, identifier, _scope in _limits(action, user, None):
        store.count(limit, action, identifier)


def enforce_login_attempt(username: object, *, remote_addr: str | None = None) -> None:
    """Before checking a password: the address limit counts every try, the pseudonym limit only failures."""
    if not _enabled():
        return
    rule = rules()["login"]
    store = buckets()
    if rule.per_address:
        _refuse_if(store.hit(rule.per_address, "login", address_key(remote_addr)), "login", "address")
    if rule.per_account:
        _refuse_if(store.exhausted(rule.per_account, "login", _name_key(username)), "login", "account")


def record_failed_login(username: object) -> None:
    rule = rules()["login"]
    if _enabled() and rule.per_account:
        buckets().count(rule.per_account, "login", _name_key(username))


def _refuse_if(retry_after: int | None, action: str, scope: str) -> None:
    if retry_after is None:
        return
    security_event("rate_limited", action=action, scope=scope, retry_after=retry_after)
    raise RateLimited(
        "You're doing that a lot in a short time. Please wait a little and try again.",
        retry_after=retry_after,
        action=action,  # errors.py: a refused request for help still shows the lines
    )


def limited(action: str, *, methods: tuple[str, ...] = ("POST",), words: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Decorate an HTTP view: each request with one of `methods` counts as one `action`. `words`: the fields
    (of a form or JSON) that carry the person's own words (support.own_words): crisis words in them get the
    allowance of enforce, and a refusal still screens them."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if words:
                mark_own_words(words)  # before the limit: its refusal needs them too
            if request.method not in methods:
                return view(*args, **kwargs)
            crisis = submission_is_crisis if words else None
            if not rules()[action].accepted_only:
                enforce(action, current_user, crisis=crisis)
                return view(*args, **kwargs)
            counter = admit(action, current_user, crisis=crisis)
            response = make_response(view(*args, **kwargs))
            if counter is not None and response.status_code < 400:
                record(counter, current_user)
            return response

        return cast(F, wrapper)

    return decorate


def submission_is_crisis() -> bool:
    """Whether the person's own words this request sends (support.own_words) screen as crisis."""
    from forum.services.screening import screen_text
    from forum.support import words_in_request

    words = words_in_request()
    return bool(words) and screen_text(words).level == "crisis"
