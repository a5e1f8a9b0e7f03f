"""A small reader for the lexicon's own regex subset, built on nothing private.

The lexicon needs two facts about each pattern, and both must err on the safe side:

* which characters a match can start with (to try only a handful of rules at each word), and
* literal strings of which every match contains at least one (so a message that contains none of
  them provably has no lexicon match and can skip the scan).

This parser understands the constructs the lexicon uses: literals, escapes, character classes,
(non-)capturing and named groups, lookarounds, alternation and quantifiers.  Anything it does not
understand raises Unsupported, and the caller then treats the rule as "may match anywhere": an
unknown construct can make screening slower, never make it miss.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field

_DIGITS = frozenset(string.digits)
_ZERO_WIDTH_ESCAPES = frozenset("bBAZ")
_UNKNOWN_CLASS_ESCAPES = frozenset("wWsSD")


_Key = Callable[[frozenset[str]], tuple[float, int]]


class Unsupported(ValueError):
    """The pattern uses a construct this reader does not model."""


@dataclass(slots=True)
class Atom:
    """One pattern element with its repetition bounds (max_reps None = unbounded)."""

    chars: frozenset[str] | None = None  # the characters a single-character atom can be; None = any
    group: list[list[Atom]] | None = None  # alternatives of a group, each a sequence
    zero_width: bool = False
    min_reps: int = 1
    max_reps: int | None = 1


@dataclass(slots=True)
class _Reader:
    src: str
    pos: int = 0
    depth: int = field(default=0)

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def take(self) -> str:
        ch = self.peek()
        if not ch:
            raise Unsupported("unexpected end of pattern")
        self.pos += 1
        return ch


def parse(pattern: str) -> list[list[Atom]]:
    """Alternatives of the whole pattern, each a sequence of atoms."""
    reader = _Reader(pattern)
    alts = _alternatives(reader)
    if reader.pos != len(pattern):
        raise Unsupported(f"unbalanced ')' at {reader.pos}")
    return alts


def _alternatives(r: _Reader) -> list[list[Atom]]:
    seqs: list[list[Atom]] = [[]]
    while r.peek() and r.peek() != ")":
        if r.peek() == "|":
            r.take()
            seqs.append([])
            continue
        atom = _atom(r)
        _quantifier(r, atom)
        seqs[-1].append(atom)
    return seqs


def _atom(r: _Reader) -> Atom:
    ch = r.take()
    if ch == "(":
        return _group(r)
    if ch == "[":
        return Atom(chars=_char_class(r))
    if ch == "\\":
        return _escape(r.take())
    if ch == ".":
        return Atom(chars=None)
    if ch in "^$":
        return Atom(zero_width=True)
    if ch in "*+?{":
        raise Unsupported(f"quantifier {ch!r} with nothing to repeat")
    return Atom(chars=frozenset(ch))


def _group(r: _Reader) -> Atom:
    zero_width = False
    if r.peek() == "?":
        r.take()
        kind = r.take()
        if kind == "P":
            if r.take() != "<":
                raise Unsupported("named backreference")
            while r.take() != ">":
                pass
        elif kind in "=!":
            zero_width = True
        elif kind == "<" and r.peek() in "=!":
            r.take()
            zero_width = True
        elif kind != ":":
            raise Unsupported(f"group flag (?{kind}")
    alts = _alternatives(r)
    if r.take() != ")":
        raise Unsupported("unclosed group")
    if zero_width:
        return Atom(zero_width=True)
    return Atom(group=alts)


def _escape(ch: str) -> Atom:
    if ch in _ZERO_WIDTH_ESCAPES:
        return Atom(zero_width=True)
    if ch == "d":
        return Atom(chars=_DIGITS)
    if ch in _UNKNOWN_CLASS_ESCAPES:
        return Atom(chars=None)
    if ch.isalnum():
        raise Unsupported(f"escape \\{ch}")  # backreferences, \n, \x.. and friends
    return Atom(chars=frozenset(ch))


def _char_class(r: _Reader) -> frozenset[str] | None:
    negated = r.peek() == "^"
    if negated:
        r.take()
    chars: set[str] = set()
    unknown = False
    first = True
    while True:
        ch = r.take()
        if ch == "]" and not first:
            break
        first = False
        if ch == "\\":
            esc = r.take()
            if esc == "d":
                chars |= _DIGITS
                continue
            if esc.isalnum():
                unknown = True
                continue
            ch = esc
        if r.peek() == "-" and r.src[r.pos + 1: r.pos + 2] not in ("]", ""):
            r.take()
            end = r.take()
            if end == "\\" or ord(end) - ord(ch) > 512:
                unknown = True
                continue
            chars.update(chr(c) for c in range(ord(ch), ord(end) + 1))
            continue
        chars.add(ch)
    return None if negated or unknown else frozenset(chars)


def _quantifier(r: _Reader, atom: Atom) -> None:
    ch = r.peek()
    if ch == "?":
        atom.min_reps, atom.max_reps = 0, 1
    elif ch == "*":
        atom.min_reps, atom.max_reps = 0, None
    elif ch == "+":
        atom.min_reps, atom.max_reps = 1, None
    elif ch == "{":
        end = r.src.find("}", r.pos)
        body = r.src[r.pos + 1: end] if end > 0 else ""
        lo, _, hi = body.partition(",")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise Unsupported(f"quantifier {{{body}}}")
        atom.min_reps = int(lo)
        atom.max_reps = int(lo) if "," not in body else (int(hi) if hi else None)
        r.pos = end
    else:
        return
    r.take()
    if r.peek() in ("?", "+"):  # lazy or possessive: same bounds
        r.take()


# ---------------------------------------------------------------- first characters


def first_chars(pattern: str) -> frozenset[str] | None:
    """Characters a match can start with; None when unknown or the pattern can match empty."""
    try:
        return _alts_first(parse(pattern))
    except Unsupported:
        return None


def _alts_first(alts: list[list[Atom]]) -> frozenset[str] | None:
    out: set[str] = set()
    for seq in alts:
        sub = _seq_first(seq)
        if sub is None:
            return None
        out |= sub
    return frozenset(out)


def _seq_first(seq: list[Atom]) -> frozenset[str] | None:
    out: set[str] = set()
    for atom in seq:
        if atom.zero_width or atom.max_reps == 0:
            continue
        sub = _alts_first(atom.group) if atom.group is not None else atom.chars
        if sub is None:
            return None
        out |= sub
        if atom.min_reps > 0:
            return frozenset(out)
    return None  # every atom optional: the match could be empty or start anywhere


# ---------------------------------------------------------------- required literals


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings of which every match contains at least one; None if none can be proven."""
    try:
        return _alts_required(parse(pattern))
    except Unsupported:
        return None


