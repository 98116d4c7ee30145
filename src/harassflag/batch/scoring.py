"""Score one chunk of messages with the model's own methods and shape the output rows.

This is the only place batch touches the model: `model.score` (scores, categories, flagged, the
same path as the API) and `model.explain_batch` for the flagged messages' top terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .messages import Message
from .stats import TOP_EXAMPLES, ChunkStats
from .writer import encode_rows

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ScoreOptions:
    """How rows are shaped: output encoding, columns, what to keep."""

    kind: str
    cols: tuple[str, ...]
    no_text: bool = False
    only_flagged: bool = False
    explain_top: int = 5
    queue: bool = False


def _explain_head(score: Any, flag_heads: tuple[str, ...]) -> str:
    positive = (
        [h for h in flag_heads if score.categories.get(h)] or list(flag_heads) or list(score.scores)
    )
    return max(positive, key=lambda h: score.scores[h])


def score_chunk(
    model: Any, messages: list[Message], opts: ScoreOptions, chunk_no: int
) -> tuple[Any, ChunkStats]:
    """Encoded output for `messages` and the chunk's statistics."""
    texts = [m.text for m in messages]
    scores = model.score(texts)
    heads = [c.removeprefix("score_") for c in opts.cols if c.startswith("score_")]
    flag_heads = tuple(getattr(model, "flag_heads", ()) or ())

    # Explanations for flagged messages only, grouped by the head that flagged them.
    explanations: dict[int, list] = {}
    by_head: dict[str, list[int]] = {}
    heads_of: dict[int, str] = {}
    for i, s in enumerate(scores):
        if s.flagged:
            heads_of[i] = _explain_head(s, flag_heads)
            if opts.explain_top > 0:
                by_head.setdefault(heads_of[i], []).append(i)
    for head, idx in by_head.items():
        spans = model.explain_batch([texts[i] for i in idx], head=head, top=opts.explain_top)
        for i, sp in zip(idx, spans):
            explanations[i] = list(sp)

    stats = ChunkStats()
    rows: list[dict[str, Any]] = []
    for i, (m, s) in enumerate(zip(messages, scores)):
        flagged = bool(s.flagged)
        day = m.timestamp[:10] if _DAY.match(m.timestamp) else ""
        stats.scored += 1
        stats.channel_total[m.channel] += 1
        stats.author_total[m.author] += 1
        if day:
            stats.day_total[day] += 1
        spans = explanations.get(i, [])
        if flagged:
            stats.flagged += 1
            stats.channel_flagged[m.channel] += 1
            stats.author_flagged[m.author] += 1
            for t in m.targets:
                stats.target_flagged[t] += 1
            if day:
                stats.day_flagged[day] += 1
            head = heads_of[i]
            stats.examples.append(
                {
                    "score": float(s.scores[head]),
                    "head": head,
                    "order": [chunk_no, i],
                    "id": m.id,
                    "channel": m.channel,
                    "author": m.author,
                    "timestamp": m.timestamp,
                    "text": None if opts.no_text else m.text,
                    "spans": [
                        [sp.term, int(sp.start), int(sp.end), float(sp.weight)] for sp in spans
                    ],
                }
            )
        if flagged and opts.queue:
            stats.queue_items.append(
                {
                    "external_id": f"{m.source}#{m.id}",
                    "text": m.text,
                    "scores": dict(s.scores),
                    "categories": dict(s.categories),
                    "spans": [
                        {
                            "term": sp.term,
                            "start": int(sp.start),
                            "end": int(sp.end),
                            "weight": float(sp.weight),
                        }
                        for sp in spans
                    ],
                    "channel": m.channel or None,
                    "author": m.author or None,
                }
            )
        if opts.only_flagged and not flagged:
            continue
        row: dict[str, Any] = {
            "id": m.id,
            "channel": m.channel,
            "author": m.author,
            "timestamp": m.timestamp,
            "flagged": flagged,
            "explanation": [(sp.term, round(float(sp.weight), 6)) for sp in spans],
            "targets": m.targets,
            "source": m.source,
            "line": m.line,
        }
        if not opts.no_text:
            row["text"] = m.text
        for h in heads:
            row[f"score_{h}"] = float(s.scores[h])
        rows.append(row)
    stats.examples.sort(key=lambda e: -e["score"])
    del stats.examples[TOP_EXAMPLES:]
    stats.written = len(rows)
    return encode_rows(opts.kind, rows, list(opts.cols)), stats
