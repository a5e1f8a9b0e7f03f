"""The lexicon's fast path (prefix dispatch) against the plain one-alternation path, and its pattern reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation import classifier, lexicon, screen_many
from moderation.engine import _RANK
from moderation.normalise import normalise
from moderation.patterns import first_chars, prefixes

ALL_FILES = (
    "screening_train.csv",
    "screening_holdout.csv",
    "areas_train.csv",
    "areas_holdout.csv",
    "screening_probe.csv",
)


def _all_texts() -> list[str]:
    return [r["text"] for name in ALL_FILES for r in classifier.read_csv(classifier.DATA_DIR / name)]


def test_fast_and_plain_lexicon_paths_find_identical_matches_on_all_data() -> None:
    texts = _all_texts()
    assert len(texts) > 3000
    for text in texts:
        norm = normalise(text)
        fast, plain = lexicon.scan(norm), lexicon.scan(norm, fast=False)
        assert fast == plain, text
        assert lexicon.lexicon_level(fast) == lexicon.lexicon_level(plain)


def test_every_rule_is_readable_so_the_fast_path_covers_it() -> None:
    unreadable = [r.pattern for r in lexicon.RULES if prefixes(r.pattern) is None]
    assert unreadable == []


def test_lexicon_uses_no_private_regex_internals() -> None:
    for module in ("lexicon.py", "patterns.py"):
        source = (Path(lexicon.__file__).parent / module).read_text(encoding="utf-8")
        assert "_parser" not in source and "_constants" not in source and "sre_" not in source


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bk+i+l", {"kk", "ki"}),
        (r"(?:ab|c)d?", {"ab", "c", "cd"}),
        (r"\b(?<!\bno )quiero", {"qu"}),
        (r"[xy]\d", {f"{a}{d}" for a in "xy" for d in "0123456789"}),
        ("\U0001faa2", {"\U0001faa2"}),
    ],
)
def test_prefix_reader_lists_every_possible_start(pattern: str, expected: set[str]) -> None:
    assert prefixes(pattern) == expected


@pytest.mark.parametrize("pattern", [r"a*", r".x", r"(?i)kms", r"\w+ing", r"(a)\1"])
def test_prefix_reader_gives_up_rather_than_guess(pattern: str) -> None:
    assert prefixes(pattern) is None


def test_first_chars_reads_groups_and_optional_atoms() -> None:
    assert first_chars(r"\b(?:x|y)?z") == {"x", "y", "z"}
    assert first_chars(r"\bq?") is None


def test_model_never_lowers_a_lexicon_level_on_any_data() -> None:
    texts = _all_texts()
    results = screen_many(texts)
    for text, result in zip(texts, results):
        lex = lexicon.lexicon_level(lexicon.scan(normalise(text)))
        assert _RANK[result.level] >= _RANK[lex], text