def _alts_required(alts: list[list[Atom]], key: _Key | None = None) -> frozenset[str] | None:
    out: set[str] = set()
    for seq in alts:
        sub = _seq_required(seq, key or _selectivity)
        if sub is None:
            return None
        out |= sub
    return frozenset(out)


def _seq_required(seq: list[Atom], key: _Key) -> frozenset[str] | None:
    """Pick the most selective mandatory piece of a sequence."""
    candidates: list[frozenset[str]] = []
    run = ""
    for atom in seq:
        if atom.zero_width:
            continue  # consumes nothing, so the characters either side stay adjacent
        single = atom.group is None and atom.chars is not None and len(atom.chars) == 1
        if single and atom.min_reps >= 1 and atom.chars is not None:
            run += next(iter(atom.chars))
            if atom.max_reps == 1:
                continue
        if run:
            candidates.append(frozenset({run}))
            run = ""
        if atom.group is not None and atom.min_reps >= 1:
            sub = _alts_required(atom.group, key)
            if sub is not None:
                candidates.append(sub)
    if run:
        candidates.append(frozenset({run}))
    return max(candidates, key=key) if candidates else None


def _selectivity(lits: frozenset[str]) -> tuple[float, int]:
    """Longer shortest literal first (rarer in text), then fewer alternatives."""
    return (min(min(len(x) for x in lits), 6), -len(lits))


# ---------------------------------------------------------------- a provable "no match" pre-check

# Words so common that a literal made only of them proves little; choosing another mandatory piece of the
# same pattern costs nothing in safety (every mandatory piece is necessary) and skips far more messages.
_COMMON_WORDS = frozenset(
    "a all and any be for going gonna i in is it just last like me my no not of on so take the think thinking "
    "this to took want wanna wish".split()
)
_LETTER_RANK = {ch: i for i, ch in enumerate(" etaoinshrdlcumwfgypbvkjxqz")}


def _literal_cost(lit: str) -> float:
    words = lit.split()
    if not words or all(w in _COMMON_WORDS for w in words):
        return 100.0
    return 10.0 / len(lit)


# The commonest English trigrams: never the best witness for a literal when it has another.
_COMMON_TRIGRAMS = frozenset(
    "the ing and her ere ent tha nth was eth for dth hat she ion int his sth ers ver all ter hes ith oth "
    "ate one our ted ist are not res ill ave red ive com ter est out ove ome ght igh day".split()
)


def rarest_trigram(lit: str) -> str:
    """A trigram of `lit` that ordinary text rarely contains (any trigram of it is necessary)."""
    grams = [lit[i:i + 3] for i in range(len(lit) - 2)] or [lit]
    return max(grams, key=_trigram_rarity)


def _trigram_rarity(gram: str) -> int:
    score = sum(_LETTER_RANK.get(c, 30) for c in gram)
    if " " in gram:
        score -= 40
    if gram in _COMMON_TRIGRAMS:
        score -= 60
    return score


def cheapest_required(pattern: str) -> frozenset[str] | None:
    """Like required_literals, but choosing the mandatory piece that ordinary text contains least."""
    try:
        alts = parse(pattern)
    except Unsupported:
        return None
    return _alts_required(alts, _cost_key)


def _cost_key(lits: frozenset[str]) -> tuple[float, int]:
    return (-sum(_literal_cost(x) for x in lits), 0)
