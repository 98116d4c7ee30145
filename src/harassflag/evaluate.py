"""Evaluation: per-head metrics on labelled sets, the functional suite, a peer beside us, reports."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .heads import HEADS, MISSING, LabelledSet
from .metrics import head_metrics
from .model import Model

BATCH = 1000


@dataclass
class Scorer:
    """Something that gives a probability per head: our model, or a peer mapped onto our heads."""

    name: str
    predict: Callable[[Sequence[str]], np.ndarray]  # (n, len(HEADS)), NaN where it has no opinion
    thresholds: dict[str, float] = field(default_factory=dict)


def model_scorer(model: Model, progress: bool = False) -> Scorer:
    """Our model as a Scorer (scores in batches, with a progress bar when asked)."""

    def predict(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(HEADS)))
        cols = [model.heads.index(h) for h in HEADS]
        it = range(0, len(texts), BATCH)
        if progress and len(texts) > 5 * BATCH:
            from tqdm import tqdm

            it = tqdm(it, desc="scoring", unit="batch", leave=False)
        for i in it:
            out[i : i + BATCH] = model.score_matrix(texts[i : i + BATCH])[:, cols]
        return out

    return Scorer(name=f"harassflag:{model.name}", predict=predict, thresholds=model.thresholds)


def peer_scorer() -> Scorer | None:
    """alt-profanity-check's predict_prob as every head (it has one score), or None if not installed."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None

    def predict(texts: Sequence[str]) -> np.ndarray:
        p = np.asarray(predict_prob(list(texts)), dtype=float)
        return np.repeat(p[:, None], len(HEADS), axis=1)

    return Scorer(name="alt-profanity-check", predict=predict, thresholds={h: 0.5 for h in HEADS})


def evaluate_set(scorer: Scorer, data: LabelledSet, probs: np.ndarray | None = None) -> dict:
    """Metrics per head that `data` has labels for."""
    probs = scorer.predict(data.texts) if probs is None else probs
    out = {}
    for j, head in enumerate(HEADS):
        rows = np.flatnonzero(data.labels[head] != MISSING)
        if rows.size == 0:
            continue
        y = data.labels[head][rows]
        out[head] = head_metrics(y, probs[rows, j], scorer.thresholds.get(head, 0.5))
        out[head]["_y"] = y
        out[head]["_p"] = probs[rows, j]
    return out


def _accuracy_by_group(scorer: Scorer, texts: list[str], labels: list[int], groups: list[str],
                       head: str) -> dict[str, dict]:
    j = HEADS.index(head)
    pred = scorer.predict(texts)[:, j] >= scorer.thresholds.get(head, 0.5)
    out: dict[str, dict] = {}
    for group, label, p in zip(groups, labels, pred):
        r = out.setdefault(group, {"n": 0, "correct": 0, "expected": int(label)})
        r["n"] += 1
        r["correct"] += int(bool(p) == bool(label))
    for r in out.values():
        r["accuracy"] = r["correct"] / r["n"]
    return out


def functional_results(scorer: Scorer, cases: list[dict], head: str = "harassment") -> dict[str, dict]:
    """Accuracy per functionality of the functional suite (harassment decisions)."""
    return _accuracy_by_group(scorer, [c["text"] for c in cases], [int(c[head]) for c in cases],
                              [c["functionality"] for c in cases], head)


def category_accuracy(scorer: Scorer, data: LabelledSet, head: str = "harassment") -> dict[str, dict]:
    """Accuracy per category of a set whose meta lists categories (the seed set)."""
    labels = data.labels[head]
    keep = [i for i in range(len(data)) if labels[i] != MISSING]
    cats = data.meta["categories"]
    return _accuracy_by_group(scorer, [data.texts[i] for i in keep], [int(labels[i]) for i in keep],
                              [cats[i] for i in keep], head)


THREAT_CATEGORIES = ("threat_violence", "threat_expose")
SEED_BARS: tuple[tuple[str, str, float], ...] = (
    # (bar, direction, goal): issue 3's bars for the held-out seed split
    ("harassment accuracy", ">=", 0.90),
    ("false-positive rate, untargeted profanity", "<=", 0.10),
    ("recall, threats without profanity", ">=", 0.85),
)


def seed_bars(scorer: Scorer, data: LabelledSet) -> dict[str, dict]:
    """Issue 3's bars on a seed split: accuracy, untargeted-profanity FPR, recall on threats without profanity."""
    y = data.labels["harassment"]
    cats = np.asarray(data.meta["categories"], dtype=object)
    known = y != MISSING
    pred = scorer.predict(data.texts)[:, HEADS.index("harassment")] >= scorer.thresholds.get("harassment", 0.5)
    profanity = known & (cats == "untargeted_profanity")
    threats = known & (y == 1) & np.isin(cats, THREAT_CATEGORIES) & (data.labels["offensive"] == 0)
    values = [
        (known, float((pred[known] == (y[known] == 1)).mean()) if known.any() else float("nan")),
        (profanity, float(pred[profanity].mean()) if profanity.any() else float("nan")),
        (threats, float(pred[threats].mean()) if threats.any() else float("nan")),
    ]
    out = {}
    for (bar, direction, goal), (rows, value) in zip(SEED_BARS, values):
        met = value >= goal if direction == ">=" else value <= goal
        out[bar] = {"value": value, "goal": goal, "direction": direction, "n": int(rows.sum()), "met": bool(met)}
    return out


def strip_private(results: dict) -> dict:
    """Metrics without the raw label/score arrays (for JSON)."""
    return {k: ({kk: vv for kk, vv in v.items() if not kk.startswith("_")} if isinstance(v, dict) else v)
            for k, v in results.items()}


def write_plots(results: dict, out_dir: Path, prefix: str) -> list[Path]:
    """Precision-recall and calibration plots per head, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve

    paths = []
    for head, r in results.items():
        y, p = r.get("_y"), r.get("_p")
        if y is None or y.min() == y.max():
            continue
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        prec, rec, _ = precision_recall_curve(y, p)
        axes[0].plot(rec, prec)
        axes[0].set(xlabel="recall", ylabel="precision", title=f"{prefix} {head}: precision-recall",
                    xlim=(0, 1), ylim=(0, 1.02))
        frac, mean = calibration_curve(y, p, n_bins=10, strategy="uniform")
        axes[1].plot([0, 1], [0, 1], linestyle="--", color="grey")
        axes[1].plot(mean, frac, marker="o")
        axes[1].set(xlabel="predicted probability", ylabel="observed frequency",
                    title=f"{prefix} {head}: calibration", xlim=(0, 1), ylim=(0, 1))
        fig.tight_layout()
        path = out_dir / f"{prefix.replace(':', '_')}_{head}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(report: dict, out_dir: Path) -> Path:
    """Write the report JSON (plots are written beside it by the caller)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True, default=float) + "\n", encoding="utf-8")
    return path
