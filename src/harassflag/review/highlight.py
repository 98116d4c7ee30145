"""Split a message into plain and highlighted segments from its explanation spans."""

from __future__ import annotations

from typing import Any, NamedTuple


class Segment(NamedTuple):
    """A piece of the text; `mark` is set when it is an explanation span."""

    text: str
    mark: bool
    terms: str
    weight: float


def highlight_segments(text: str, spans: list[dict[str, Any]]) -> list[Segment]:
    """Segments covering `text` in order; overlapping spans merge, out-of-range ones are clipped."""
    ranges: list[tuple[int, int, str, float]] = []
    for span in spans:
        try:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
            weight = float(span.get("weight", 0.0))
        except (KeyError, TypeError, ValueError):
            continue
        if start < end:
            ranges.append((start, end, str(span.get("term", "")), weight))
    ranges.sort()
    merged: list[list[Any]] = []
    for start, end, term, weight in ranges:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if term and term not in last[2]:
                last[2].append(term)
            last[3] = max(last[3], weight)
        else:
            merged.append([start, end, [term] if term else [], weight])
    segments: list[Segment] = []
    position = 0
    for start, end, terms, weight in merged:
        if position < start:
            segments.append(Segment(text[position:start], False, "", 0.0))
        segments.append(Segment(text[start:end], True, ", ".join(terms), weight))
        position = end
    if position < len(text):
        segments.append(Segment(text[position:], False, "", 0.0))
    return segments
