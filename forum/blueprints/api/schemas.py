"""Marshmallow schemas: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from forum import limits
from forum.security import ID_MAX


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    retry_after = fields.Integer()
    # "fields" would shadow the marshmallow module inside the class body, so it is declared by name.
    fields_ = fields.Dict(keys=fields.String(), values=fields.Raw(), data_key="fields")
    # A refusal of words that need it carries the support panel (README, "When Hearth says no").
    support = fields.Dict(metadata={"description": "The support panel: crisis lines, words, guides."})
    # A 409 on a review item carries its fresh state, to act on again.
    item = fields.Dict(metadata={"description": "The review item as it is now."})
    suspended_until = fields.String(metadata={"description": "Set when the account is suspended (401)."})


class ApiError(Schema):
    error = fields.Nested(ErrorDetail, required=True)


class UserCreate(Schema):
    username = fields.String(required=True, validate=validate.Length(max=limits.USERNAME_MAX))
    password = fields.String(required=True, validate=validate.Length(max=limits.PASSWORD_MAX))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=limits.EMAIL_MAX))


class UserOut(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class TokenCreate(Schema):
    username = fields.String(required=True, validate=validate.Length(max=limits.USERNAME_MAX))
    password = fields.String(required=True, validate=validate.Length(max=limits.PASSWORD_MAX))


class TokenOut(Schema):
    token = fields.String(required=True)


class BoardOut(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    area = fields.String(allow_none=True)
    thread_count = fields.Integer(required=True)
    post_count = fields.Integer(required=True)


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


class ThreadCreate(Schema):
    title = fields.String(required=True, validate=validate.Length(max=limits.TITLE_MAX + 50))
    body = fields.String(required=True, validate=validate.Length(max=limits.BODY_MAX + 100))
    content_note = fields.String(load_default=None, allow_none=True)
    anonymous = fields.Boolean(load_default=False)
    idempotency_key = fields.String(load_default=None, allow_none=True)


class PostCreate(Schema):
    body = fields.String(required=True, validate=validate.Length(max=limits.BODY_MAX + 100))
    content_note = fields.String(load_default=None, allow_none=True)
    anonymous = fields.Boolean(load_default=False)
    idempotency_key = fields.String(load_default=None, allow_none=True)
    reply_to_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=ID_MAX))


class PostPatch(Schema):
    body = fields.String(required=True, validate=validate.Length(max=limits.BODY_MAX + 100))
    content_note = fields.String(load_default=None, allow_none=True)


class PostOut(Schema):
    id = fields.Integer(required=True)
    thread_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    author = fields.String(allow_none=True, required=True)
    author_role = fields.String(allow_none=True)  # "moderator" or "admin" on a staff author's named post
    body_html = fields.String(allow_none=True, required=True)
    # Set when the viewer blocked or muted the author, or was blocked by them: body_html is then null.
    hidden_reason = fields.String(allow_none=True)
    content_note = fields.String(allow_none=True)
    visibility = fields.String(required=True)
    deleted = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    edited_at = fields.DateTime(allow_none=True)


class ThreadOut(Schema):
    id = fields.Integer(required=True)
    board = fields.String(required=True)
    title = fields.String(required=True)
    author = fields.String(allow_none=True, required=True)
    pinned = fields.Boolean(required=True)
    locked = fields.Boolean(required=True)
    post_count = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    last_activity_at = fields.DateTime(required=True)


class ThreadPage(Schema):
    threads = fields.List(fields.Nested(ThreadOut), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class ThreadDetail(ThreadOut):
    posts = fields.List(fields.Nested(PostOut), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class SupportResource(Schema):
    name = fields.String(required=True)
    contact = fields.String(allow_none=True)
    url = fields.String(allow_none=True)


class SupportOut(Schema):
    level = fields.String(required=True)
    resources = fields.List(fields.Nested(SupportResource), required=True)
    words = fields.List(fields.String(), required=True)
    guides = fields.List(fields.String(), required=True)
    can_request_check_in = fields.Boolean(required=True)


class ScreeningOut(Schema):
    level = fields.String(required=True)
    area = fields.String(allow_none=True, required=True)
    guides = fields.List(fields.String(), required=True)
    support = fields.Nested(SupportOut, allow_none=True)


class ThreadCreated(Schema):
    thread = fields.Nested(ThreadOut, required=True)
    post = fields.Nested(PostOut, required=True)
    screening = fields.Nested(ScreeningOut, required=True)
    created = fields.Boolean(required=True)


class PostCreated(Schema):
    post = fields.Nested(PostOut, required=True)
    screening = fields.Nested(ScreeningOut, required=True)
    created = fields.Boolean(required=True)


class ScreenRequest(Schema):
    text = fields.String(required=True, validate=validate.Length(max=limits.BODY_MAX + 100))
