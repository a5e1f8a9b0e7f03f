"""Keyed hashes for values Hearth must recognise again but never keep in clear (addresses, retired names)."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def keyed_hash(purpose: bytes, value: str) -> str:
    """HMAC-SHA256 of value under a key derived per purpose, so one purpose's hashes say nothing of another's.

    The base secret is RATELIMIT_ADDRESS_SECRET when set, else SECRET_KEY; the session-signing key is never
    used directly. Rotating the base secret makes every stored hash unrecognisable, which is the point.
    """
    base = current_app.config.get("RATELIMIT_ADDRESS_SECRET") or current_app.config["SECRET_KEY"]
    key = hmac.new(str(base).encode(), b"hearth:" + purpose, hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
