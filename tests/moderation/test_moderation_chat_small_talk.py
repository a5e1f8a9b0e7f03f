"""Live chat small talk must not page moderators; crisis goodbyes on the same words must.

The small-talk lines here were written separately from the training pools (moderation/data/fragments.py
CHAT_SMALL_TALK, CRISIS_GOODBYES) and none of them is a training row.
"""

from __future__ import annotations

import pytest

from moderation import classifier, screen

SMALL_TALK = [
    "Thanks for being here tonight.",
    "good night all",
    "anyone around tonight?",
    "goodbye for now, off to bed",
    "hi there",
    "see you all tomorrow, take care",
    "bye for now!",
    "night night, thanks everyone",
    "I am off to sleep, goodnight",
    "had a rough day but this chat helped, goodnight",
    "evening everyone, how are we all",
    "anybody still up?",
    "6, a bit meh but ok",
    "same honestly",
    "sending you a hug",
    "logging off now, see you at the next check-in",
    "thank you so much for tonight, you lot are the best",
    "heading to bed, night all x",
    "tonight's group was really nice",
    "ok I'm going to sleep, talk tomorrow",
    "goodnight and thanks for listening",
]

CRISIS_GOODBYES = [
    "goodbye forever",
    "you won't ever hear from me again after this, thank you all",
    "thank you for everything, I won't be around anymore",
    "I'm going to sleep and not waking up",
    "goodnight everyone, I won't be here tomorrow",
    "thanks for everything, this is goodbye for good",
    "bye everyone, I'm ending it tonight",
    "this will be my last message, thank you all",
    "by the time anyone reads this I'll be gone",
    "I want to fall asleep tonight and never wake up",
]


# Not making it to a group, and last weeks of ordinary things, written before the ordinary readings of "this
# is my last week" in the lexicon (moderation/lexicon.py _LAST_OF_SOMETHING). Before them four screened crisis:
# the two "last week" lines by that rule (0.90), and the first two by the model (0.77, 0.55), which still reads
# them as crisis (0.79, 0.66): "make it" and "tonight" lean on crisis rows ("not going to make it through
# tonight"). Training lines about missing a group fixed those two but moved others across the threshold, so
# they are kept as known misses (strict: the day they pass, the mark must go) and named in the model card.
ATTENDANCE = [
    "I'm not going to make it to the group tonight, sorry everyone.",
    "I can't make it tomorrow, I'll catch up next week.",
    "won't make it to the check-in on thursday, dentist",
    "can't make it tonight, have fun all",
    "Sorry I couldn't make it last week, the kids were ill.",
    "This is my last week before the baby is due!",
    "this is my last week at the old job, feeling weirdly sad",
]
MODEL_STILL_MISREADS = set(ATTENDANCE[:2])
CRISIS_ON_ATTENDANCE_WORDS = [
    "I'm not going to make it through tonight, I have the pills here",
    "this is my last night, I've written my note",
    "I won't make it to the weekend, I'm going to end it",
]


def test_small_talk_lines_are_not_training_rows() -> None:
    train = {r["text"].strip().lower() for r in classifier.read_csv(classifier.DATA_DIR / "screening_train.csv")}
    lines = SMALL_TALK + CRISIS_GOODBYES + ATTENDANCE + CRISIS_ON_ATTENDANCE_WORDS
    assert not {t.lower() for t in lines} & train


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(text, marks=pytest.mark.xfail(strict=True, reason="known false crisis: 'make it' (MODEL_CARD)"))
        if text in MODEL_STILL_MISREADS
        else text
        for text in ATTENDANCE
    ],
)
def test_missing_a_group_or_a_last_ordinary_week_is_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


@pytest.mark.parametrize("text", CRISIS_ON_ATTENDANCE_WORDS)
def test_crisis_on_the_words_of_attendance_is_crisis(text: str) -> None:
    assert screen(text).level == "crisis"


@pytest.mark.parametrize("text", SMALL_TALK)
def test_chat_small_talk_is_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


@pytest.mark.parametrize("text", CRISIS_GOODBYES)
def test_crisis_goodbyes_are_crisis(text: str) -> None:
    assert screen(text).level == "crisis"
