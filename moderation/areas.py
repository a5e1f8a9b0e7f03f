"""Route a screened post to IPT problem-area guides.

The model names the problem area; this module turns (level, area, content)
into 1-3 guide slugs, most fitting first.  It also has a keyword guesser for
the area, used only when the model is unavailable (degraded mode).
"""

from __future__ import annotations

# ruff: noqa: E501  (keyword regexes stay on one line each)
import re

GUIDE_SLUGS: tuple[str, ...] = (
    "problem-areas",
    "communication-skills",
    "problem-solving",
    "grief-processing",
    "social-support",
    "roles-and-expectations",
    "social-activation",
    "emotional-insight",
    "boundaries",
    "role-strain",
    "homework",
    "normalizing",
    "safe-space",
    "relapse-prevention",
)

AREAS: tuple[str, ...] = ("grief", "role_transitions", "disputes", "deficits")

_AREA_GUIDES: dict[str, tuple[str, ...]] = {
    "grief": ("grief-processing", "social-support", "emotional-insight"),
    "disputes": ("communication-skills", "boundaries", "problem-solving"),
    # A change of role first: "Who expects what?" is written around disputes and leads only when the
    # words are about expectations (a cue below).
    "role_transitions": ("role-strain", "roles-and-expectations", "problem-solving"),
    "deficits": ("social-activation", "social-support", "communication-skills"),
}

# Content cues that move a specific guide to the front, in order of priority.
_CUES: tuple[tuple[str, str], ...] = (
    (r"relaps\w*|again after|came back|slipping back|back to square one", "relapse-prevention"),
    (r"homework|worksheet|exercise|journal\w*|practice", "homework"),
    (r"boundar\w*|overstep\w*|saying no|say no", "boundaries"),
    (r"problem areas?|what is ipt|interpersonal therapy|ipt", "problem-areas"),
    (r"expect\w*", "roles-and-expectations"),
)
# One pass finds every cue, each a whole-word phrase (the text is read once, not once per cue); group gN is cue N.
_CUE_SCAN = re.compile(r"\b(?:" + "|".join(f"(?P<g{i}>{pattern})" for i, (pattern, _) in enumerate(_CUES)) + r")\b")


def _cue_slugs(norm_text: str) -> list[str]:
    hit = {int(m.lastgroup[1:]) for m in _CUE_SCAN.finditer(norm_text) if m.lastgroup}
    return [_CUES[i][1] for i in sorted(hit)]


_AREA_KEYWORDS: dict[str, re.Pattern[str]] = {
    "grief": re.compile(
        r"\b(?:died|death|passed|funeral|grief|griev\w*|mourn\w*|loss|lost (?:my|our)|miss (?:him|her)|grave|anniversary|bereave\w*|widow\w*)\b"
    ),
    "role_transitions": re.compile(
        r"\b(?:retir\w*|new job|lost my job|redundan\w*|laid off|moved|moving|divorce\w*|new baby|became a|becoming a|graduat\w*|university|diagnos\w*|promot\w*|empty nest|transition|adjust\w*|new city|new role)\b"
    ),
    "disputes": re.compile(
        r"\b(?:fight\w*|fought|argu\w*|row|conflict|yell\w*|scream\w*|blame\w*|won'?t speak|fell out|falling out|disagree\w*|criticis\w*|silent treatment|custody)\b"
    ),
    "deficits": re.compile(
        r"\b(?:lonely|loneliness|no friends|alone|isolat\w*|shy|awkward|small talk|make friends|connect with|nobody to|no one to|social anxiety|invisible)\b"
    ),
}

_SUBSTANCE = re.compile(r"\w", re.UNICODE)


def guess_area(norm_text: str) -> str | None:
    """Keyword fallback for degraded mode: the area with most cue hits."""
    best, best_n = None, 0
    for area, pat in _AREA_KEYWORDS.items():
        n = len(pat.findall(norm_text))
        if n > best_n:
            best, best_n = area, n
    return best


def _dedupe(slugs: list[str]) -> list[str]:
    seen: list[str] = []
    for s in slugs:
        if s not in seen:
            seen.append(s)
    return seen


def route(level: str, area: str | None, norm_text: str) -> list[str]:
    """1-3 guide slugs, most fitting first; empty only for text without substance."""
    if not _SUBSTANCE.search(norm_text):
        return []
    slugs: list[str] = []
    if level == "crisis":
        slugs += ["safe-space", "relapse-prevention"]
    slugs += _cue_slugs(norm_text)
    if area in _AREA_GUIDES:
        slugs += list(_AREA_GUIDES[area])
    elif level == "concern":
        slugs += ["normalizing", "emotional-insight", "homework"]
    slugs += ["problem-areas", "normalizing"]
    return _dedupe(slugs)[:3]
