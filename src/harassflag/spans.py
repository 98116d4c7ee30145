"""Where some of a message's tokens are in its original text, without building every Token.

Explanations report a few tokens per message; `normalize_text` would make a Token (and map its
offsets) for every token of it. `token_spans` reads the same caches `normalize_text` reads — the
cleaned text and offset map of `clean_text`, each whitespace chunk's token spans — and maps only
the tokens asked for. A message with spaced-letter runs ("f u c k") goes through `normalize_text`
itself. Equal to `normalize_text(text)`'s `original_span`s (tests compare on real messages).
`token_spans_many` does the same for a batch's flagged messages, most of them together.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter

import numpy as np

from .text import _NEEDS_CLEANING_RE, _SPANS, _WS_CHUNK_RE, SPACED_RE, clean_text, normalize_text

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


_ASCII_SPACE = np.zeros(128, bool)
_ASCII_SPACE[[c for c in range(128) if chr(c).isspace()]] = True
_ASCII_LETTER = np.zeros(128, bool)
_ASCII_LETTER[[c for c in range(128) if chr(c).isascii() and chr(c).isalpha()]] = True
_ASCII_WORD = _ASCII_LETTER.copy()
_ASCII_WORD[[c for c in range(128) if chr(c).isdigit() or chr(c) == "_"]] = True
_ASCII_CLEANED = np.array([_NEEDS_CLEANING_RE.match(chr(c)) is not None for c in range(128)])
_RUN_SEP = np.zeros(128, bool)
_RUN_SEP[[ord(c) for c in " .-_*"]] = True
"""Per ASCII code: what `str.split` splits on, a letter, `\\w`, what `clean_text` changes, what
separates the letters of a spaced-letter run (`SPACED_RE`)."""
_SECOND = itemgetter(1)
_THIRD = itemgetter(2)


def _ascii_suspects(b: np.ndarray) -> np.ndarray:
    """Positions in ASCII text `b` (its bytes) of a character `clean_text` changes or of a letter
    that may start a spaced-letter run: a letter after no word character, then a separator, a
    letter, the same separator, a letter (what every `SPACED_RE` match starts with)."""
    n = b.size
    pad = np.concatenate([[10], b, [10, 10, 10, 10]])  # newlines: neither letters nor separators
    letter, word, sep = _ASCII_LETTER[pad], _ASCII_WORD[pad], _RUN_SEP[pad]
    run = (~word[:n] & letter[1:n + 1] & sep[2:n + 2] & letter[3:n + 3]
           & (pad[2:n + 2] == pad[4:n + 4]) & letter[5:n + 5])
    return np.flatnonzero(_ASCII_CLEANED[b] | run)


def token_spans_many(texts: Sequence[str], positions: Sequence[int], sizes: Sequence[int]) -> tuple[list[int], list[int]]:
    """`token_spans` of many messages at once: the first `sizes[0]` of `positions` are tokens of
    `texts[0]`, the next `sizes[1]` of `texts[1]`, and so on; returns their starts and their ends.

    ASCII messages that need no cleaning and have no spaced-letter run are mapped all together
    (their text joined, the chunks' places found with numpy); the others one by one."""
    texts = list(texts)
    positions = np.asarray(positions, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    if len(texts) != sizes.size or int(sizes.sum()) != positions.size:
        raise ValueError(f"{len(texts)} texts, {sizes.size} sizes adding up to {int(sizes.sum())}, "
                         f"{positions.size} positions")
    starts = np.zeros(positions.size, np.int64)
    ends = np.zeros(positions.size, np.int64)
    first_pos = np.cumsum(sizes) - sizes
    asked = sizes > 0
    is_ascii = np.fromiter(map(str.isascii, texts), bool, len(texts))
    which = np.flatnonzero(is_ascii & asked)
    group = [texts[i] for i in which.tolist()]
    alone = np.flatnonzero(~is_ascii & asked).tolist()
    if group:
        joined = "\n".join(group)  # a newline: splits chunks, is no letter, word or separator
        b = np.frombuffer(joined.encode("ascii"), np.uint8)
        lens = np.fromiter(map(len, group), np.int64, len(group))
        begin = np.cumsum(lens + 1) - (lens + 1)  # each message's first character in `joined`
        suspect = np.zeros(len(group), bool)
        suspect[np.searchsorted(begin, _ascii_suspects(b), side="right") - 1] = True
        alone += which[suspect].tolist()
        space = _ASCII_SPACE[b]
        chunk_begin = np.flatnonzero(~space & np.concatenate([[True], space[:-1]]))
        chunks = joined.split()  # the same chunks, in order (`str.split` splits on `space`)
        rel = list(map(_SPANS.__getitem__, chunks))
        tok_end = np.cumsum(np.fromiter(map(len, rel), np.int64, len(rel)))
        tok_before = np.concatenate([[0], tok_end])
        take = np.flatnonzero(~suspect)
        m_first = tok_before[np.searchsorted(chunk_begin, begin[take])]  # the messages' first tokens
        size = sizes[which[take]]
        at = np.repeat(first_pos[which[take]] - (np.cumsum(size) - size), size) + np.arange(int(size.sum()))
        g = np.repeat(m_first, size) + positions[at]  # the asked tokens among all the chunks' ones
        c = np.searchsorted(tok_end, g, side="right")
        found = list(map(tuple.__getitem__, map(rel.__getitem__, c.tolist()), (g - tok_before[c]).tolist()))
        base = chunk_begin[c] - np.repeat(begin[take], size)
        starts[at] = base + np.fromiter(map(_SECOND, found), np.int64, len(found))
        ends[at] = base + np.fromiter(map(_THIRD, found), np.int64, len(found))
    for i in alone:
        a, z = int(first_pos[i]), int(first_pos[i] + sizes[i])
        starts[a:z], ends[a:z] = zip(*token_spans(texts[i], positions[a:z].tolist()))
    return starts.tolist(), ends.tolist()
