"""SQLAlchemy models, one module per domain. Models never commit: services own transactions."""

from forum.models.accounts import ROLES, ApiToken, RetiredName, User
from forum.models.base import utcnow
from forum.models.chat import ChatMessage, ChatMute, ChatReadMark, ChatRoom, CheckIn, CheckInMood, CheckInParticipant
from forum.models.community import Block, BoardFollow, Bookmark, Reaction, ThreadWatch
from forum.models.forum import Board, Post, PostRevision, Thread
from forum.models.moderation import (
    AuditLog,
    ModeratorMessage,
    PeerReport,
    ReviewDecision,
    ReviewEvent,
    ReviewItem,
    ScreeningRecord,
)
from forum.models.notifications import Notification, NotificationSetting
from forum.models.practice import HomeworkItem, JournalEntry, MoodEntry, RelapsePlan

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditLog",
    "Block",
    "Board",
    "BoardFollow",
    "Bookmark",
    "ChatMessage",
    "ChatMute",
    "ChatReadMark",
    "ChatRoom",
    "CheckIn",
    "CheckInMood",
    "CheckInParticipant",
    "HomeworkItem",
    "JournalEntry",
    "ModeratorMessage",
    "MoodEntry",
    "Notification",
    "NotificationSetting",
    "PeerReport",
    "Post",
    "PostRevision",
    "Reaction",
    "RelapsePlan",
    "RetiredName",
    "ReviewDecision",
    "ReviewEvent",
    "ReviewItem",
    "ScreeningRecord",
    "Thread",
    "ThreadWatch",
    "User",
    "utcnow",
]
