"""Marshmallow schemas for search, notifications and reactions."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from forum.models.community import REACTION_KINDS
from forum.models.notifications import NOTIFICATION_KINDS
from forum.search import QUERY_MAX, SORTS
from forum.security import ID_MAX


class SearchQuery(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=QUERY_MAX))
    board = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    author = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=31))
    sort = fields.String(load_default="relevant", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))


class SearchHitOut(Schema):
    post_id = fields.Integer(required=True)
    thread_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    board = fields.String(required=True)
    author = fields.String(required=True)
    title_html = fields.String(required=True, metadata={"description": "Escaped title; matches wrapped in <mark>."})
    snippet_html = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Escaped text; only <mark>. Null behind a content note."},
    )
    content_note = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class SearchSupport(Schema):
    level = fields.String(required=True)
    guides = fields.List(fields.String(), required=True)


class SearchOut(Schema):
    hits = fields.List(fields.Nested(SearchHitOut), required=True)
    page = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)
    withheld = fields.Boolean(
        required=True, metadata={"description": "True when the query sought ways to self-harm: no posts, only support."}
    )
    no_words = fields.Boolean(
        required=True,
        metadata={"description": "True when the query had no word in it (only emoji, symbols or punctuation)."},
    )
    support = fields.Nested(SearchSupport, allow_none=True)


class NotificationOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(NOTIFICATION_KINDS))
    actor = fields.String(required=True)
    thread_id = fields.Integer(allow_none=True)
    post_id = fields.Integer(allow_none=True)
    body_html = fields.String(required=True)
    url = fields.String(allow_none=True)
    read = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class NotificationList(Schema):
    notifications = fields.List(fields.Nested(NotificationOut), required=True)
    unread = fields.Integer(required=True)


class NotificationListQuery(Schema):
    # Bounded like every id in a URL (forum.security.DatabaseId): PostgreSQL refuses a larger number with an error.
    before = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=ID_MAX))


class MarkRead(Schema):
    """Which notifications to mark read: these ids, or all of them. Marking everything is said outright,
    so a body that lost its ids on the way (or none at all) cannot clear someone's whole list."""

    ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=ID_MAX)),
        load_default=None,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The notifications to mark read."},
    )
    all = fields.Boolean(load_default=False, metadata={"description": "true marks every notification read."})

    @validates_schema
    def _one_choice(self, data: dict[str, Any], **_: Any) -> None:
        if data["ids"] is None and not data["all"]:
            raise ValidationError('Send "ids" (the notifications to mark read) or "all": true.', "ids")
        if data["ids"] is not None and data["all"]:
            raise ValidationError('Send "ids" or "all": true, not both.', "all")


class UnreadOut(Schema):
    unread = fields.Integer(required=True)


class ReactionCounts(Schema):
    counts = fields.Dict(
        keys=fields.String(validate=validate.OneOf(REACTION_KINDS)), values=fields.Integer(), required=True
    )
