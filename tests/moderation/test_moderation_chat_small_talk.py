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


def test_small_talk_lines_are_not_training_rows() -> None:
    train = {r["text"].strip().lower() for r in classifier.read_csv(classifier.DATA_DIR / "screening_train.csv")}
    assert not {t.lower() for t in SMALL_TALK + CRISIS_GOODBYES} & train


@pytest.mark.parametrize("text", SMALL_TALK)
def test_chat_small_talk_is_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


@pytest.mark.parametrize("text", CRISIS_GOODBYES)
def test_crisis_goodbyes_are_crisis(text: str) -> None:
    assert screen(text).level == "crisis"
