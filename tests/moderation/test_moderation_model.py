"""The learned model: holdout figures, determinism, versioning, fast path, degraded mode."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import moderation
from moderation import classifier, screen, screen_many
from moderation.areas import AREAS, route
from moderation.evaluate import area_metrics, screening_metrics

DATA = classifier.DATA_DIR
ROOT = Path(__file__).resolve().parents[2]


def test_holdout_crisis_recall_and_hard_negative_rate_meet_targets() -> None:
    rows = classifier.read_csv(DATA / "screening_holdout.csv")
    metrics = screening_metrics(rows, screen_many([r["text"] for r in rows]))
    assert metrics["crisis_recall"] >= 0.95
    assert metrics["hard_negative_crisis_rate"] <= 0.10


def test_holdout_area_accuracy_meets_target() -> None:
    rows = classifier.read_csv(DATA / "areas_holdout.csv")
    metrics = area_metrics(rows, screen_many([r["text"] for r in rows]))
    assert metrics["area_accuracy"] >= 0.85


def test_training_data_has_the_required_shape() -> None:
    screening = classifier.read_csv(DATA / "screening_train.csv")
    areas = classifier.read_csv(DATA / "areas_train.csv")
    hard = [r for r in screening if r["kind"] not in ("crisis", "concern", "ordinary")]
    assert len(screening) >= 1500 and len(hard) >= 300 and len(areas) >= 400
    train_texts = {r["text"] for r in screening}
    assert not train_texts & {r["text"] for r in classifier.read_csv(DATA / "screening_holdout.csv")}


def test_training_twice_gives_same_version_and_weights(plain_training: classifier.Trained) -> None:
    again = classifier.train(with_threshold=False)
    assert again.meta["version"] == plain_training.meta["version"]
    for key, arr in plain_training.arrays.items():
        assert np.array_equal(arr, again.arrays[key]), key


def test_version_changes_when_params_change() -> None:
    base = classifier.data_fingerprint()
    changed = dict(classifier.PARAMS, C_screen=classifier.PARAMS["C_screen"] * 2)
    assert classifier.data_fingerprint(params=changed) != base
    assert base.startswith("tfidf-lr-") and len(base) == len("tfidf-lr-") + 12


def test_fast_path_matches_sklearn_pipeline_on_holdout(plain_training: classifier.Trained, tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    classifier.save(plain_training, path)
    fast = classifier.load(path)
    texts = [classifier.model_text(r["text"]) for r in classifier.read_csv(DATA / "screening_holdout.csv")]
    texts += [classifier.model_text(r["text"]) for r in classifier.read_csv(DATA / "areas_holdout.csv")]
    x = plain_training.sk["vectorizer"].transform(texts)
    sk_screen = plain_training.sk["screen_lr"].predict_proba(x)
    order = [list(plain_training.sk["screen_lr"].classes_).index(c) for c in classifier.SCREEN_CLASSES]
    single = np.array([fast.screen_probs(fast.logits(t)) for t in texts])
    batch = fast.screen_probs(fast.logits_many(texts))
    assert np.allclose(single, sk_screen[:, order], atol=1e-9, rtol=0)
    assert np.allclose(batch, sk_screen[:, order], atol=1e-9, rtol=0)
    sk_area = plain_training.sk["area_lr"].predict_proba(x)
    a_order = [list(plain_training.sk["area_lr"].classes_).index(c) for c in classifier.AREA_CLASSES]
    assert np.allclose(fast.area_probs(fast.logits_many(texts)), sk_area[:, a_order], atol=1e-9, rtol=0)


def test_screen_many_agrees_with_screen() -> None:
    texts = ["i want to die", "my dad died last spring and i miss him", "good morning all", "", "kms"]
    one = [screen(t) for t in texts]
    many = screen_many(texts)
    for a, b in zip(one, many):
        assert a.level == b.level and a.area == b.area
        assert a.score == pytest.approx(b.score, abs=1e-9)


def test_corrupt_model_file_degrades_to_lexicon_and_still_catches_crisis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x00not a model at all" * 50)
    monkeypatch.setenv("HEARTH_MODEL_PATH", str(garbage))
    moderation.reset()
    try:
        with caplog.at_level(logging.WARNING, logger="moderation"):
            result = screen("goodbye everyone, i wrote my note")
            screen("another message")
        assert result.degraded and result.model_version is None
        assert result.level == "crisis" and 0.0 < result.score <= 1.0
        warnings = [r for r in caplog.records if "DEGRADED" in r.getMessage()]
        assert len(warnings) == 1
        status = moderation.model_status()
        assert status["loaded"] is False and status["error"]
        assert screen("this commute is killing me").level == "none"
    finally:
        monkeypatch.delenv("HEARTH_MODEL_PATH")
        moderation.reset()


def test_model_status_reports_a_loaded_versioned_model() -> None:
    status = moderation.model_status()
    assert status["loaded"] is True and status["version"].startswith("tfidf-lr-")
    assert screen("hello there friends").model_version == status["version"]


def test_every_guide_the_router_can_return_is_a_known_slug() -> None:
    samples = ["", "relapse again, the homework and boundaries", "what is ipt", "hello", "i feel low"]
    for level in ("none", "concern", "crisis"):
        for area in (*AREAS, None):
            for text in samples:
                guides = route(level, area, text)
                assert set(guides) <= set(moderation.GUIDE_SLUGS)
                assert len(guides) <= 3
                assert guides or not text


def test_crisis_routes_to_safe_space_first() -> None:
    assert screen("i want to kill myself").guides[0] == "safe-space"


def test_grief_post_is_routed_to_grief_guides() -> None:
    result = screen("my mum passed away in march and i still set the table for two every night")
    assert result.area == "grief"
    assert result.guides[0] == "grief-processing"


def test_a_change_of_role_is_routed_to_the_role_guide_and_expectations_to_theirs() -> None:
    retired = screen("i retired in march after thirty years and i don't know who i am without the job")
    assert retired.area == "role_transitions" and retired.guides[0] == "role-strain"
    expected = screen("since the baby came my partner expects me to do everything at home and we keep arguing")
    assert expected.guides[0] == "roles-and-expectations"


def test_screening_serialises_to_json() -> None:
    result = screen("i wish i wasn't here")
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {f.name for f in dataclasses.fields(result)}
    assert data["signals"][0]["kind"] == "lexicon"


def test_evaluate_cli_prints_json_with_the_metric_keys() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "moderation", "evaluate", str(DATA / "screening_holdout.csv")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    report = json.loads(out.stdout)["screening"]
    for key in (
        "crisis_recall",
        "crisis_precision",
        "non_crisis_called_crisis",
        "hard_negative_crisis_rate",
        "confusion",
        "concern_recall",
    ):
        assert key in report


def test_nothing_in_moderation_imports_flask() -> None:
    code = (
        "import sys, moderation, moderation.__main__, moderation.evaluate; "
        "moderation.screen('hi'); print(any(m == 'flask' or m.startswith('flask') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


EVERYDAY_IDIOMS = [
    "my phone battery is dead again",
    "I'm dead tired after the night shift",
    "the deadline moved again, ugh",
    "I'm dying to see the new series",
    "we were killing it at the pub quiz",
    "that cheesecake is to die for",
    "killer workout at the gym today",
    "I shot myself in the foot by not reading the email",
    "I nearly died laughing at his story",
    "the plant on my desk died",
    "my car died on the way to work",
    "stuck in a dead end job for now",
    "over my dead body will I watch that again",
]


@pytest.mark.parametrize("text", EVERYDAY_IDIOMS)
def test_everyday_uses_of_dead_and_die_are_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


# "Done with" something ordinary (written before the training idioms on "done" and not training rows); before
# those, five of the six screened crisis (0.65-0.72).
DONE_WITH = [
    "I'm so done with this week.",
    "I'm done with this job, I'm handing in my notice tomorrow.",
    "I'm done with this job.",
    "honestly I'm done with dating apps",
    "I'm done with the group chat drama",
    "done with my exams at last!",
]
DONE_WITH_LIFE = [
    "I'm done with life, I'm going to kill myself tonight",
    "I'm so done with living, I've got the pills ready",
]


@pytest.mark.parametrize("text", DONE_WITH)
def test_being_done_with_something_ordinary_is_not_crisis(text: str) -> None:
    assert screen(text).level != "crisis"


@pytest.mark.parametrize("text", DONE_WITH_LIFE)
def test_being_done_with_life_is_crisis(text: str) -> None:
    assert screen(text).level == "crisis"


def test_unseen_probe_set_keeps_idioms_quiet_and_crisis_caught() -> None:
    rows = classifier.read_csv(DATA / "screening_probe.csv")
    metrics = screening_metrics(rows, screen_many([r["text"] for r in rows]))
    assert metrics["crisis_recall"] >= 0.95
    assert metrics["hard_negative_crisis_rate"] <= 0.10


@pytest.mark.parametrize("text", ["this commute is killing me", "my phone battery is dead again", "good morning all"])
def test_text_without_an_area_signal_gets_no_area(text: str) -> None:
    assert screen(text).area is None
