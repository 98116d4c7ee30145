"""Score one chunk of messages with the model's own methods and shape the output rows.

This is the only place batch touches the model: `model.score_matrix` and `model.decide` (the two
steps of `model.score`, the same path as the API, without a Score object per message) and
`model.explain_batch` for the flagged messages' top terms.
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


def _explain_head(scores: list[float], cats: list[bool], heads: tuple[str, ...],
                  flag_heads: tuple[str, ...]) -> str:
    """The head a flagged message is explained by: its highest-scoring positive flagging head."""
    pos = {h: j for j, h in enumerate(heads)}
    positive = [h for h in flag_heads if h in pos and cats[pos[h]]] or [
        h for h in flag_heads if h in pos] or list(heads)
    return max(positive, key=lambda h: scores[pos[h]])


def score_chunk(
    model: Any, messages: list[Message], opts: ScoreOptions, chunk_no: int
) -> tuple[Any, ChunkStats]:
    """Encoded output for `messages` and the chunk's statistics."""
    texts = [m.text for m in messages]
    # model.score's own steps (score_matrix, then decide), without a Score object per message
    probs = model.score_matrix(texts)
    cats_arr, flagged_arr = model.decide(probs)
    model_heads = tuple(model.heads)
    all_scores: list[list[float]] = probs.tolist()
    all_cats: list[list[bool]] = cats_arr.tolist()
    all_flagged: list[bool] = flagged_arr.tolist()
    head_pos = {h: j for j, h in enumerate(model_heads)}
    heads = [c.removeprefix("score_") for c in opts.cols if c.startswith("score_")]
    flag_heads = tuple(getattr(model, "flag_heads", ()) or ())

    # Explanations for flagged messages only, grouped by the head that flagged them.
    explanations: dict[int, list] = {}
    by_head: dict[str, list[int]] = {}
    heads_of: dict[int, str] = {}
    for i, flagged in enumerate(all_flagged):
        if flagged:
            heads_of[i] = _explain_head(all_scores[i], all_cats[i], model_heads, flag_heads)
            if opts.explain_top > 0:
                by_head.setdefault(heads_of[i], []).append(i)
    for head, idx in by_head.items():
        spans = model.explain_batch([texts[i] for i in idx], head=head, top=opts.explain_top)
        for i, sp in zip(idx, spans):
            explanations[i] = list(sp)

    stats = ChunkStats()
    rows: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        flagged = all_flagged[i]
        row_scores = all_scores[i]
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
                    "score": row_scores[head_pos[head]],
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
                    "scores": dict(zip(model_heads, row_scores)),
                    "categories": dict(zip(model_heads, all_cats[i])),
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
            row[f"score_{h}"] = row_scores[head_pos[h]]
        rows.append(row)
    stats.examples.sort(key=lambda e: -e["score"])
    del stats.examples[TOP_EXAMPLES:]
    stats.written = len(rows)
    return encode_rows(opts.kind, rows, list(opts.cols)), stats
