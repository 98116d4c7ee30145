"""Per-head metrics, threshold choice and calibration error (scikit-learn's metrics underneath)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE with equal-width bins: mean |accuracy - confidence| weighted by bin size."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.size == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(ece)


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that maximises F1 of the positive class on (y, p)."""
    if y.size == 0 or y.min() == y.max():
        return 0.5
    prec, rec, thr = precision_recall_curve(y, p)
    f1 = 2 * prec[:-1] * rec[:-1] / np.maximum(prec[:-1] + rec[:-1], 1e-12)
    return float(thr[int(np.argmax(f1))])


def precision_operating_point(y: np.ndarray, p: np.ndarray, target: float = 0.9) -> dict:
    """Lowest threshold whose precision is >= target, with the recall it gives."""
    if y.size == 0 or y.min() == y.max():
        return {"threshold": None, "precision": None, "recall": None, "target_precision": target}
    prec, rec, thr = precision_recall_curve(y, p)
    ok = np.flatnonzero(prec[:-1] >= target)
    if ok.size == 0:
        return {"threshold": None, "precision": None, "recall": 0.0, "target_precision": target}
    i = int(ok[0])
    return {"threshold": float(thr[i]), "precision": float(prec[i]), "recall": float(rec[i]),
            "target_precision": target}


def head_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Classification and calibration metrics of one head at one threshold."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    pred = (p >= threshold).astype(int)
    both = y.size > 0 and y.min() != y.max()
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel() if y.size else (0, 0, 0, 0)
    return {
        "n": int(y.size),
        "positives": int(y.sum()),
        "threshold": float(threshold),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)) if y.size else float("nan"),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "accuracy": float((pred == y).mean()) if y.size else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if y.size else float("nan"),
        "ece": expected_calibration_error(y, p),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }
