"""Build Hearth's synthetic training and holdout CSVs from hand-written fragments.

Run: python -m moderation.data.build_data

Every fragment here was written for this project; no user content is used.
Each pool of fragments is split in two *before* combining, so the holdout
is built from phrasings the model never saw in training.  Holdout rows that
are still near-duplicates of a training row (word 3-gram Jaccard >= 0.8)
are dropped and the count is printed.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

from .fragments import (
    AREAS,
    CHAT_SMALL_TALK,
    CLOSINGS,
    CONCERN,
    CONTEXT_AFTER,
    CONTEXT_BEFORE,
    CRISIS,
    CRISIS_AFTER_LOSS,
    CRISIS_APOLOGIES,
    CRISIS_GOODBYES,
    EVERYDAY_IDIOMS,
    EXTRA_CRISIS,
    HARD_NEGATIVES,
    LOSS_NEWS,
    NEUTRAL_AFTER,
    NEUTRAL_BEFORE,
    ORDINARY,
    SHORT_CONCERN,
    SHORT_CRISIS,
    SHORT_UPDATES,
    SUPPORTIVE_REPLIES,
)

HERE = Path(__file__).resolve().parent
SEED = 20240611
HOLDOUT_EVERY = 4  # every 4th fragment (offset 1) is reserved for the holdout
NEAR_DUP = 0.8


def split_pool(pool: list[str]) -> tuple[list[str], list[str]]:
    train = [x for i, x in enumerate(pool) if i % HOLDOUT_EVERY != 1]
    hold = [x for i, x in enumerate(pool) if i % HOLDOUT_EVERY == 1]
    return train, hold


def typo(text: str, rng: random.Random) -> str:
    """One realistic slip: dropped, doubled or swapped letter."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.random()
    if kind < 0.4:
        w = w[:j] + w[j + 1 :]
    elif kind < 0.7:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def voice(text: str, rng: random.Random) -> str:
    """Forum voice: mostly lowercase, sometimes no apostrophes, a typo."""
    r = rng.random()
    if r < 0.6:
        text = text.lower()
    elif r < 0.7:
        text = text[:1].upper() + text[1:]
    if rng.random() < 0.3:
        text = text.replace("'", "")
    if rng.random() < 0.25:
        text = typo(text, rng)
    if rng.random() < 0.2:
        text = text.rstrip(".") + rng.choice(["", "..", " idk", " tbh", " :(", " ugh", ""])
    return text


def obfuscate(text: str, rng: random.Random) -> str:
    """How people dodge filters; the normaliser should undo all of these."""
    targets = ["kill", "myself", "suicide", "suicidal", "die", "end", "pills", "cut", "cutting"]
    present = [t for t in targets if re.search(rf"\b{t}\b", text, re.I)]
    if not present:
        return text
    t = rng.choice(present)
    style = rng.randrange(4)
    if style == 0:
        table = str.maketrans({"i": "1", "e": "3", "s": "$", "o": "0", "a": "4"})
        rep = t.translate(table)
    elif style == 1:
        rep = rng.choice([" ", ".", "-"]).join(t)
    elif style == 2:
        rep = t[:2] + "\u200b" + t[2:]
    else:
        rep = t[:-2] + t[-1] if len(t) > 4 else t + t[-1] * 3
    return re.sub(rf"\b{t}\b", rep, text, count=1, flags=re.I)


def compose(core: str, before: list[str], after: list[str], rng: random.Random) -> str:
    parts = []
    if rng.random() < 0.55:
        parts.append(rng.choice(before))
    parts.append(core)
    if rng.random() < 0.5:
        parts.append(rng.choice(after))
    return " ".join(parts)


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    if len(words) < 3:
        return {tuple(words)}
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def drop_near_duplicates(hold: list[dict[str, str]], train: list[dict[str, str]]) -> tuple[list[dict[str, str]], int]:
    """Remove holdout rows too similar to any training row (by word 3-grams)."""
    train_sh = [shingles(r["text"]) for r in train]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, sh in enumerate(train_sh):
        for g in sh:
            index.setdefault(g, []).append(i)
    kept: list[dict[str, str]] = []
    removed = 0
    for row in hold:
        sh = shingles(row["text"])
        candidates = {i for g in sh for i in index.get(g, [])}
        if any(jaccard(sh, train_sh[i]) >= NEAR_DUP for i in candidates):
            removed += 1
        else:
            kept.append(row)
    return kept, removed


