"""Show a moderator which phrases the screen matched: escape everything, wrap the matches in <mark>.

The offsets come from the screening's signals; the text is a member's words and is never trusted, so
every character goes through escape() and only our own <mark> tags are added.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape


def spans_for(text: str, signals: Iterable[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """(start, end, label) for each signal that really points at its phrase in this text, merged where they overlap."""
    found: list[tuple[int, int, str]] = []
    for signal in signals:
        span = _locate(text, signal)
        if span is not None:
            found.append((*span, str(signal.get("label") or signal.get("kind") or "")))
    return _merge(sorted(found))


def _locate(text: str, signal: dict[str, Any]) -> tuple[int, int] | None:
    phrase = signal.get("phrase")
    start, end = signal.get("start"), signal.get("end")
    if not isinstance(phrase, str) or not phrase:
        return None
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text) and text[start:end] == phrase:
        return start, end
    # The stored offsets index the text as screened (an opening post's title was screened with it);
    # fall back to the phrase itself so an edit or a different framing still shows the match.
    index = text.find(phrase)
    return (index, index + len(phrase)) if index >= 0 else None


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    merged: list[tuple[int, int, str]] = []
    for start, end, label in spans:
        if merged and start < merged[-1][1]:
            last_start, last_end, last_label = merged[-1]
            labels = last_label if label in last_label.split(", ") else f"{last_label}, {label}"
            merged[-1] = (last_start, max(last_end, end), labels)
        else:
            merged.append((start, end, label))
    return merged


def highlight(text: str, signals: Iterable[dict[str, Any]]) -> Markup:
    # The label in words too: a title is hover-only, out of reach of keyboards and screen readers.
    mark = Markup(
        '<mark title="{0}">{1}<span class="visually-hidden"> (matched: {0})</span></mark>'
    )  # format() escapes
    pieces: list[Markup] = []
    cursor = 0
    for start, end, label in spans_for(text, signals):
        pieces.append(escape(text[cursor:start]))
        pieces.append(mark.format(label.replace("_", " "), text[start:end]))
        cursor = end
    pieces.append(escape(text[cursor:]))
    return Markup("").join(pieces)
