"""Small pieces the page blueprints share."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import session
from flask_wtf import FlaskForm

from forum.services.errors import ServiceError
from forum.services.screening import ScreenResult


def show_field_errors(form: FlaskForm, error: ServiceError) -> None:
    """Put a service's field errors on the form, so the person sees them next to the field."""
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        # A hidden field (the device's date, an idempotency key) shows nothing: its error goes at the top.
        if field is not None and field.type != "HiddenField":
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.append(" ".join(messages))
    if not error.fields:
        form.form_errors.append(error.message)


@dataclass
class Caught:
    """What `invalid_input` caught: the service's validation error, or None when the call went through."""

    error: ServiceError | None = None


@contextmanager
def invalid_input(form: FlaskForm | None = None) -> Iterator[Caught]:
    """Catch a service's 422 so the view can answer with the form again; every other error propagates.

    With a form, the error's messages go onto its fields. Check `caught.error is None` before using the result.
    """
    caught = Caught()
    try:
        yield caught
    except ServiceError as error:
        if error.status != 422:
            raise
        caught.error = error
        if form is not None:
            show_field_errors(form, error)


def remember_support(result: ScreenResult) -> bool:
    """Show the support panel on the next page (True); only the level and guides go in the cookie."""
    if result.level in ("crisis", "concern", "unknown"):
        session["support"] = {"level": result.level, "guides": result.guides[:3]}
        return True
    if result.guides:
        session["suggested_guides"] = result.guides[:3]
    return False


def take_support() -> dict[str, Any] | None:
    return session.pop("support", None)


def fresh_idempotency_key() -> str:
    return secrets.token_urlsafe(16)
