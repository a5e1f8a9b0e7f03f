"""Screening a piece of writing and recording what was found. Never loses the writing."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

import moderation
from forum.models import ScreeningRecord

log = logging.getLogger(__name__)

# "unknown": the screen itself failed or ran without its model; treated as urgent, never as safe.
URGENT_LEVELS = ("crisis", "unknown")


@dataclass(frozen=True)
class ScreenResult:
    level: str
    score: float | None
    area: str | None
    guides: list[str]
    signals: list[dict[str, Any]] = field(default_factory=list)
    model_version: str | None = None
    error: str | None = None

    @property
    def needs_review(self) -> bool:
        return self.level in ("crisis", "concern", "unknown")

    @property
    def is_urgent(self) -> bool:
        return self.level in URGENT_LEVELS

    def for_author(self) -> dict[str, Any]:
        """What the writer is told: never scores or signals, which are for moderators."""
        return {"level": self.level, "area": self.area, "guides": self.guides}


def screen_text(text: str) -> ScreenResult:
    try:
        screening = moderation.screen(text)
    except Exception as exc:  # the engine promises not to raise; if it does, the post still counts
        log.exception("screening failed; saving as risk unknown")
        return ScreenResult(level="unknown", score=None, area=None, guides=["safe-space"], error=repr(exc))
    return _from_screening(screening)


def _from_screening(screening: Any) -> ScreenResult:
    signals = [_signal_dict(signal) for signal in screening.signals]
    level = screening.level
    error = None
    if getattr(screening, "degraded", False):
        # Only the safety net ran: a crisis match stands, anything else is "we don't know".
        error = "model unavailable; safety net only"
        if level != "crisis":
            level = "unknown"
    return ScreenResult(
        level=level,
        score=float(screening.score),
        area=screening.area,
        guides=list(screening.guides),
        signals=signals,
        model_version=screening.model_version,
        error=error,
    )


def _signal_dict(signal: Any) -> dict[str, Any]:
    # moderation.Signal is a slotted dataclass: keep its fields (kind, label, phrase, start, end) so the
    # moderator's page can highlight the phrase at its offsets.
    if dataclasses.is_dataclass(signal) and not isinstance(signal, type):
        return dataclasses.asdict(signal)
    if hasattr(signal, "to_dict"):
        return dict(signal.to_dict())
    if isinstance(signal, dict):
        return dict(signal)
    return {"detail": str(signal)}


def record(session: Session, target_type: str, target_id: int, result: ScreenResult) -> ScreeningRecord:
    row = ScreeningRecord(**record_columns(target_type, target_id, result))
    session.add(row)
    session.flush()
    return row


_INSERT_RECORD = insert(ScreeningRecord.__table__)


def insert_record(connection: Connection, target_type: str, target_id: int, result: ScreenResult) -> None:
    """record() as one Core insert, for writers that need no ScreeningRecord object back (nothing to review)."""
    connection.execute(_INSERT_RECORD, record_columns(target_type, target_id, result))


def record_columns(target_type: str, target_id: int, result: ScreenResult) -> dict[str, Any]:
    """A screening record's columns, for record(), insert_record() and writers with Core inserts of their own."""
    return {
        "target_type": target_type,
        "target_id": target_id,
        "level": result.level,
        "score": result.score,
        "signals": result.signals,
        "area": result.area,
        "guides": result.guides,
        "model_version": result.model_version,
        "error": result.error,
    }


def result_from_record(row: ScreeningRecord | None) -> ScreenResult:
    if row is None:
        return ScreenResult(level="none", score=None, area=None, guides=[])
    return ScreenResult(
        level=row.level,
        score=row.score,
        area=row.area,
        guides=list(row.guides),
        signals=list(row.signals),
        model_version=row.model_version,
        error=row.error,
    )


_QUOTING = ("phrase", "start", "end")


def forget_phrases(session: Session, target_type: str, target_ids: list[int]) -> None:
    """The writing is gone (taken back, or erased with the account): its screenings keep their verdict
    (level, score, which rules fired) for the moderators, but not the phrases they matched, which quote it."""
    if not target_ids:
        return
    records = session.scalars(
        select(ScreeningRecord).where(
            ScreeningRecord.target_type == target_type, ScreeningRecord.target_id.in_(target_ids)
        )
    )
    for record in records:
        record.signals = [{k: v for k, v in signal.items() if k not in _QUOTING} for signal in record.signals]
