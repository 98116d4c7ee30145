"""Score one chunk of messages with the model's own methods and shape the output columns.

This is the only place batch touches the model: `model.token_ids`, `model.score_ids` and
`model.decide` (the steps of `model.score`, the same path as the API, without a Score object per
message) and `model.explain_ids` for the flagged messages' top terms, from the token ids the chunk
was scored from (what `model.explain_batch` gives, without tokenising those messages again). The
chunk is handled column by column (C-level list and Counter operations); only flagged messages get
per-message Python work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from .messages import FIELDS, Message, to_columns
from .stats import TOP_EXAMPLES, ChunkStats
from .writer import encode_columns

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ALL_DAYS = re.compile(r"(?:\d{4}-\d{2}-\d{2}\n)*\d{4}-\d{2}-\d{2}")
"""Every line a day: each of those first ten characters matched `_DAY` (which takes exactly ten)."""


@dataclass(frozen=True)
class ScoreOptions:
    """How rows are shaped: output encoding, columns, what to keep."""

    kind: str
    cols: tuple[str, ...]
    no_text: bool = False
    only_flagged: bool = False
    explain_top: int = 5
    queue: bool = False


def _explain_heads(probs: np.ndarray, cats: np.ndarray, heads: tuple[str, ...],
                   flag_heads: tuple[str, ...]) -> list[str]:
    """The head each flagged message (rows of `probs`, `cats`) is explained by: its highest-scoring
    positive flagging head (the first in `flag_heads` of equals)."""
    pos = {h: j for j, h in enumerate(heads)}
    cols = [pos[h] for h in flag_heads if h in pos]
    if not cols or not len(probs):  # nothing can be flagged without a flagging head
        return [heads[int(j)] for j in np.argmax(probs, axis=1)] if len(probs) else []
    scores = np.where(cats[:, cols], probs[:, cols], -np.inf)  # a flagged row has a positive one
    return [heads[cols[j]] for j in np.argmax(scores, axis=1).tolist()]


def _days(timestamps: list[str]) -> list[str]:
    """The YYYY-MM-DD day of each timestamp that starts with one ('' otherwise)."""
    firsts = [t[:10] for t in timestamps]
    if _ALL_DAYS.fullmatch("\n".join(firsts)) is not None:  # the usual case: one C-level match
        return firsts
    match = _DAY.match
    return [t[:10] if match(t) else "" for t in timestamps]


def _count_stats(stats: ChunkStats, targets: list[tuple[str, ...]], channels: list[str],
                 authors: list[str], days: list[str], flagged_idx: list[int]) -> None:
    """Totals and per-key counters of the chunk (Counter.update over lists: C loops)."""
    stats.scored = len(channels)
    stats.flagged = len(flagged_idx)
    stats.channel_total.update(channels)
    stats.author_total.update(authors)
    stats.day_total.update(filter(None, days))
    stats.channel_flagged.update([channels[i] for i in flagged_idx])
    stats.author_flagged.update([authors[i] for i in flagged_idx])
    stats.day_flagged.update(filter(None, [days[i] for i in flagged_idx]))
    stats.target_flagged.update(chain.from_iterable([targets[i] for i in flagged_idx]))


def score_chunk(
    model: Any, messages: list[Message], opts: ScoreOptions, chunk_no: int
) -> tuple[Any, ChunkStats]:
    """Encoded output for `messages` and the chunk's statistics."""
    return score_columns(model, to_columns(messages), opts, chunk_no)


