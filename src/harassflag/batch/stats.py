"""Aggregates for the summary and the HTML report, small enough to live in the checkpoint."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TOP_EXAMPLES = 25
COUNTERS = (
    "channel_total",
    "channel_flagged",
    "author_flagged",
    "author_total",
    "target_flagged",
    "day_total",
    "day_flagged",
)
"""The per-key counters of BatchStats (merged per chunk, saved in the checkpoint)."""


@dataclass
class ChunkStats:
    """What one scored chunk adds to the totals."""

    scored: int = 0
    flagged: int = 0
    written: int = 0
    channel_total: Counter[str] = field(default_factory=Counter)
    channel_flagged: Counter[str] = field(default_factory=Counter)
    author_flagged: Counter[str] = field(default_factory=Counter)
    author_total: Counter[str] = field(default_factory=Counter)
    target_flagged: Counter[str] = field(default_factory=Counter)
    day_total: Counter[str] = field(default_factory=Counter)
    day_flagged: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    """Top flagged messages: score, head, id, channel, author, timestamp, text (or None), spans."""
    queue_items: list[dict[str, Any]] = field(default_factory=list)
    """Flagged messages for the review queue (only with --queue; never checkpointed)."""


class BatchStats(ChunkStats):
    """Running totals over every chunk written so far."""

    def merge(self, other: ChunkStats) -> None:
        """Add one chunk's figures."""
        self.scored += other.scored
        self.flagged += other.flagged
        self.written += other.written
        for name in COUNTERS:
            getattr(self, name).update(getattr(other, name))
        self.examples = heapq.nsmallest(
            TOP_EXAMPLES, self.examples + other.examples, key=lambda e: (-e["score"], e["order"])
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able copy (for the checkpoint)."""
        return {
            "scored": self.scored,
            "flagged": self.flagged,
            "written": self.written,
            **{name: dict(getattr(self, name)) for name in COUNTERS},
            "examples": self.examples,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchStats:
        """Rebuild from `to_json` output."""
        s = cls(scored=data["scored"], flagged=data["flagged"], written=data["written"])
        for name in COUNTERS:
            setattr(s, name, Counter(data.get(name, {})))
        s.examples = list(data.get("examples", []))
        return s
