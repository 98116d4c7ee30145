"""Moderators' decisions as training data: labelled JSONL rows out, a `LabelledSet` in.

Confirmed and escalated items are harassment (1), dismissed ones are not (0); other heads
stay MISSING, since a moderator decided only about harassment. The file written by
`export_feedback` and the set read straight from the database hash the same canonical bytes,
so a manifest's feedback hash does not depend on which route the rows took.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..heads import LabelledSet
from .errors import BadItemError
from .store import ReviewItem, ReviewQueue

LABEL_OF_DECISION = {"confirmed": 1, "escalated": 1, "dismissed": 0}
FEEDBACK_NAME = "feedback"


def feedback_row(item: ReviewItem) -> dict[str, Any]:
    """One decided item as a labelled row."""
    return {
        "text": item.text,
        "harassment": LABEL_OF_DECISION[item.status],
        "decision": item.status,
        "source": item.source,
        "external_id": item.external_id,
        "review_id": item.id,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "model_sha256": item.model_sha256,
    }


def _line(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _decided_rows(queue: ReviewQueue) -> Iterator[dict[str, Any]]:
    for item in queue.iter_decided():
        if item.status in LABEL_OF_DECISION:
            yield feedback_row(item)


def export_feedback(queue: ReviewQueue, out_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Write decided items as JSONL (atomically); return {"rows": n, "sha256": ..., "path": ...}."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    rows = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".feedback-", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for row in _decided_rows(queue):
                line = _line(row)
                handle.write(line)
                digest.update(line)
                rows += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return {"rows": rows, "sha256": digest.hexdigest(), "path": str(out)}


def _is_database_url(value: str) -> bool:
    return value.startswith(("sqlite:", "postgresql"))


def _parse_rows(lines: Iterable[bytes]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadItemError(f"feedback line {number}: not valid JSON") from None
        if not isinstance(row, dict):
            raise BadItemError(f"feedback line {number}: not a JSON object")
        if not isinstance(row.get("text"), str) or not row["text"]:
            raise BadItemError(f"feedback line {number}: `text` must be a non-empty string")
        if row.get("harassment") not in (0, 1) or isinstance(row.get("harassment"), bool):
            raise BadItemError(f"feedback line {number}: `harassment` must be 0 or 1")
        rows.append(row)
    return rows


def load_feedback(path_or_db_url: str | os.PathLike[str]) -> LabelledSet:
    """Decided items as a `LabelledSet` (harassment only), from a JSONL file or a database URL."""
    source = os.fspath(path_or_db_url)
    digest = hashlib.sha256()
    if _is_database_url(source):
        queue = ReviewQueue(source)
        try:
            rows = list(_decided_rows(queue))
        finally:
            queue.close()
        for row in rows:
            digest.update(_line(row))
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise BadItemError(f"cannot read feedback file {source}: {exc.strerror}") from None
        digest.update(data)
        rows = _parse_rows(data.splitlines())
    if not rows:
        raise BadItemError(
            f"no decided items in {'the database' if _is_database_url(source) else source}"
        )
    return LabelledSet(
        name=FEEDBACK_NAME,
        texts=[r["text"] for r in rows],
        labels={"harassment": np.array([r["harassment"] for r in rows], dtype=np.int8)},
        groups=[
            f"feedback:{r.get('source', '')}:{r.get('external_id', i)}" for i, r in enumerate(rows)
        ],
        meta={"rows": len(rows), "sha256": digest.hexdigest()},
    )
