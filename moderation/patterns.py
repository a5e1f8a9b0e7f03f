"""A small reader for the lexicon's own regex subset, built on nothing private.

The lexicon needs two facts about each pattern, and both must err on the safe side:

* which characters a match can start with, and
* which first two characters it can start with (so only positions where some rule can begin are
  tried at all, and at each only the rules that can begin there; a message with no such position
  provably has no lexicon match).

This parser understands the constructs the lexicon uses: literals, escapes, character classes,
(non-)capturing and named groups, lookarounds, alternation and quantifiers.  Anything it does not
understand raises Unsupported, and the caller then treats the rule as "may match anywhere": an
unknown construct can make screening slower, never make it miss.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

_DIGITS = frozenset(string.digits)
_ZERO_WIDTH_ESCAPES = frozenset("bBAZ")
_UNKNOWN_CLASS_ESCAPES = frozenset("wWsSD")


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
        if r.peek() == "-" and r.src[r.pos + 1 : r.pos + 2] not in ("]", ""):
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
        body = r.src[r.pos + 1 : end] if end > 0 else ""
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


# ---------------------------------------------------------------- first two characters


def prefixes(pattern: str, k: int = 2) -> frozenset[str] | None:
    """Every string of the first k characters a match can begin with (shorter if the match can end sooner).

    None when unknown (an unreadable construct, a wildcard within the first k characters) or when the
    pattern can match the empty string.
    """
    try:
        out = _alts_prefixes(parse(pattern), k, 0)
    except Unsupported:
        return None
    if out is None or "" in out:
        return None
    return frozenset(out)


def _alts_prefixes(alts: list[list[Atom]], k: int, depth: int) -> set[str] | None:
    out: set[str] = set()
    for seq in alts:
        sub = _seq_prefixes(seq, k, depth)
        if sub is None:
            return None
        out |= sub
    return out


def _seq_prefixes(seq: list[Atom], k: int, depth: int) -> set[str] | None:
    if k == 0 or not seq:
        return {""}
    if depth > 40:
        raise Unsupported("pattern too deeply nested to read")  # e.g. a repeated group that can match empty
    atom, rest = seq[0], seq[1:]
    if atom.zero_width or atom.max_reps == 0:
        return _seq_prefixes(rest, k, depth + 1)
    out: set[str] = set()
    if atom.min_reps == 0:
        skipped = _seq_prefixes(rest, k, depth + 1)
        if skipped is None:
            return None
        out |= skipped
    max_more = None if atom.max_reps is None else atom.max_reps - 1
    more = Atom(atom.chars, atom.group, False, max(atom.min_reps - 1, 0), max_more)
    tail = ([more] if max_more != 0 else []) + rest
    if atom.group is not None:
        for alt in atom.group:
            sub = _seq_prefixes(alt + tail, k, depth + 1)
            if sub is None:
                return None
            out |= sub
        return out
    if atom.chars is None:
        return None
    sub = _seq_prefixes(tail, k - 1, depth + 1)
    if sub is None:
        return None
    out |= {c + s for c in atom.chars for s in sub}
    return out
