"""Where some of a message's tokens are in its original text, without building every Token.

Explanations report a few tokens per message; `normalize_text` would make a Token (and map its
offsets) for every token of it. `token_spans` reads the same caches `normalize_text` reads — the
cleaned text and offset map of `clean_text`, each whitespace chunk's token spans — and maps only
the tokens asked for. A message with spaced-letter runs ("f u c k") goes through `normalize_text`
itself. Equal to `normalize_text(text)`'s `original_span`s (tests compare on real messages).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from .text import _SPANS, _WS_CHUNK_RE, SPACED_RE, clean_text, normalize_text

_PLUS_ONE = (1).__add__


def token_spans(text: str, positions: Sequence[int]) -> list[tuple[int, int]]:
    """Original (start, end) of the tokens at `positions` of `normalize_text(text).tokens`."""
    clean, offsets = clean_text(text)
    if SPACED_RE.search(clean) is not None:  # spaced letters may be joined: the full path
        tt = normalize_text(text)
        return [tt.original_span(tt.tokens[k]) for k in positions]
    chunks = clean.split()  # the chunks `\S+` finds (both split on str.isspace characters)
    rel = list(map(_SPANS.__getitem__, chunks))  # each chunk's (token, start, end), chunk-relative
    ends = list(accumulate(map(len, rel)))  # tokens up to and including each chunk
    if " ".join(chunks) == clean:  # single spaces: each chunk starts one after the previous ends
        starts = list(accumulate(map(_PLUS_ONE, map(len, chunks)), initial=0))
    else:
        starts = [m.start() for m in _WS_CHUNK_RE.finditer(clean)]
    out: list[tuple[int, int]] = []
    for k in positions:
        c = bisect_right(ends, k)
        _, a, b = rel[c][k - (ends[c - 1] if c else 0)]
        start, end = starts[c] + a, starts[c] + b
        out.append((start, end) if offsets is None else offsets.span(start, end))
    return out
