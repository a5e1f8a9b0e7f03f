"""screen(): safety net + model + scope rules + routing, fused into a Screening."""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import classifier
from .areas import AREAS, guess_area, route
from .classifier import FastModel, ModelLoadError
from .lexicon import CRISIS, Match, lexicon_level, lexicon_score, scan
from .normalise import normalise

log = logging.getLogger("moderation")

LEVELS = ("none", "concern", "crisis")
_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
# The lexicon sees the whole text up to this size; beyond it, the head and
# the tail (where goodbyes and plans tend to sit) are scanned.
LEXICON_MAX_CHARS = 200_000
_EDGE = LEXICON_MAX_CHARS // 2


@dataclass(frozen=True, slots=True)
class Signal:
    """Why a screening came out as it did; offsets index the ORIGINAL text."""

    kind: str  # "lexicon", "model" or "scope"
    label: str
    phrase: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Screening:
    level: str
    score: float
    signals: list[Signal] = field(default_factory=list)
    area: str | None = None
    guides: list[str] = field(default_factory=list)
    model_version: str | None = None
    degraded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- model state


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: FastModel | None = None
        self.tried = False
        self.error: str | None = None
        self.path: Path | None = None
        self.warned = False


_state = _State()


def reset() -> None:
    """Forget the loaded model so env var changes take effect (used by tests)."""
    global _state
    _state = _State()


def _model_path() -> Path:
    explicit = os.environ.get("HEARTH_MODEL_PATH")
    if explicit:
        return Path(explicit)
    return classifier.default_model_dir() / f"{classifier.data_fingerprint()}.npz"


def _load_or_build(path: Path) -> FastModel:
    if not path.exists():
        log.info("moderation model %s absent; training", path)
        classifier.save(classifier.train(), path)
    return classifier.load(path)


def get_model() -> FastModel | None:
    """The loaded model, or None (degraded) after logging why, once."""
    st = _state
    if st.tried:
        return st.model
    with st.lock:
        if not st.tried:
            try:
                st.path = _model_path()
                st.model = _load_or_build(st.path)
            except (ModelLoadError, OSError, ValueError, KeyError) as exc:
                st.error = str(exc)
                st.model = None
            st.tried = True
    if st.model is None and not st.warned:
        st.warned = True
        log.warning("moderation running DEGRADED (lexicon only): %s", st.error)
    return st.model


def model_status() -> dict[str, Any]:
    model = get_model()
    st = _state
    return {
        "loaded": model is not None,
        "version": model.version if model else None,
        "path": str(st.path) if st.path else None,
        "error": st.error,
        "degraded": model is None,
        "crisis_threshold": model.crisis_threshold if model else None,
    }


# ---------------------------------------------------------------- screening


def _coerce(text: object) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return text if isinstance(text, str) else str(text)


def _lexicon_pass(text: str) -> tuple[list[Signal], list[Match], str]:
    """Scan (head and tail of giant texts); return signals, matches, norm text."""
    if len(text) <= LEXICON_MAX_CHARS:
        segments = [(0, text)]
    else:
        segments = [(0, text[:_EDGE]), (len(text) - _EDGE, text[-_EDGE:])]
    signals: list[Signal] = []
    matches: list[Match] = []
    norm_parts: list[str] = []
    for base, seg in segments:
        norm = normalise(seg)
        norm_parts.append(norm.text)
        for m in scan(norm):
            a, b = norm.span(m.start, m.end)
            a, b = a + base, b + base
            matches.append(m)
            signals.append(Signal("lexicon", m.label, text[a:b], a, b))
            if m.scope:
                signals.append(Signal("scope", m.scope, text[a:b], a, b))
    return signals, matches, " ".join(norm_parts)


def _cap_for_model(norm_text: str, model: FastModel) -> str:
    cap = int(model.meta["params"]["max_model_chars"])
    if len(norm_text) > cap:
        return norm_text[: cap // 2] + " " + norm_text[-cap // 2 :]
    return norm_text


def _softmax(z: list[float]) -> list[float]:
    """Plain-Python softmax: on 3-4 numbers it is ~5x cheaper than numpy."""
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


def _probs(logits: list[float]) -> tuple[list[float], list[float]]:
    n = len(classifier.SCREEN_CLASSES)
    return _softmax(logits[:n]), _softmax(logits[n:])


def _model_level(p: list[float], model: FastModel) -> str:
    if p[2] >= model.crisis_threshold:
        return "crisis"
    if p[1] + p[2] >= model.concern_threshold:
        return "concern"
    return "none"


def _model_signal(text: str, norm_text: str, level: str, model: FastModel) -> Signal:
    """Point a moderator at the word that most drove the model's call."""
    word = model.top_feature_word(norm_text, 2 if level == "crisis" else 1)
    if word:
        i = text.lower().find(word)
        if i >= 0:
            return Signal("model", level, text[i : i + len(word)], i, i + len(word))
    return Signal("model", level, "", 0, 0)


def _fuse(
    text: str,
    signals: list[Signal],
    matches: list[Match],
    norm_text: str,
    model: FastModel | None,
    probs: tuple[list[float], list[float]] | None,
) -> Screening:
    lex = lexicon_level(matches)
    if model is None or probs is None:
        area = guess_area(norm_text)
        return Screening(lex, lexicon_score(matches), signals, area, route(lex, area, norm_text), None, True)
    p, pa = probs
    m_level = _model_level(p, model)
    level = lex if _RANK[lex] >= _RANK[m_level] else m_level
    score = float(p[2])
    if any(m.tier == CRISIS for m in matches):
        score = max(score, lexicon_score(matches))
    if m_level != "none":
        signals = [*signals, _model_signal(text, norm_text, m_level, model)]
    area = _area(model, pa, norm_text)
    return Screening(level, score, signals, area, route(level, area, norm_text), model.version, False)


def _area(model: FastModel, pa: list[float], norm_text: str) -> str | None:
    if len(norm_text.split(None, 3)) < 3:
        return None
    # The last class is "no_area": when the text has no real area signal, name none rather than the arg-max.
    if pa[len(AREAS)] >= model.no_area_min_prob:
        return None
    k = max(range(len(AREAS)), key=pa.__getitem__)
    return AREAS[k] if pa[k] >= model.area_min_prob else None


def screen(text: object) -> Screening:
    """Screen one post or chat message. Never raises on any input."""
    try:
        return _screen(_coerce(text))
    except Exception:  # last line of defence: a screening must always come back
        log.exception("moderation.screen failed; falling back to lexicon only")
        return _fallback(text)


def _screen(text: str) -> Screening:
    signals, matches, norm_text = _lexicon_pass(text)
    model = get_model()
    probs = _probs(model.logits(_cap_for_model(norm_text, model)).tolist()) if model else None
    return _fuse(text, signals, matches, norm_text, model, probs)


def _fallback(text: object) -> Screening:
    try:
        s = _coerce(text)
        signals, matches, norm_text = _lexicon_pass(s)
        return _fuse(s, signals, matches, norm_text, None, None)
    except Exception:
        return Screening("concern", 0.5, [], None, ["problem-areas", "normalizing"], None, True)


def screen_many(texts: list[Any]) -> list[Screening]:
    """Screen a batch; the model scores all texts in one matrix product."""
    try:
        items = [_coerce(t) for t in texts]
        passes = [_lexicon_pass(t) for t in items]
        model = get_model()
        probs: list[tuple[list[float], list[float]]] | list[None] = [None] * len(items)
        if model and passes:
            logits = model.logits_many([_cap_for_model(p[2], model) for p in passes])
            probs = list(zip(model.screen_probs(logits).tolist(), model.area_probs(logits).tolist()))
        return [_fuse(t, sig, mat, norm, model, pr) for t, (sig, mat, norm), pr in zip(items, passes, probs)]
    except Exception:
        log.exception("moderation.screen_many failed; screening one by one")
        return [screen(t) for t in texts]
