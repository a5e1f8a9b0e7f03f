"""Text normalisation that keeps a map back to the original characters.

Everything downstream (lexicon and model) reads the normalised text, so the
obfuscations people use ("k 1 l l  mys3lf", fullwidth letters, zero-width
joiners, "suicde") collapse onto one spelling.  Every normalised character
remembers which original character it came from, so a matched phrase can be
highlighted in the text the person actually wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Look-alike letters NFKC leaves alone (Cyrillic/Greek homoglyphs).
_HOMOGLYPHS = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "і": "i",
    "ј": "j",
    "ѕ": "s",
    "к": "k",
    "м": "m",
    "т": "t",
    "н": "h",
    "в": "b",
    "ԁ": "d",
    "ӏ": "l",
    "ɩ": "i",
    "α": "a",
    "ο": "o",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ε": "e",
    "τ": "t",
    "υ": "u",
    "ρ": "p",
    "ѵ": "v",
    "ɑ": "a",
    "ꮪ": "s",
    "‘": "'",
    "’": "'",
    "ʼ": "'",
    "`": "'",
    "´": "'",
}

# Leet characters, only rewritten when they sit inside a word (see _deleet).
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}

# Separators people put between letters to dodge filters ("k.m.s", "k i l l").
_SPACED = re.compile(r"(?<![a-z0-9])[a-z](?:[ .\-_*·•]{1,2}[a-z](?![a-z0-9])){2,}")
_SQUEEZE = re.compile(r"([a-z])\1{2,}")
_LEET_WORD = re.compile(r"\S*[a-z]\S*")
_HAS_LEET = re.compile(r"[0-9@$!|]")
_UNIT_OR_ORDINAL = re.compile(r"^\d+[a-z]{1,3}$|^[a-z]\d$|^\d+(?:st|nd|rd|th|am|pm|mg|kg|km|lbs?|hrs?|mins?|yo|x)$")

# Words whose misspellings matter: edit distance 1 maps onto the canonical word.
_FUZZY_TARGETS = (
    "suicide",
    "suicidal",
    "myself",
    "overdose",
    "overdosing",
    "unalive",
    "goodbye",
    "bridge",
    "should",
    "never",
    "going",
)


@dataclass(frozen=True, slots=True)
class Normalised:
    """Normalised text plus, for each of its characters, the source index."""

    text: str
    index: tuple[int, ...] | None  # None means identity (nothing moved)
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text onto the original."""
        if end <= start:
            return (0, 0)
        if self.index is None:
            return (min(start, self.original_length), min(end, self.original_length))
        return (self.index[start], self.index[end - 1] + 1)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@lru_cache(maxsize=1)
def _fuzzy_index() -> dict[str, str]:
    """Symmetric-deletion index: any 1-deletion form -> canonical word."""
    table: dict[str, str] = {}
    for target in _FUZZY_TARGETS:
        for form in _deletions(target) | {target}:
            table.setdefault(form, target)
    return table


@lru_cache(maxsize=65536)
def _canonical_word(word: str) -> str | None:
    """Return the canonical spelling if `word` is one edit from a target."""
    if len(word) < 4 or len(word) > 12 or not word.isalpha():
        return None
    table = _fuzzy_index()
    hit = table.get(word)
    if hit is None:
        for form in _deletions(word):
            hit = table.get(form)
            if hit is not None:
                break
    if hit is None or hit == word:
        return None
    # Plurals/inflections of other words can sit one edit away; keep real
    # words that merely resemble a target untouched (including the other-language net's
    # verbs: "bringe" is German, not "bridge"; "suicidar" is not "suicidal").
    if word in _REAL_WORDS:
        return None
    return hit


_REAL_WORDS = frozenset(
    {
        "boing",
        "bride",
        "bridges",
        "bringe",
        "suicidar",
        "suicider",
        "could",
        "doing",
        "ever",
        "fever",
        "fridge",
        "giving",
        "gone",
        "gong",
        "goodbyes",
        "herself",
        "himself",
        "itself",
        "lever",
        "nerve",
        "newer",
        "overdosed",
        "overdoses",
        "owing",
        "seven",
        "sever",
        "shoulder",
        "suicides",
        "would",
    }
)


