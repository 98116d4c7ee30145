"""Moderators' decisions retrain the model, and `evaluate` shows the model before and after."""

from __future__ import annotations

import json
import subprocess
import sys

from harassflag.artifact import read_manifest
from harassflag.recipes import feedback_holdout
from harassflag.review.feedback import load_feedback


def _write_feedback(path, n: int = 200) -> None:
    # a community whose line differs from the synthetic training data: "noob" is abuse here
    rows = []
    for i in range(n):
        if i % 2:
            rows.append({"text": f"shut up noob number {i}, nobody asked", "harassment": 1})
        else:
            rows.append({"text": f"good match number {i}, well played", "harassment": 0})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from harassflag.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=600)


def test_feedback_is_added_to_training_and_recorded(tmp_path, synthetic):
    train_csv = tmp_path / "train.csv"
    lines = ["text,label"] + [f'"{t}",{y}' for t, y in zip(synthetic.texts, synthetic.labels["harassment"])]
    train_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fb = tmp_path / "feedback.jsonl"
    _write_feedback(fb)

    before, after = tmp_path / "before", tmp_path / "after"
    r = _run("train", "--train-file", str(train_csv), "--label-column", "label", "--out", str(before))
    assert r.returncode == 0, r.stderr
    r = _run("train", "--train-file", str(train_csv), "--label-column", "label", "--feedback", str(fb),
             "--out", str(after))
    assert r.returncode == 0, r.stderr

    recorded = read_manifest(after)["feedback"]
    assert recorded == [{"source": str(fb), "rows": 200, "sha256": load_feedback(fb).meta["sha256"]}]
    assert "feedback" not in read_manifest(before)

    report = tmp_path / "report"
    r = _run("evaluate", "--model", str(after), "--baseline", str(before), "--feedback", str(fb),
             "--report", str(report))
    assert r.returncode == 0, r.stderr
    data = json.loads((report / "report.json").read_text())
    (set_name, by_scorer), = data["sets"].items()
    assert set_name.endswith(":holdout")
    held = feedback_holdout(load_feedback(fb))
    assert by_scorer["harassflag:after"]["harassment"]["n"] == len(held) > 0
    before_acc = by_scorer["harassflag:before (baseline)"]["harassment"]["accuracy"]
    after_acc = by_scorer["harassflag:after"]["harassment"]["accuracy"]
    # the held-out decisions were never trained on, yet the retrained model follows them better
    assert after_acc > before_acc
    assert after_acc >= 0.9
