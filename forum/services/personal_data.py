"""Where each feature declares the personal data it keeps, for export and for account deletion.

A feature registers once at import time:

    personal_data.register("journal", export=export_journal, erase=erase_journal)

export(user) returns JSON-ready data (and may include "markdown": {filename: text});
erase(session, user, keep_posts) deletes (or anonymises) that data inside the deletion's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from forum.models import User

Exporter = Callable[[User], dict[str, Any]]
Eraser = Callable[[Session, User, bool], None]


@dataclass(frozen=True)
class PersonalData:
    name: str
    export: Exporter
    erase: Eraser


_REGISTRY: dict[str, PersonalData] = {}


def register(name: str, *, export: Exporter, erase: Eraser) -> None:
    _REGISTRY[name] = PersonalData(name=name, export=export, erase=erase)


def registered() -> list[PersonalData]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]
