"""The small non-English safety net: direct first-person ideation in es, fr, de, pt, it."""

from __future__ import annotations

import pytest

from moderation import screen

FIRST_PERSON_INTENT = [
    ("quiero morir", "ideation_es"),
    ("me quiero matar", "ideation_es"),
    ("Me voy a suicidar esta noche", "ideation_es"),
    ("je veux mourir", "ideation_fr"),
    ("je vais me suicider", "ideation_fr"),
    ("J'ai envie de mourir", "ideation_fr"),
    ("ich will sterben", "ideation_de"),
    ("ich bringe mich um", "ideation_de"),
    ("Ich möchte sterben", "ideation_de"),
    ("quero morrer", "ideation_pt"),
    ("vou me matar", "ideation_pt"),
    ("não quero mais viver", "ideation_pt"),
    ("voglio morire", "ideation_it"),
    ("mi voglio uccidere", "ideation_it"),
    ("non voglio più vivere", "ideation_it"),
]


@pytest.mark.parametrize(("text", "label"), FIRST_PERSON_INTENT)
def test_first_person_ideation_in_other_languages_is_crisis(text: str, label: str) -> None:
    result = screen(text)
    assert result.level == "crisis", result
    assert any(s.kind == "lexicon" and s.label == label for s in result.signals), result.signals


@pytest.mark.parametrize(
    "text",
    ["no quiero morir", "je ne veux pas mourir", "ich will nicht sterben", "não quero morrer", "non voglio morire"],
)
def test_negated_other_language_phrases_are_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


@pytest.mark.parametrize("text", ["mi hermano habla de suicidio", "ein Artikel über Suizid", "un film sur le suicide"])
def test_other_language_mentions_of_suicide_are_at_least_concern(text: str) -> None:
    assert screen(text).level in ("concern", "crisis")
