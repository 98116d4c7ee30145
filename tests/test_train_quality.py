"""Quality floors of the default model trained on the mirrored public data (issue 2, figures).

Slow (trains the real default model once): run with `python -m pytest tests/test_train_quality.py -m quality`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import time
from pathlib import Path

import pytest

from harassflag import load_model
from harassflag.datasets import load_dataset
from harassflag.evaluate import evaluate_set, model_scorer

pytestmark = pytest.mark.quality

FLOORS = [
    # (dataset, split, head, macro-F1 floor)
    ("tweeteval-offensive", "val", "offensive", 0.75),
    ("hateval", "dev", "hate", 0.75),
]
PUBLIC_TRAIN = {"davidson", "olid", "hateval"}


@pytest.fixture(scope="module")
def trained(shared_datasets, tmp_path_factory) -> dict:
    """The default recipe trained once through the console script, as a user would."""
    script = Path(sysconfig.get_path("scripts")) / "harassflag"
    out = tmp_path_factory.mktemp("quality") / "default"
    env = dict(os.environ)
    env.pop("HARASSFLAG_DATA_DIR", None)
    t0 = time.perf_counter()
    r = subprocess.run([str(script) if script.exists() else shutil.which("harassflag"), "train",
                        "--data-dir", str(shared_datasets), "--out", str(out)],
                       check=False, capture_output=True, text=True, timeout=1800, env=env)
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    print(f"\ntrained the default model in {seconds:.1f}s\n{r.stdout}")
    return {"dir": out, "model": load_model(out), "seconds": seconds, "stdout": r.stdout}


@pytest.mark.parametrize(("dataset", "split", "head", "floor"), FLOORS, ids=[f[0] for f in FLOORS])
def test_validation_floor(trained, shared_datasets, dataset, split, head, floor, record_property) -> None:
    model = trained["model"]
    data = load_dataset(dataset, split, data_dir=shared_datasets)
    results = evaluate_set(model_scorer(model), data)
    m = results[head]
    record_property(f"{dataset}_{head}_macro_f1", round(m["macro_f1"], 4))
    print(f"{dataset}:{split} {head}: macro-F1 {m['macro_f1']:.4f} (floor {floor}) precision {m['precision']:.3f} "
          f"recall {m['recall']:.3f} AUC {m['roc_auc']:.3f} threshold {m['threshold']:.3f} n={m['n']}")
    assert m["threshold"] == model.thresholds[head]
    assert m["macro_f1"] >= floor


def test_manifest_records_datasets_with_hashes_and_row_counts(trained, shared_datasets) -> None:
    manifest = json.loads((trained["dir"] / "manifest.json").read_text())
    datasets = manifest["datasets"]
    names = {d.get("dataset") or d["name"].split(":")[0] for d in datasets}
    assert PUBLIC_TRAIN <= names, names
    for d in datasets:
        assert isinstance(d["rows"], int) and d["rows"] > 0, d["name"]
        if d.get("dataset") in PUBLIC_TRAIN:
            assert d["files"], d["name"]
            for f in d["files"]:
                assert len(f["sha256"]) == 64
                mirrored = shared_datasets / f["path"] if not Path(f["path"]).is_absolute() else Path(f["path"])
                if mirrored.exists():
                    from harassflag.artifact import sha256_file

                    assert sha256_file(mirrored) == f["sha256"]
    assert manifest["validation_sets"]
    assert manifest["metrics"]["val"]["offensive"]["macro_f1"] > 0
    for head in ("harassment", "hate", "offensive"):
        assert 0.0 < manifest["thresholds"][head] < 1.0, head


def test_training_time_and_size_are_recorded(trained) -> None:
    manifest = trained["model"].manifest
    print(f"train {trained['seconds']:.1f}s (target <= 60 s), model {manifest['size_bytes'] / 1e6:.1f} MB "
          "(target <= 20 MB)")
    assert manifest["training"]["seconds"] > 0 and manifest["size_bytes"] > 0


# Regression floors for the harassment head (issue 3). They are set a little below what the
# default model reaches today, NOT at the bars (0.90 held-out seed accuracy, every
# functionality >= 0.80), which it does not reach yet; see the closing note.
FUNCTIONAL_FLOOR = 0.60
SEED_TEST_ACCURACY_FLOOR = 0.82


def test_functional_suite_floors(trained) -> None:
    from harassflag.evaluate import functional_results
    from harassflag.seed import load_functional

    results = functional_results(model_scorer(trained["model"]), load_functional())
    for name, r in sorted(results.items()):
        print(f"{name:<26} {r['accuracy']:.3f}")
    assert len(results) == 20
    low = {name: round(r["accuracy"], 3) for name, r in results.items() if r["accuracy"] < FUNCTIONAL_FLOOR}
    assert not low


def test_held_out_seed_accuracy_floor(trained) -> None:
    from harassflag.evaluate import category_accuracy
    from harassflag.seed import load_seed

    table = category_accuracy(model_scorer(trained["model"]), load_seed("test"))
    correct = sum(r["correct"] for r in table.values())
    total = sum(r["n"] for r in table.values())
    print(f"held-out seed accuracy {correct / total:.3f} over {total} rows")
    assert correct / total >= SEED_TEST_ACCURACY_FLOOR
    # the model must beat chance clearly on untargeted profanity (a false positive there is what
    # moderators complain about most)
    assert table["untargeted_profanity"]["accuracy"] >= 0.8


def test_held_out_seed_meets_the_profanity_and_threat_bars(trained) -> None:
    """Issue 3's bars that the model meets are asserted at the bar itself."""
    from harassflag.evaluate import seed_bars
    from harassflag.seed import load_seed

    test = load_seed("test")
    bars = seed_bars(model_scorer(trained["model"]), test)
    for bar, r in bars.items():
        print(f"{bar:<44} {r['value']:.3f} (goal {r['direction']} {r['goal']}, n={r['n']})")
    fpr = bars["false-positive rate, untargeted profanity"]
    threats = bars["recall, threats without profanity"]
    assert fpr["n"] == sum(c == "untargeted_profanity" for c in test.meta["categories"]) > 0
    assert threats["n"] > 100
    assert fpr["met"] and fpr["value"] <= 0.10
    assert threats["met"] and threats["value"] >= 0.85
    # the accuracy bar (0.90) is not met yet: it is reported, and the floor above guards it
    assert bars["harassment accuracy"]["value"] >= SEED_TEST_ACCURACY_FLOOR
