"""The safety net catches crisis however it is written; scope never hides it."""

from __future__ import annotations

import pytest

from moderation import screen

CRISIS_FORMS = [
    # direct and passive ideation
    "i want to kill myself",
    "I wish I wasn't here",
    "everyone would be better off without me",
    "I don't want to wake up tomorrow",
    "i just want to die",
    "i don't want to live anymore",
    # plans and means
    "i've been stockpiling my pills",
    "bought a rope, the beam in the garage will hold",
    "i keep thinking about the bridge tonight",
    "i wrote my note last night",
    "i've picked a date, it's happening on friday and then it's over",
    "took all of my pills an hour ago",
    # means-seeking questions
    "how many tylenol does it take to die",
    "how much paracetamol would it take",
    "how long does it take to bleed out",
    "how high does a bridge need to be",
    # goodbyes
    "this is my last post",
    "goodbye everyone, thank you for everything",
    # self-harm
    "i started cutting again",
    "burned myself with a lighter on purpose",
    # slang and coded words
    "kms",
    "honestly might just kms",
    "i wanna unalive myself",
    "thinking about sewerslide",
    "ready to ctb",
    "i think it's time to catch the bus, goodbye",
    "i should just kys",
    # misspellings
    "i want to commit suicde",
    "i want to commit sucide",
    "i want to kil myself",
    # spaced / dotted letters
    "i want to k i l l myself",
    "k.m.s",
    "k-m-s tonight",
    # leetspeak
    "i want to k1ll mys3lf",
    "$uicidal thoughts again",
    # zero width, homoglyphs, fullwidth
    "i want to ki\u200bll my\u200dself",
    "i want to kіll myself",  # Cyrillic i
    "ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ",
    # emoji with self-reference
    "🔪 me i'm done",
    "i want to 🪢 myself",
    "💊💊💊 all of them tonight",
    "⚰️ me please",
    # the means in hand, now (a member's write-back to the moderators was concern 0.41 before these rules)
    "Nobody is answering. I have the pills in my hand and I'm taking them now.",
    "i've got the tablets lined up",
    "holding my meds in my hand, taking them all now",
    "no one will miss me when I'm gone",
]


@pytest.mark.parametrize("text", CRISIS_FORMS)
def test_every_safety_net_form_is_screened_as_crisis(text: str) -> None:
    result = screen(text)
    assert result.level == "crisis", result
    assert any(s.kind == "lexicon" for s in result.signals)


@pytest.mark.parametrize("text", CRISIS_FORMS)
def test_lexicon_signal_offsets_point_into_the_original_text(text: str) -> None:
    for sig in screen(text).signals:
        if sig.kind == "lexicon":
            assert 0 <= sig.start < sig.end <= len(text)
            assert text[sig.start : sig.end] == sig.phrase


def test_spaced_letters_are_highlighted_as_written() -> None:
    text = "hey. i want to k i l l myself"
    sig = next(s for s in screen(text).signals if s.kind == "lexicon")
    assert sig.phrase == "k i l l myself"


BELOW_CRISIS = [
    "this commute is killing me",
    "I could kill for a coffee",
    "that exam murdered me",
    "dying of laughter at this thread",
    "I'm not suicidal, just tired",
    "my brother died by suicide five years ago",
    "two years ago I tried to end my life; today I'm doing better",
    "how do i help a friend who says she wants to kill herself",
    "new study on suicide rates in young men",
    "i need to catch the bus at 8 for work",
    "bye everyone, see you tomorrow",
    "my feet are killing me after that shift",
    "how many paracetamol can i take a day for my headache",
    "how high does a bridge need to be for a ship to pass under",
    "the vampire made him bleed out in the last episode",
    "Got my meds lined up in the weekly organiser",
    "I took my pills, taking them now with breakfast as the doctor said",
]


@pytest.mark.parametrize("text", BELOW_CRISIS)
def test_idioms_negation_third_person_and_recovery_stay_below_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


LOWERED = [
    ("i would never kill myself, i just feel stuck", "negated"),
    ("two years ago I tried to end my life; today I'm doing better", "past_or_recovery"),
    ("bye everyone, see you tomorrow", "ordinary_reading"),
]


@pytest.mark.parametrize(("text", "reason"), LOWERED)
def test_scope_rules_lower_but_never_clear_a_match(text: str, reason: str) -> None:
    result = screen(text)
    assert result.level in ("concern", "crisis")
    scope = [s for s in result.signals if s.kind == "scope"]
    assert any(s.label == reason for s in scope), result.signals
    lexicon = [s for s in result.signals if s.kind == "lexicon"]
    assert {(s.start, s.end) for s in scope} <= {(s.start, s.end) for s in lexicon}


def test_kys_aimed_at_someone_else_is_not_a_self_crisis() -> None:
    result = screen("kys loser")
    assert result.level != "crisis"
    assert any(s.label == "kys_other" for s in result.signals)


@pytest.mark.parametrize("text", ["nobody will miss me", "Nobody is answering. no one would even miss me."])
def test_nobody_will_miss_me_goes_to_the_moderators_as_concern(text: str) -> None:
    result = screen(text)
    assert result.level == "concern"
    assert any(s.kind == "lexicon" and s.label == "passive_ideation" for s in result.signals)
