"""Personal practice between sessions: homework from the guides, a private journal, a mood log, a relapse plan.

Importing this package registers each part with forum.services.personal_data (export and account deletion).
"""

from forum.services.practice import homework, journal, mood, plan

__all__ = ["homework", "journal", "mood", "plan"]
