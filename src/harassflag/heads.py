"""The model's heads and the labelled-data container every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HEADS: tuple[str, ...] = ("harassment", "hate", "offensive")
"""Every head, in the fixed order of the model's weight matrix."""

DEFAULT_FLAG_HEADS: tuple[str, ...] = ("harassment", "hate")
"""Heads whose positive decision sets `flagged` unless a policy says otherwise."""

MISSING = -1
"""Label value meaning "this dataset says nothing about this head"."""


@dataclass
class LabelledSet:
    """Texts with one label array per head (1, 0 or MISSING)."""

    name: str
    texts: list[str]
    labels: dict[str, np.ndarray]
    groups: list[str] | None = None
    """Optional grouping key per row (e.g. seed template id) for group-aware splits."""
    weights: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.texts)
        for head in HEADS:
            arr = self.labels.get(head)
            if arr is None:
                self.labels[head] = np.full(n, MISSING, dtype=np.int8)
            else:
                arr = np.asarray(arr, dtype=np.int8)
                if arr.shape != (n,):
                    raise ValueError(f"{self.name}: labels for {head!r} have {arr.shape[0]} rows, texts {n}")
                self.labels[head] = arr
        unknown = set(self.labels) - set(HEADS)
        if unknown:
            raise ValueError(f"{self.name}: unknown heads {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray, name: str | None = None) -> LabelledSet:
        """Rows at `index` (integer positions) as a new set."""
        index = np.asarray(index, dtype=np.int64)
        return LabelledSet(
            name=name or self.name,
            texts=[self.texts[i] for i in index],
            labels={h: a[index] for h, a in self.labels.items()},
            groups=[self.groups[i] for i in index] if self.groups is not None else None,
            weights=self.weights[index] if self.weights is not None else None,
            meta=self._subset_meta(index),
        )

    def _subset_meta(self, index: np.ndarray) -> dict:
        meta = dict(self.meta)
        if "row_sources" in meta:  # per-row metadata follows the rows
            meta["row_sources"] = [meta["row_sources"][i] for i in index]
        if "head_weights" in meta:
            meta["head_weights"] = {h: np.asarray(a)[index] for h, a in meta["head_weights"].items()}
        return meta

    def heads_present(self) -> list[str]:
        """Heads with at least one known label."""
        return [h for h in HEADS if (self.labels[h] != MISSING).any()]


def concat_sets(sets: list[LabelledSet], name: str) -> LabelledSet:
    """Concatenate sets row-wise, keeping per-row weights (1.0 where absent)."""
    texts: list[str] = []
    groups: list[str] = []
    for s in sets:
        texts.extend(s.texts)
        groups.extend(s.groups if s.groups is not None else [f"{s.name}:{i}" for i in range(len(s))])
    labels = {h: np.concatenate([s.labels[h] for s in sets]) if sets else np.zeros(0, np.int8) for h in HEADS}
    weights = np.concatenate(
        [s.weights if s.weights is not None else np.ones(len(s)) for s in sets]
    ) if sets else np.zeros(0)
    row_sources: list[str] = []
    for s in sets:
        row_sources.extend([s.name] * len(s))
    head_weights = {
        h: np.concatenate([np.full(len(s), float(s.meta.get("head_weight", {}).get(h, 1.0))) for s in sets])
        if sets else np.zeros(0)
        for h in HEADS
    }
    # what each part was (for the manifest); per-row lists stay out
    sources = [{k: v for k, v in dict(s.meta, name=s.name, rows=len(s)).items()
                if not (isinstance(v, (list, np.ndarray)) and len(v) == len(s) and k != "files")}
               for s in sets]
    meta = {"row_sources": row_sources, "sources": sources, "head_weights": head_weights}
    return LabelledSet(name=name, texts=texts, labels=labels, groups=groups, weights=weights, meta=meta)
