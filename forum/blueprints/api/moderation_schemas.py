"""Schemas for the moderation API: the queue, claims, actions, reports, check-ins and live screening."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from forum import limits
from forum.models.moderation import ACTIONS, REPORT_KINDS
from forum.services.moderation_actions import MAX_RESTRICTION_HOURS, NOTE_MAX

from .schemas import SupportOut


class UserRef(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


class ItemOut(Schema):
    id = fields.Integer(required=True)
    target_type = fields.String(required=True)
    target_id = fields.Integer(required=True)
    subject = fields.Nested(
        UserRef, allow_none=True, metadata={"description": "Null when nobody is still here, or when anonymous."}
    )
    subject_anonymous = fields.Boolean(
        metadata={"description": "The item is about an anonymous post: its writer is not named (a reveal is audited)."}
    )
    priority = fields.String(required=True)
    level = fields.String(required=True)
    score = fields.Float(allow_none=True)
    reasons = fields.List(fields.Dict(), required=True)
    signals = fields.List(fields.Dict(), required=True)
    model_version = fields.String(allow_none=True)
    status = fields.String(required=True)
    claimed_by = fields.Nested(UserRef, allow_none=True)
    claimed_until = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    escalated = fields.Boolean(required=True)
    waiting_since = fields.String(required=True)
    created_at = fields.String(required=True)
    first_action_at = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)


class QueueQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(("open", "resolved")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


class QueueOut(Schema):
    items = fields.List(fields.Nested(ItemOut), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ClaimIn(Schema):
    version = fields.Integer(required=True, strict=True)


class ActionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    note = fields.String(load_default="", validate=validate.Length(max=NOTE_MAX + 100))
    version = fields.Integer(required=True, strict=True)
    hours = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_RESTRICTION_HOURS)
    )


class ReportIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(REPORT_KINDS))
    reason = fields.String(load_default="", validate=validate.Length(max=limits.REPORT_REASON_MAX + 100))


class ReportOut(Schema):
    id = fields.Integer(required=True)
    post_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class CheckInIn(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=1100))
    source = fields.String(
        load_default="support_panel",
        validate=validate.OneOf(("post", "draft", "journal", "homework", "chat", "support_panel")),
    )


class CheckInOut(Schema):
    requested = fields.Boolean(required=True)


class ScreenIn(Schema):
    text = fields.String(required=True, validate=validate.Length(max=limits.BODY_MAX + 100))


class GuideLink(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    url = fields.String(required=True)


class ScreenOut(Schema):
    """What a writer's draft calls for: the level, the guides that fit (with their titles, to link), and the
    support panel's contents (crisis lines included) when the words need one."""

    level = fields.String(required=True)
    area = fields.String(allow_none=True, required=True)
    guides = fields.List(fields.String(), required=True)
    guide_links = fields.List(fields.Nested(GuideLink), required=True)
    support = fields.Nested(SupportOut, allow_none=True, required=True)
