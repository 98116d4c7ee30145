"""Shared fixtures: a real (tiny) model trained on synthetic text, saved the way `train` saves."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from harassflag.artifact import save_model
from harassflag.heads import LabelledSet
from harassflag.train import TrainOptions, fit_model

SHARED = Path(os.environ.get("HARASSFLAG_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "datasets")

_NAMES = ["sam", "alex", "jo", "kim", "lee", "max", "ria", "tom", "@user", "dude"]
_INSULTS = ["idiot", "loser", "moron", "clown", "pathetic", "worthless", "stupid", "ugly"]
_THREATS = ["i will hurt you", "i know where you live", "watch your back", "you will regret this"]
_NICE = ["great game", "see you tomorrow", "thanks for the help", "nice work on the release",
         "lunch at noon?", "the build is green", "love this song", "happy birthday"]
_PROFANE = ["holy shit that was fun", "this game is fucking broken", "damn the bus is late",
            "shit, i forgot my keys", "fuck yeah we won"]
_GROUPS = ["immigrants", "women", "muslims", "foreigners"]


def synthetic_set() -> LabelledSet:
    """A few hundred labelled synthetic messages covering all three heads."""
    texts, har, hate, off = [], [], [], []
    for name, insult in itertools.product(_NAMES, _INSULTS):
        texts.append(f"{name} you are a {insult}")
        har.append(1), hate.append(0), off.append(1)
        texts.append(f"i am such a {insult} today lol")
        har.append(0), hate.append(0), off.append(1)
    for name, threat in itertools.product(_NAMES, _THREATS):
        texts.append(f"{name} {threat}")
        har.append(1), hate.append(0), off.append(0)
    for name, nice in itertools.product(_NAMES, _NICE):
        texts.append(f"{name} {nice}")
        har.append(0), hate.append(0), off.append(0)
    for name, prof in itertools.product(_NAMES, _PROFANE):
        texts.append(f"{prof} {name}")
        har.append(0), hate.append(0), off.append(1)
    for group, insult in itertools.product(_GROUPS, _INSULTS):
        texts.append(f"all {group} are {insult} and should leave")
        har.append(0), hate.append(1), off.append(1)
        texts.append(f"my neighbours are {group} and they are lovely")
        har.append(0), hate.append(0), off.append(0)
    labels = {"harassment": np.array(har), "hate": np.array(hate), "offensive": np.array(off)}
    return LabelledSet("synthetic", texts, labels, groups=[f"g{i % 50}" for i in range(len(texts))])


@pytest.fixture(scope="session")
def synthetic() -> LabelledSet:
    return synthetic_set()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, synthetic) -> Path:
    """A real model trained on the synthetic set, saved with save_model (min_df=1: tiny data)."""
    opts = TrainOptions(c_grid=(1.0, 4.0), featurizer={"min_df": 1}, n_jobs=1)
    model = fit_model(synthetic, None, opts)
    return save_model(model, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not (SHARED / "README.md").exists():
        pytest.fail(f"the dataset mirror is missing at {SHARED}")
    return SHARED


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With HARASSFLAG_NO_SKIP=1 (CI), a skipped test is a failure: nothing passes by not running."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("HARASSFLAG_NO_SKIP") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in a run that must run every test: {report.longrepr}"
