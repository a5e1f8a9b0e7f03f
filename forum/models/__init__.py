"""SQLAlchemy models, one module per domain. Models never commit: services own transactions."""

from forum.models.accounts import ROLES, ApiToken, User
from forum.models.base import utcnow
from forum.models.community import Block
from forum.models.forum import Board, Post, PostRevision, Thread
from forum.models.moderation import AuditLog, ReviewEvent, ReviewItem, ScreeningRecord

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditLog",
    "Block",
    "Board",
    "Post",
    "PostRevision",
    "ReviewEvent",
    "ReviewItem",
    "ScreeningRecord",
    "Thread",
    "User",
    "utcnow",
]
