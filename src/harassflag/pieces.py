"""Raw messages -> token ids at one dictionary lookup per space-separated piece (the scoring hot path).

Cleaning (`text.clean_string`) never matches across a space, so a batch's cleaned text is its raw
pieces (split on " ") each cleaned on its own, joined by single spaces. A piece's cleaned text,
chunks and token ids are computed once and cached. The only thing that crosses pieces is a
spaced-letter run with a space separator ("f u c k"); it needs a piece that is a single letter (or
has spaces after cleaning), so only the few stretches around such pieces are joined again and
chunked as text. The ids are exactly those of each message's `token_strings` (a test checks it).
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from .lookup import UnseenTokens, _Ragged, concat_rows
from .text import (RUN_LEFT, RUN_RIGHT, RUN_SINGLE, RUN_SPACES, SEP_CHUNK, chunk_tokens, clean_string,
                   piece_chunks, piece_run_flags)

try:  # the compiled piece index (built by `pip install`; without a C compiler, a dict does its work)
    from ._piece_index import PieceIndex
except ImportError:  # pragma: no cover
    PieceIndex = None

MESSAGE_SEP = "\x01"
"""The piece between two messages of a batch (raw messages holding it have it replaced by \\x02,
which cleaning removes exactly as it removes \\x01)."""


class PieceTable:
    """raw piece (or joined stretch of cleaned pieces) -> entry: its token ids and run flags.

    Entries never change once added (additions take `lock`), so readers are safe while the table
    grows; the owner replaces the whole table when it is full.
    """

    limit = 400_000

    def __init__(self, tokens: UnseenTokens, sep_id: int) -> None:
        self.tokens = tokens
        self.lock = tokens.lock
        tokens.chunks[SEP_CHUNK] = (sep_id,)
        self.index: dict[str, int] = {}
        self.fast = PieceIndex() if PieceIndex is not None else None
        """The same index, answering a whole batch's text in one compiled pass."""
        self.ids = _Ragged()
        self.flags = np.zeros(1024, dtype=np.uint8)
        self.clean: list[str] = []
        self._append([MESSAGE_SEP], [MESSAGE_SEP], [(sep_id,)])
        self.empty = self.entries([""])[0]

    @property
    def full(self) -> bool:
        return len(self.index) >= self.limit or self.tokens.full

    def chunk_ids(self, chunks: list[str]) -> list[tuple[int, ...]]:
        """The token ids of each chunk (`text.batch_chunks`), from the token table's chunk cache."""
        cache = self.tokens.chunks
        missing = list(dict.fromkeys(c for c in chunks if c not in cache))
        if missing:  # tokenised together, then looked up
            tokens = chunk_tokens(missing)
            ids = self.tokens.ids(list(chain.from_iterable(tokens))).tolist()
            ends = np.cumsum([len(t) for t in tokens]).tolist()
            for chunk, start, end in zip(missing, [0, *ends], ends):
                cache[chunk] = tuple(ids[start:end])
        return list(map(cache.__getitem__, chunks))

    def entries(self, pieces: list[str]) -> np.ndarray:
        """The entry of each piece (pieces not seen before are cleaned and chunked together)."""
        index = self.index
        try:
            return np.fromiter(map(index.__getitem__, pieces), dtype=np.int64, count=len(pieces))
        except KeyError:
            missing = [p for p in dict.fromkeys(pieces) if p not in index]
            clean = [clean_string(p) for p in missing]
            self._add(missing, clean)
            return np.fromiter(map(index.__getitem__, pieces), dtype=np.int64, count=len(pieces))

    def _add(self, keys: list[str], clean: list[str]) -> None:
        chunks = [piece_chunks(c) for c in clean]
        flat = self.chunk_ids([c for cs in chunks for c in cs])
        ids: list[tuple[int, ...]] = []
        pos = 0
        for cs in chunks:
            ids.append(tuple(i for t in flat[pos : pos + len(cs)] for i in t))
            pos += len(cs)
        with self.lock:
            fresh = [k for k in range(len(keys)) if keys[k] not in self.index]
            self._append([keys[k] for k in fresh], [clean[k] for k in fresh], [ids[k] for k in fresh])

    def _append(self, keys: list[str], clean: list[str], ids: list[tuple[int, ...]]) -> None:
        n = self.ids.n
        if n + len(keys) > self.flags.size:
            grown = np.zeros(max(2 * self.flags.size, n + len(keys)), dtype=np.uint8)
            grown[:n] = self.flags[:n]
            self.flags = grown
        for k, (key, c, row) in enumerate(zip(keys, clean, ids)):
            self.ids.append(row)
            self.flags[n + k] = piece_run_flags(c)
            self.clean.append(c)
            self.index[key] = n + k
            if self.fast is not None:
                self.fast.add(key, n + k)

    def token_ids(self, texts: list[str]) -> np.ndarray:
        """The token ids of a batch of raw messages, MESSAGE_SEP's ids between two messages."""
        if any(MESSAGE_SEP in t for t in texts):  # (a search per text: no pass over the joined batch)
            texts = [t.replace(MESSAGE_SEP, "\x02") for t in texts]
        joined = f" {MESSAGE_SEP} ".join(texts)
        eids = self._piece_entries(joined)
        flags = self.flags[eids]
        if flags.any():
            eids = self._join_runs(eids, flags)
        ids = self.ids
        return concat_rows(ids.ptr, ids.values, eids)

    def _piece_entries(self, joined: str) -> np.ndarray:
        """`entries(joined.split(" "))`; with the compiled index, pieces already seen are looked up
        without making a str of each."""
        if self.fast is None:
            return self.entries(joined.split(" "))
        n = joined.count(" ") + 1
        eids = np.empty(n, dtype=np.int64)
        starts = np.empty(n + 1, dtype=np.int64)
        if self.fast.lookup_pieces(joined, eids, starts):
            miss = np.flatnonzero(eids < 0)
            eids[miss] = self.entries([joined[a : b - 1] for a, b in
                                       zip(starts[miss].tolist(), starts[miss + 1].tolist())])
        return eids

    def _join_runs(self, eids: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """Entries with each stretch a space-separated run may cross replaced by one entry of the
        stretch's cleaned text (and empty ones)."""
        single = (flags & RUN_SINGLE) != 0
        spaces = (flags & RUN_SPACES) != 0
        trigger = spaces.copy()
        # a run's first inner letter: a single letter between a run start and a run end
        trigger[1:-1] |= single[1:-1] & ((flags[:-2] & RUN_LEFT) != 0) & ((flags[2:] & RUN_RIGHT) != 0)
        if not trigger.any():
            return eids
        runny = np.concatenate([[False], single | spaces, [False]])
        edges = np.flatnonzero(runny[1:] != runny[:-1])
        starts, ends = edges[0::2], edges[1::2]  # blocks of runny pieces [start, end)
        hit = np.cumsum(np.concatenate([[0], trigger]))
        keep = hit[ends] > hit[starts]
        lo = np.maximum(starts[keep] - 1, 0).tolist()
        hi = np.minimum(ends[keep] + 1, eids.size).tolist()
        eids = eids.copy()
        clean = self.clean
        a, b = lo[0], hi[0]
        stretches = []
        for s, e in zip(lo[1:], hi[1:]):
            if s < b:  # overlapping stretches are one
                b = e
            else:
                stretches.append((a, b))
                a, b = s, e
        stretches.append((a, b))
        keys = [" ".join([clean[j] for j in eids[a:b].tolist()]) for a, b in stretches]
        missing = [k for k in dict.fromkeys(keys) if k not in self.index]
        if missing:
            self._add(missing, missing)
        for (a, b), key in zip(stretches, keys):
            eids[a] = self.index[key]
            eids[a + 1 : b] = self.empty
        return eids
