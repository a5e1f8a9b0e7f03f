"""Bad and odd input never raises and always yields a level."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import screen, screen_many

LEVELS = {"none", "concern", "crisis"}

ODD_INPUTS: list[Any] = [
    "",
    None,
    "   \n\t ",
    "a" * 100_000,
    ("hello " * 20_000) + "i want to kill myself",
    "<script>alert(1)</script><b>hi</b>",
    "😀😀😀",
    "🔪",
    "me siento muy triste hoy",
    "我今天很难过",
    "\x00\x01\x02\x1b[31m",
    "a\ud800b",
    "\ud83d",
    b"bytes input",
    12345,
    "\u200b\u200b\u200b",
]


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_inputs_never_raise_and_return_a_level(text: Any) -> None:
    result = screen(text)
    assert result.level in LEVELS
    assert 0.0 <= result.score <= 1.0


def test_giant_text_still_catches_a_crisis_at_the_end() -> None:
    text = ("just a normal day at the office. " * 4000) + "goodbye everyone, this is my last post"
    result = screen(text)
    assert result.level == "crisis"
    sig = next(s for s in result.signals if s.kind == "lexicon")
    assert text[sig.start : sig.end] == sig.phrase


def test_empty_text_gets_no_guides_and_substantive_text_gets_some() -> None:
    assert screen("").guides == []
    assert 1 <= len(screen("hello, first post here").guides) <= 3


def test_screen_many_handles_mixed_bad_inputs() -> None:
    results = screen_many(ODD_INPUTS)
    assert len(results) == len(ODD_INPUTS)
    assert all(r.level in LEVELS for r in results)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_screen_never_raises_on_arbitrary_text(text: str) -> None:
    result = screen(text)
    assert result.level in LEVELS
    for sig in result.signals:
        assert 0 <= sig.start <= sig.end <= len(text)
