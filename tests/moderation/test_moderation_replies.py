"""A supportive reply, or a post telling of a death, must not page moderators or collapse behind a crisis note; a
crisis post on the same words must.

Most of a forum's posts are replies, and a kind reply echoes the hard things it answers: "I'm so sorry",
"hold on", "I lost my mum too". Before the replies pool (moderation/data/fragments.py SUPPORTIVE_REPLIES),
the training data had no replies at all, "so sorry" was in crisis rows only, and "I'm so sorry. The coat
thing - I did the same with my mum's scarf" screened crisis (0.67). The first line below is that reported
reply, which shaped the pool; the others were written before the pool, separately from it, and none of them
is a training row.

The grief board's commonest post tells of a death with a time ("my mum passed last month"), and "last month",
"last year" and "last night" were in crisis and concern rows only: of the eight LOSSES below, written before the
losses pool (LOSS_NEWS) and separately from it, three screened crisis.

Ordinary posts end with thanks ("thank you for reading all this") and replies with a warm word ("thinking of you
today"), and "thanks for reading" was in crisis and concern context only: the first screened crisis (0.70) and
the second concern (0.44). The CLOSINGS below were written after those two were seen and before the closings
pool (CLOSINGS), separately from it; the first two are the lines that were seen.
"""

from __future__ import annotations

import pytest

from moderation import classifier, screen

REPORTED = "I'm so sorry. The coat thing - I did the same with my mum's scarf. It helped to have something to hold."

REPLIES = [
    REPORTED,
    "So sorry for your loss. Thinking of you this week.",
    "I'm so sorry you're going through this, it sounds exhausting.",
    "That sounds really hard. I'm glad you posted here.",
    "I lost my dad two years ago and the first winter was the worst. It does get gentler.",
    "Sending you a big hug. You're not on your own with this.",
    "I'm sorry your sister said that, it wasn't fair on you.",
    "Hold on to the good days when they come, they count.",
    "I'm so sorry. Grief is exhausting and you're doing better than you think.",
    "Thank you for sharing this, I recognised so much of myself in it.",
    "Sorry to hear about the job. Starting over at 50 is brave.",
    "I'm here if you want to talk more about it.",
    "I kept my nan's cardigan for years. I still wear it sometimes.",
    "Oh I'm so sorry, that must have been such a shock.",
    "You did nothing wrong by needing a break from him.",
    "It took me months before I could go into her room. Be gentle with yourself.",
]

LOSSES = [
    "My mum passed last month and I keep picking up the phone to call her.",
    "My dad died last year and Christmas is coming up again.",
    "We lost our little boy in the spring. Some mornings I can't get out of bed.",
    "It's been six weeks since my husband passed and the house is so quiet.",
    "Grandad passed away last week. We were close.",
    "My best friend died in a car accident last month and I keep replaying our last conversation.",
    "Since my sister passed I don't know who I am in the family anymore.",
    "Our dog had to be put down last night and I'm in pieces.",
]

CRISIS_ON_THE_SAME_WORDS = [
    "I'm so sorry to everyone here, I can't hold on any longer and tonight I'm ending it",
    "Sorry for being a burden. I have the pills and I'm going to take them all tonight.",
    "I'm so sorry mum, I just can't keep living like this, I want to die",
    "I can't hold on anymore. I've written the notes and I'm going to kill myself.",
    "My dad died last year and I want to be with him, I'm going to end my life tonight.",
    "Since mum passed last month I've been saving my pills and I'm ready to take them.",
]


CLOSINGS = [
    "Thank you for reading all this.",
    "Thinking of you today.",
    "Sorry for the wall of text, thanks to anyone who reads it.",
    "Long post, sorry. Thank you if you made it to the end.",
    "I got the job! Thank you for reading and for all your kindness.",
    "Thinking of you and your family this week.",
]

CRISIS_WITH_A_CLOSING = [
    "Thanks for reading. I will be gone by morning, I have the pills.",
    "Thank you all for reading. This is goodbye, I am ending it tonight.",
]


def test_the_lines_here_are_not_training_rows() -> None:
    train = {r["text"].strip().lower() for r in classifier.read_csv(classifier.DATA_DIR / "screening_train.csv")}
    written = REPLIES + LOSSES + CRISIS_ON_THE_SAME_WORDS + CLOSINGS + CRISIS_WITH_A_CLOSING
    assert not {t.lower() for t in written} & train


@pytest.mark.parametrize("text", CLOSINGS)
def test_thanks_for_reading_or_a_warm_word_is_no_risk(text: str) -> None:
    assert screen(text).level == "none"


@pytest.mark.parametrize("text", CRISIS_WITH_A_CLOSING)
def test_crisis_that_ends_with_thanks_is_still_crisis(text: str) -> None:
    assert screen(text).level == "crisis"


@pytest.mark.parametrize("text", REPLIES)
def test_a_supportive_reply_is_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


@pytest.mark.parametrize("text", LOSSES)
def test_a_post_telling_of_a_death_is_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


@pytest.mark.parametrize("text", CRISIS_ON_THE_SAME_WORDS)
def test_crisis_on_a_replys_words_is_still_crisis(text: str) -> None:
    assert screen(text).level == "crisis"
