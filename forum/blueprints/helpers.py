"""Small pieces the page blueprints share."""

from __future__ import annotations

import secrets
from typing import Any

from flask import session
from flask_wtf import FlaskForm

from forum.services.errors import ServiceError
from forum.services.screening import ScreenResult


def show_field_errors(form: FlaskForm, error: ServiceError) -> None:
    """Put a service's field errors on the form, so the person sees them next to the field."""
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.append(" ".join(messages))
    if not error.fields:
        form.form_errors.append(error.message)


def remember_support(result: ScreenResult) -> None:
    """Show the support panel on the next page; only the level and guides go in the cookie."""
    if result.level in ("crisis", "concern", "unknown"):
        session["support"] = {"level": result.level, "guides": result.guides[:3]}
    elif result.guides:
        session["suggested_guides"] = result.guides[:3]


def take_support() -> dict[str, Any] | None:
    return session.pop("support", None)


def fresh_idempotency_key() -> str:
    return secrets.token_urlsafe(16)