def _map_chars(text: str) -> tuple[list[str], list[int]]:
    """Per-character NFKC, homoglyph folding, casefold, drop invisible chars."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            if ch.isprintable() or ch in "\n\t":
                out.append(ch.lower() if ch not in "\t\n" else " ")
                index.append(i)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cc", "Cs", "Co", "Cn", "Mn", "Me"):
            continue  # zero-width, controls, lone surrogates, combining marks
        if cat.startswith("Z"):
            out.append(" ")
            index.append(i)
            continue
        folded = _fold_char(ch)
        for piece in folded:
            out.append(piece)
            index.append(i)
    return out, index


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    ch = _HOMOGLYPHS.get(ch, ch)
    decomposed = unicodedata.normalize("NFKD", ch)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    kept = unicodedata.normalize("NFKC", kept).casefold()
    return "".join(_HOMOGLYPHS.get(c, c) for c in kept)


def _deleet(chars: list[str]) -> None:
    """Rewrite leet characters inside words, in place (1:1, offsets kept)."""
    text = "".join(chars)
    for m in _LEET_WORD.finditer(text):
        word = m.group()
        if not _HAS_LEET.search(word) or _UNIT_OR_ORDINAL.match(word.strip(".,!?")):
            continue
        base = m.start()
        for j, ch in enumerate(word):
            if ch in _LEET or ch == "1":
                _replace_leet(chars, base + j, word, j)


def _is_letter(word: str, j: int) -> bool:
    return 0 <= j < len(word) and (word[j].isalpha() or word[j] in _LEET or word[j] == "1")


def _replace_leet(chars: list[str], pos: int, word: str, j: int) -> None:
    ch = word[j]
    # chars[pos - 1] is already rewritten, so "d13" reads d, i, then 3 after a letter -> "die".
    before = j > 0 and chars[pos - 1].isalpha()
    after = j + 1 < len(word) and _is_letter(word, j + 1)
    if ch in "!|@":
        if before and after:
            chars[pos] = _LEET[ch]
        return
    if ch == "$":
        if after:
            chars[pos] = "s"
        return
    if not (before or (after and word[j + 1].isalpha())):
        return
    if ch == "1":
        # "ki11" -> kill, "k1ll" -> kill: after i/l a 1 is most likely an l.
        chars[pos] = "l" if pos > 0 and chars[pos - 1] in "il" else "i"
    else:
        chars[pos] = _LEET[ch]


def _splice(chars: list[str], index: list[int], edits: list[tuple[int, int, str]]) -> tuple[list[str], list[int]]:
    """Apply non-overlapping (start, end, replacement) edits, keeping the map."""
    new_chars: list[str] = []
    new_index: list[int] = []
    cursor = 0
    for start, end, repl in edits:
        new_chars.extend(chars[cursor:start])
        new_index.extend(index[cursor:start])
        width = end - start
        for k, ch in enumerate(repl):
            src = start + (width - 1 if k == len(repl) - 1 else min(k * width // max(len(repl), 1), width - 1))
            new_chars.append(ch)
            new_index.append(index[src])
        cursor = end
    new_chars.extend(chars[cursor:])
    new_index.extend(index[cursor:])
    return new_chars, new_index


def _collapse_edits(text: str) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    for m in _SPACED.finditer(text):
        letters = "".join(c for c in m.group() if c.isalpha())
        edits.append((m.start(), m.end(), letters))
    return edits


def _squeeze_edits(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(1)) for m in _SQUEEZE.finditer(text)]


def _fuzzy_edits(text: str) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    for m in re.finditer(r"[a-z]{4,12}", text):
        canon = _canonical_word(m.group())
        if canon is not None:
            edits.append((m.start(), m.end(), canon))
    return edits


_NEEDS_WORK = re.compile(r"[0-9@$!|]|([a-z])\1\1|(?<![a-z0-9])[a-z][ .\-_*]{1,2}[a-z](?![a-z0-9])")


def normalise(text: str) -> Normalised:
    """Normalise once: NFKC, strip invisibles, casefold, de-leet, collapse."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if text.isascii() and text.isprintable():
        lowered = text.lower()
        if not _NEEDS_WORK.search(lowered) and not _any_fuzzy(lowered):
            return Normalised(lowered, None, len(text))
        chars, index = list(lowered), list(range(len(text)))
    else:
        chars, index = _map_chars(text)
    _deleet(chars)
    for make_edits in (_collapse_edits, _squeeze_edits, _fuzzy_edits):
        edits = make_edits("".join(chars))
        if edits:
            chars, index = _splice(chars, index, edits)
    return Normalised("".join(chars), tuple(index), len(text))


_FUZZY_PREFILTER = re.compile(r"s[uy]|my|over|unal|good|ki|sel|br|sh|n[eva]|g[oi]")


def _any_fuzzy(text: str) -> bool:
    """Cheap check whether the fuzzy word pass could change anything."""
    if not _FUZZY_PREFILTER.search(text):
        return False
    return any(_canonical_word(w) for w in re.findall(r"[a-z]{4,12}", text))
