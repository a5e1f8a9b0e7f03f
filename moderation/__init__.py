"""Hearth moderation: crisis screening and IPT problem-area routing.

Pure Python + scikit-learn (training only); nothing here imports Flask.

    >>> from moderation import screen
    >>> screen("this commute is killing me").level
    'none'
"""

from __future__ import annotations

from .areas import GUIDE_SLUGS
from .classifier import ModelLoadError
from .engine import Screening, Signal, model_status, reset, screen, screen_many

__all__ = [
    "GUIDE_SLUGS",
    "ModelLoadError",
    "Screening",
    "Signal",
    "model_status",
    "reset",
    "screen",
    "screen_many",
]