def score_columns(
    model: Any, columns: tuple[list, ...], opts: ScoreOptions, chunk_no: int
) -> tuple[Any, ChunkStats]:
    """`score_chunk` of a chunk given as `to_columns` made it (what worker processes receive)."""
    col = dict(zip(FIELDS, columns))
    ids, channels, authors, timestamps = col["id"], col["channel"], col["author"], col["timestamp"]
    texts, sources, lines, targets = col["text"], col["source"], col["line"], col["targets"]
    # model.score's own steps (score_matrix, then decide), without a Score object per message
    tok = model.token_ids(texts)
    probs = model.score_ids(tok, keep_rows=opts.explain_top > 0)
    cats_arr, flagged_arr = model.decide(probs)
    model_heads = tuple(model.heads)
    head_pos = {h: j for j, h in enumerate(model_heads)}
    heads = [c.removeprefix("score_") for c in opts.cols if c.startswith("score_")]
    flag_heads = tuple(getattr(model, "flag_heads", ()) or ())
    all_flagged: list[bool] = flagged_arr.tolist()
    flagged_idx = [i for i, f in enumerate(all_flagged) if f]
    score_cols: dict[str, list[float]] = {h: probs[:, head_pos[h]].tolist() for h in heads}

    # Explanations for flagged messages only, each by the head that flagged it.
    f_probs = probs[flagged_idx]
    f_cats_arr = cats_arr[flagged_idx]
    f_scores: list[list[float]] = f_probs.tolist()
    f_cats: list[list[bool]] = f_cats_arr.tolist()
    f_heads = _explain_heads(f_probs, f_cats_arr, model_heads, flag_heads)
    heads_of = dict(zip(flagged_idx, f_heads))
    explanations: dict[int, list] = {}
    if opts.explain_top > 0 and flagged_idx:
        spans = model.explain_ids(texts, tok, flagged_idx, f_heads, top=opts.explain_top)
        explanations.update(zip(flagged_idx, spans))

    days = _days(timestamps)
    stats = ChunkStats()
    _count_stats(stats, targets, channels, authors, days, flagged_idx)

    # The chunk's strongest flagged messages (by their explained head's score, then position):
    # only these become examples, the rest would be dropped by the merge anyway.
    head_score = {i: s[head_pos[heads_of[i]]] for i, s in zip(flagged_idx, f_scores)}
    top = sorted(flagged_idx, key=lambda i: (-head_score[i], i))[:TOP_EXAMPLES]
    for i in top:
        stats.examples.append(
            {
                "score": head_score[i],
                "head": heads_of[i],
                "order": [chunk_no, i],
                "id": ids[i],
                "channel": channels[i],
                "author": authors[i],
                "timestamp": timestamps[i],
                "text": None if opts.no_text else texts[i],
                "spans": [
                    [sp.term, int(sp.start), int(sp.end), float(sp.weight)]
                    for sp in explanations.get(i, [])
                ],
            }
        )
    if opts.queue:
        for i, s, c in zip(flagged_idx, f_scores, f_cats):
            stats.queue_items.append(
                {
                    "external_id": f"{sources[i]}#{ids[i]}",
                    "text": texts[i],
                    "scores": dict(zip(model_heads, s)),
                    "categories": dict(zip(model_heads, c)),
                    "spans": [
                        {
                            "term": sp.term,
                            "start": int(sp.start),
                            "end": int(sp.end),
                            "weight": float(sp.weight),
                        }
                        for sp in explanations.get(i, [])
                    ],
                    "channel": channels[i] or None,
                    "author": authors[i] or None,
                }
            )

    no_expl: list = []
    explanation: list[list] = [no_expl] * len(ids)  # the Spans; the writer keeps term, weight
    for i, spans in explanations.items():
        explanation[i] = spans
    data: dict[str, list] = {
        "id": ids,
        "channel": channels,
        "author": authors,
        "timestamp": timestamps,
        "flagged": all_flagged,
        "explanation": explanation,
        "targets": targets,
        "source": sources,
        "line": lines,
    }
    if not opts.no_text:
        data["text"] = texts
    for h in heads:
        data[f"score_{h}"] = score_cols[h]
    if opts.only_flagged:
        data = {c: [v[i] for i in flagged_idx] for c, v in data.items()}
    stats.written = len(data["id"])
    return encode_columns(opts.kind, data, list(opts.cols)), stats