def screening_rows(n_per: dict[str, int], split: int, rng: random.Random) -> list[dict[str, str]]:
    """split 0 = training fragments, 1 = holdout fragments."""
    before = split_pool(CONTEXT_BEFORE)[split]
    after = split_pool(CONTEXT_AFTER)[split]
    # Low-mood context would make an ordinary post a concern; pair it with neutral chatter instead.
    n_before = split_pool(NEUTRAL_BEFORE)[split]
    n_after = split_pool(NEUTRAL_AFTER)[split]
    rows: list[dict[str, str]] = []
    groups = (("crisis", CRISIS, "crisis"), ("concern", CONCERN, "concern"), ("none", ORDINARY, "ordinary"))
    for label, pool, kind in groups:
        cores = split_pool(pool)[split]
        ctx_b, ctx_a = (n_before, n_after) if label == "none" else (before, after)
        for _ in range(n_per[label]):
            text = compose(rng.choice(cores), ctx_b, ctx_a, rng)
            if label == "crisis" and rng.random() < 0.15:
                text = obfuscate(text, rng)
            rows.append({"text": voice(text, rng), "label": label, "kind": kind})
    for kind, (label, pool) in HARD_NEGATIVES.items():
        cores = split_pool(pool)[split]
        for _ in range(n_per["hard"]):
            ctx_b, ctx_a = (n_before, n_after) if label == "none" else (before, after)
            text = compose(rng.choice(cores), ctx_b, ctx_a, rng) if rng.random() < 0.6 else rng.choice(cores)
            rows.append({"text": voice(text, rng), "label": label, "kind": kind})
    return rows


def pool_rows(rng: random.Random, pools: tuple[tuple[list[str], str, str, tuple[list[str], list[str]], float], ...],
              n_per_fragment: int = 2) -> list[dict[str, str]]:  # fmt: skip
    """Each core of each pool n_per_fragment times, labelled, with context from the training split of its context
    pools added with the pool's probability."""
    rows = []
    for cores, label, kind, ctx, p_context in pools:
        before, after = split_pool(ctx[0])[0], split_pool(ctx[1])[0]
        for core in cores:
            for _ in range(n_per_fragment):
                text = compose(core, before, after, rng) if rng.random() < p_context else core
                rows.append({"text": voice(text, rng), "label": label, "kind": kind})
    return rows


NEUTRAL, CONTEXT = (NEUTRAL_BEFORE, NEUTRAL_AFTER), (CONTEXT_BEFORE, CONTEXT_AFTER)


def training_only_rows() -> list[dict[str, str]]:
    """Everyday idioms and dead/die crisis rows for training only.

    Their own rng keeps every other row, and so the holdout files, byte-identical.
    """
    pools = ((EVERYDAY_IDIOMS, "none", "idiom", NEUTRAL, 0.6), (EXTRA_CRISIS, "crisis", "crisis", CONTEXT, 0.6))
    return pool_rows(random.Random(SEED + 1), pools)


def chat_rows() -> list[dict[str, str]]:
    """Chat small talk (none) and crisis goodbyes on the same words, for training only.

    Chat lines are short, so they are given neutral context less often than posts.  Their own rng keeps
    every earlier row, and the holdout files, byte-identical.
    """
    pools = ((CHAT_SMALL_TALK, "none", "smalltalk", NEUTRAL, 0.3), (CRISIS_GOODBYES, "crisis", "crisis", CONTEXT, 0.6))
    return pool_rows(random.Random(SEED + 2), pools)


