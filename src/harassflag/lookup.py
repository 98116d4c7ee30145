"""Lookup tables for the scoring hot path: an integer hash for word pairs, and the table of tokens
outside the vocabulary (with the chunk -> token id cache that goes with it).

Both answer a whole batch with a few numpy operations instead of a Python call per token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat

import numpy as np
import scipy.sparse as sp

try:  # the C routine behind scipy's sparse product (its private module; plain `@` if it moves)
    from scipy.sparse._sparsetools import csr_matmat as _csr_matmat
except ImportError:  # pragma: no cover
    _csr_matmat = None

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
"""Fibonacci hashing multiplier: spreads consecutive integer keys over the table."""


class IntHash:
    """A read-only open-addressing hash table int64 key -> int32 value, queried a batch at a time."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        values = np.asarray(values, dtype=np.int32)
        if keys.size and keys.min() < 0:
            raise ValueError("IntHash keys must be non-negative")
        self._bits = max(4, int(np.ceil(np.log2(max(keys.size, 1) * 3))))  # load factor <= 1/3
        size = 1 << self._bits
        self._mask = size - 1
        self._keys = np.full(size, -1, dtype=np.int64)
        self._values = np.zeros(size, dtype=np.int32)
        # linear probing, inserted a round at a time: each round, every slot still free takes the
        # first pending key that hashes (or has probed) to it; the others move one slot on.
        # A key only passes a slot that is already taken, so lookups can stop at the first empty one.
        slot = self._slot(keys)
        pending = np.arange(keys.size)
        while pending.size:
            s = slot[pending]
            free = self._keys[s] == -1
            won_slot, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self._keys[won_slot] = keys[winners]
            self._values[won_slot] = values[winners]
            placed = np.zeros(keys.size, dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self._mask
        # keys below 2**31 and non-negative values: key and value packed in one int64 per slot, so a
        # lookup reads one place in memory (empty slots stay -1)
        self._packed = None
        if (not keys.size or keys.max() < 2**31) and (not values.size or values.min() >= 0):
            self._packed = np.where(self._keys == -1, -1, (self._keys << 32) | self._values.astype(np.int64))

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * _GOLDEN) >> np.uint64(64 - self._bits)).astype(np.int64)

    def get(self, keys: np.ndarray, default: int = -1) -> np.ndarray:
        """The value of each key, `default` for keys not in the table."""
        keys = np.asarray(keys, dtype=np.int64)
        slot = self._slot(keys)
        if self._packed is not None:  # first probe of every key at once; the rest (few) below
            e = self._packed[slot]
            k = e >> 32
            out = np.where(k == keys, (e & 0xFFFFFFFF).astype(np.int32), np.int32(default))
            idx = np.flatnonzero((k != keys) & (e != -1))
            keys, slot = keys[idx], (slot[idx] + 1) & self._mask
        else:
            out = np.full(keys.size, default, dtype=np.int32)
            idx = np.arange(keys.size)
        while idx.size:
            k = self._keys[slot]
            found = k == keys
            out[idx[found]] = self._values[slot[found]]
            go_on = ~found & (k != -1)
            idx, keys, slot = idx[go_on], keys[go_on], (slot[go_on] + 1) & self._mask
        return out


class _Ragged:
    """An append-only ragged int array (one row of ints per entry), grown by doubling."""

    def __init__(self) -> None:
        self.ptr = np.zeros(1025, dtype=np.int64)
        self.values = np.zeros(4096, dtype=np.int64)
        self.n = 0

    def append(self, row: Iterable[int]) -> None:
        row = np.fromiter(row, dtype=np.int64)
        end = int(self.ptr[self.n])
        if self.n + 2 > self.ptr.size:
            self.ptr = np.concatenate([self.ptr, np.zeros(self.ptr.size, np.int64)])
        if end + row.size > self.values.size:
            grown = np.zeros(max(2 * self.values.size, end + row.size), np.int64)
            grown[:end] = self.values[:end]
            self.values = grown
        self.values[end : end + row.size] = row
        self.ptr[self.n + 1] = end + row.size
        self.n += 1


def expand(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (index into `rows`, value) of the given rows of a ragged array (ptr, values)."""
    lo = ptr[rows]
    n = ptr[rows + 1] - lo
    total = int(n.sum())
    owner = np.repeat(np.arange(rows.size), n)
    within = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
    return owner, values[np.repeat(lo, n) + within]


def concat_rows(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The values of the given rows of a ragged array (ptr, values), one row after another."""
    lo = ptr[rows]
    n = ptr[rows + 1] - lo
    starts = np.cumsum(n) - n
    return values[np.repeat(lo - starts, n) + np.arange(int(starts[-1] + n[-1]) if n.size else 0)]


class UnseenTokens:
    """Tokens outside the vocabulary met while transforming: each gets id `base + j`, with its
    static feature ids (the character n-grams the vocabulary has) and lexicon classes.

    Entries never change once added, so a batch that holds ids from this table reads them safely
    while another thread adds more (additions take a lock). When it is full the owner replaces the
    whole table rather than clearing it, for the same reason. It also holds the chunk -> token ids
    cache, whose ids point into it.
    """

    limit = 200_000

    def __init__(self, base: int, vocabulary: dict[str, int],
                 describe: Callable[[str], tuple[list[int], tuple[int, ...]]]) -> None:
        self.base = base
        self._vocabulary = vocabulary
        self._describe = describe
        self.index: dict[str, int] = {}
        self.static = _Ragged()
        self.lexicon = _Ragged()
        self.chunks: dict[str, tuple[int, ...]] = {}
        self.lock = threading.Lock()

    @property
    def full(self) -> bool:
        return len(self.index) >= self.limit or len(self.chunks) >= 2 * self.limit

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Token ids: vocabulary ids, or ids in this table (added if new)."""
        out = np.fromiter(map(self._vocabulary.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        missing = np.flatnonzero(out < 0)
        if missing.size:
            with self.lock:
                for k in missing.tolist():
                    out[k] = self.base + self._add(tokens[k])
        return out

    def _add(self, token: str) -> int:
        j = self.index.get(token)
        if j is None:
            static, lexicon = self._describe(token)
            self.static.append(static)
            self.lexicon.append(lexicon)
            j = self.index[token] = self.static.n - 1
        return j


def sparse_product(a: sp.csr_matrix, b: sp.csr_matrix, b_row_nnz: np.ndarray | None = None) -> sp.csr_matrix:
    """`a @ b` of CSR matrices in one pass: the output is allocated for the most entries it can have
    (each entry of `a` times its row of `b`; `b_row_nnz` is np.diff(b.indptr), if the caller keeps
    it) instead of being counted first in a pass of its own."""
    bound = int(np.take(np.diff(b.indptr) if b_row_nnz is None else b_row_nnz, a.indices).sum())
    if _csr_matmat is None or bound >= 2**31 or b.nnz >= 2**31:
        return a @ b
    indptr = np.empty(a.shape[0] + 1, dtype=np.int32)
    indices = np.empty(bound, dtype=np.int32)
    data = np.empty(bound, dtype=np.result_type(a.dtype, b.dtype))
    _csr_matmat(a.shape[0], b.shape[1], a.indptr.astype(np.int32, copy=False),
                a.indices.astype(np.int32, copy=False), a.data, b.indptr.astype(np.int32, copy=False),
                b.indices.astype(np.int32, copy=False), b.data.astype(data.dtype, copy=False),
                indptr, indices, data)
    nnz = int(indptr[-1])
    return sp.csr_matrix((data[:nnz], indices[:nnz], indptr), shape=(a.shape[0], b.shape[1]))
