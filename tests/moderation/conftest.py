"""Shared fixtures: one model per session, built in a temp dir if not cached."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import moderation
from moderation import classifier


@pytest.fixture(scope="session", autouse=True)
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Use the cached model when present; otherwise train once into a temp dir."""
    saved = {k: os.environ.pop(k, None) for k in ("HEARTH_MODEL_DIR", "HEARTH_MODEL_PATH")}
    cached = classifier.default_model_dir() / f"{classifier.data_fingerprint()}.npz"
    if cached.exists():
        directory = cached.parent
    else:
        directory = tmp_path_factory.mktemp("model")
        os.environ["HEARTH_MODEL_DIR"] = str(directory)
    moderation.reset()
    yield directory
    for k, v in saved.items():
        os.environ.pop(k, None)
        if v is not None:
            os.environ[k] = v
    moderation.reset()


@pytest.fixture(scope="session")
def plain_training() -> classifier.Trained:
    """A training run without the CV threshold search: fast, same weights."""
    return classifier.train(with_threshold=False)