def reply_rows() -> list[dict[str, str]]:
    """Supportive replies and posts telling of a death (none), and crisis posts on the same words, for training only.

    Their own rng keeps every earlier row, and the holdout files, byte-identical.
    """
    pools = (
        (SUPPORTIVE_REPLIES, "none", "reply", NEUTRAL, 0.5),
        (CRISIS_APOLOGIES, "crisis", "crisis", CONTEXT, 0.5),
        (LOSS_NEWS, "none", "loss", NEUTRAL, 0.5),
        (CRISIS_AFTER_LOSS, "crisis", "crisis", CONTEXT, 0.5),
    )
    return pool_rows(random.Random(SEED + 3), pools)


def closing_rows() -> list[dict[str, str]]:
    """Ordinary closings on their own, after ordinary posts and replies (none), and after crisis posts
    (crisis), for training only: the closing alone says nothing, and the words before it decide.

    Their own rng keeps every earlier row, and the holdout files, byte-identical.
    """
    rng = random.Random(SEED + 4)
    ordinary = split_pool(ORDINARY)[0] + SUPPORTIVE_REPLIES
    crisis = split_pool(CRISIS)[0]
    rows = []
    for closing in CLOSINGS:
        rows.append({"text": voice(closing, rng), "label": "none", "kind": "closing"})
        for core in rng.sample(ordinary, 3):
            rows.append({"text": voice(f"{core}. {closing}", rng), "label": "none", "kind": "closing"})
        rows.append({"text": voice(f"{rng.choice(crisis)}. {closing}", rng), "label": "crisis", "kind": "crisis"})
    return rows


def short_update_rows() -> list[dict[str, str]]:
    """Short updates on how someone is doing (none), short lines of low mood (concern) and short crisis lines
    on the same words (crisis), for
    training only: chat lines and check-in mood words are this short, and the model read "better" and
    "ready" as crisis on their own. Mostly bare, as such lines come.

    Their own rng keeps every earlier row, and the holdout files, byte-identical.
    """
    pools = (
        (SHORT_UPDATES, "none", "update", NEUTRAL, 0.2),
        (SHORT_CONCERN, "concern", "concern", CONTEXT, 0.2),
        (SHORT_CRISIS, "crisis", "crisis", CONTEXT, 0.3),
    )
    return pool_rows(random.Random(SEED + 5), pools, n_per_fragment=3)


def area_rows(n_per: int, split: int, rng: random.Random) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for area, (openers, bodies, closers) in AREAS.items():
        o, b, c = split_pool(openers)[split], split_pool(bodies)[split], split_pool(closers)[split]
        for _ in range(n_per):
            parts = [rng.choice(o)] if rng.random() < 0.6 else []
            parts.append(rng.choice(b))
            if rng.random() < 0.5:
                parts.append(rng.choice(c))
            rows.append({"text": voice(" ".join(parts), rng), "area": area})
    return rows


def dedupe(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    out = []
    for r in rows:
        key = r["text"].strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def write(path: Path, rows: list[dict[str, str]], fields: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def build() -> dict[str, int]:
    rng = random.Random(SEED)
    train = screening_rows({"crisis": 620, "concern": 380, "none": 420, "hard": 75}, 0, rng)
    train = dedupe(train + training_only_rows() + chat_rows() + reply_rows() + closing_rows() + short_update_rows())
    hold = dedupe(screening_rows({"crisis": 180, "concern": 90, "none": 110, "hard": 25}, 1, rng))
    hold, removed_s = drop_near_duplicates(hold, train)
    write(HERE / "screening_train.csv", train, ["text", "label", "kind"])
    write(HERE / "screening_holdout.csv", hold, ["text", "label", "kind"])
    a_train = dedupe(area_rows(150, 0, rng))
    a_hold = dedupe(area_rows(45, 1, rng))
    a_hold, removed_a = drop_near_duplicates(a_hold, a_train)
    write(HERE / "areas_train.csv", a_train, ["text", "area"])
    write(HERE / "areas_holdout.csv", a_hold, ["text", "area"])
    return {
        "screening_train": len(train),
        "screening_holdout": len(hold),
        "screening_near_dups_removed": removed_s,
        "areas_train": len(a_train),
        "areas_holdout": len(a_hold),
        "areas_near_dups_removed": removed_a,
    }


if __name__ == "__main__":
    print(build())
