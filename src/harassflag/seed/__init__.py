"""The team's curated seed set and functional test suite, shipped as package data.

`load_seed(split)` gives a `LabelledSet` (groups = template ids, for group-aware splits);
`load_functional()` gives the functional cases. See DATASHEET.md for what is inside.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..heads import HEADS, MISSING, LabelledSet

SEED_DIR = Path(__file__).resolve().parent
SEED_PATH = SEED_DIR / "seed.jsonl"
FUNCTIONAL_PATH = SEED_DIR / "functional.jsonl"
SPLITS: tuple[str, ...] = ("train", "val", "test")

_SEED_KEYS = ("id", "text", "harassment", "hate", "offensive", "category", "template", "split")
_FUNCTIONAL_KEYS = ("functionality", "text", "harassment")

__all__ = [
    "FUNCTIONAL_PATH",
    "SEED_PATH",
    "SPLITS",
    "load_functional",
    "load_seed",
    "load_seed_rows",
]


def _read_jsonl(path: Path, keys: tuple[str, ...]) -> list[dict]:
    """Parse a JSON-lines file, checking each row has `keys`; DatasetError names the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path.name} line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or any(k not in row for k in keys):
            raise DatasetError(f"{path.name} line {number}: expected the keys {', '.join(keys)}")
        rows.append(row)
    return rows


def load_seed_rows(split: str | None = None, path: Path | None = None) -> list[dict]:
    """Seed rows as dicts (all, or one split), in file order."""
    if split is not None and split not in SPLITS:
        raise DatasetError(f"unknown seed split {split!r}; expected one of {', '.join(SPLITS)}")
    rows = _read_jsonl(path or SEED_PATH, _SEED_KEYS)
    return [r for r in rows if split is None or r["split"] == split]


def load_seed(split: str | None = None, path: Path | None = None) -> LabelledSet:
    """The seed set (or one split) as a LabelledSet; null labels become MISSING, groups are templates."""
    rows = load_seed_rows(split, path)
    labels = {
        head: np.array([MISSING if r[head] is None else int(r[head]) for r in rows], dtype=np.int8)
        for head in HEADS
    }
    return LabelledSet(
        name="seed" if split is None else f"seed:{split}",
        texts=[r["text"] for r in rows],
        labels=labels,
        groups=[r["template"] for r in rows],
        meta={
            "dataset": "seed",
            "split": split or "all",
            "files": [{"path": f"harassflag/seed/{(path or SEED_PATH).name}",
                       "sha256": hashlib.sha256((path or SEED_PATH).read_bytes()).hexdigest(),
                       "rows": len(rows)}],
            "ids": [r["id"] for r in rows],
            "categories": [r["category"] for r in rows],
            "splits": [r["split"] for r in rows],
        },
    )


def load_functional(path: Path | None = None) -> list[dict]:
    """Functional test cases: dicts with functionality, text and harassment (0/1)."""
    return _read_jsonl(path or FUNCTIONAL_PATH, _FUNCTIONAL_KEYS)
