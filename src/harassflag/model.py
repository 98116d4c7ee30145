"""The model: text -> normalise -> features -> heads -> calibrated scores (the one scoring path).

Every part of harassflag (Python API, HTTP service, batch, evaluation) scores through `Model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, repeat
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from .features import TokenFeaturizer
from .heads import DEFAULT_FLAG_HEADS, HEADS
from .lookup import UnseenTokens
from .spans import token_spans_many
from .text import TextNormalizer, normalize_text

try:  # the compiled explanation routine (built by `pip install`; without a C compiler, numpy does it)
    from . import _explain
except ImportError:  # pragma: no cover
    _explain = None

WINDOW_TOKENS = 64
"""Messages longer than this are scored in segments (sentences, or windows of long sentences); each
head takes the maximum, so one insult is not outvoted by a long harmless text."""
SEGMENT_TOKENS = 24
SEGMENT_STRIDE = 12
SENTENCE_ENDS = frozenset({".", "!", "?", "…", "..."})
DEDUPE_SEGMENTS = 512
"""From this many segments in a batch on, identical ones are found and scored once (below it,
finding them costs about what it saves)."""
MAX_SCORED_CHARS = 1_000_000
"""Characters of one message that are read at most (bounded work for pathological input)."""


class Score(NamedTuple):
    """One message's result: probability per head, per-head decisions, and the overall flag."""

    scores: dict[str, float]
    categories: dict[str, bool]
    flagged: bool


_make_score = partial(tuple.__new__, Score)
"""Score from a (scores, categories, flagged) tuple, without NamedTuple's Python-level __new__."""


class Span(NamedTuple):
    """A part of the original text and how much it pushed a head's score (log-odds)."""

    term: str
    start: int
    end: int
    weight: float


_make_span = partial(tuple.__new__, Span)
"""Span from a (term, start, end, weight) tuple, without NamedTuple's Python-level __new__."""


@dataclass(slots=True)
class TokenIds:
    """A batch's token ids (`TokenFeaturizer.ids_of_texts`): every token in order, tokens per message,
    and the unseen-token table the ids refer to."""

    ids: np.ndarray
    lengths: np.ndarray
    table: UnseenTokens
    hits: sp.csr_matrix | None = None
    """The hits matrix (`TokenFeaturizer._hits_ids`) of the messages scored whole (long ones: empty
    rows), which `score_ids(..., keep_rows=True)` keeps so that `explain_ids` does not find them again."""


@dataclass
class HeadWeights:
    """Learned parameters of every head over the shared feature space."""

    coef: np.ndarray  # (n_features, n_heads) float32
    intercept: np.ndarray  # (n_heads,)
    calib_a: np.ndarray  # Platt scaling slope per head
    calib_b: np.ndarray  # Platt scaling offset per head
    heads: tuple[str, ...] = HEADS
    extra: dict = field(default_factory=dict)


def build_pipeline(featurizer_params: dict | None = None) -> Pipeline:
    """The preprocessing pipeline saved with every model: normaliser then featurizer."""
    return Pipeline(
        [("normalise", TextNormalizer()), ("features", TokenFeaturizer(**(featurizer_params or {})))]
    )


def _check_texts(texts: str | Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if not isinstance(texts, Sequence) and not hasattr(texts, "__iter__"):
        raise TypeError(f"expected a str or a sequence of str, got {type(texts).__name__}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"item {i} is {type(t).__name__}, not str")
    return out


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The positions start, start + 1, ... of every (start, size) range, one range after the other."""
    return np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))


def segments(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) token ranges a message is scored in: itself, or its sentences when it is long."""
    return segments_at([tok in SENTENCE_ENDS for tok in tokens])


def segments_at(ends: Sequence[bool]) -> list[tuple[int, int]]:
    """`segments` of a message given which of its tokens end a sentence."""
    if not len(ends):
        return [(0, 0)]
    starts, stops, _ = segment_bounds(np.asarray(ends, dtype=bool), np.array([len(ends)]))
    return list(zip(starts.tolist(), stops.tolist()))


def segment_bounds(ends: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segments of many non-empty messages at once, from which of their tokens (all in one flat
    array) end a sentence: each segment's start and end in the flat array, and its message.

    A message of at most WINDOW_TOKENS tokens is one segment; a longer one is cut after every
    sentence end, and a sentence of more than SEGMENT_TOKENS tokens into windows of that many,
    SEGMENT_STRIDE apart (the last one ends with the sentence)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    msg_last = np.cumsum(lengths) - 1
    long = lengths > WINDOW_TOKENS
    cut = ends & np.repeat(long, lengths)
    cut[msg_last] = True
    sent_end = np.flatnonzero(cut) + 1
    sent_start = np.concatenate([[0], sent_end[:-1]])
    sent_msg = np.searchsorted(msg_last, sent_end - 1)
    size = sent_end - sent_start
    windowed = (size > SEGMENT_TOKENS) & long[sent_msg]
    n_win = np.where(windowed, (size - 1) // SEGMENT_STRIDE, 1)
    sent = np.repeat(np.arange(sent_end.size), n_win)
    k = np.arange(sent.size) - np.repeat(np.cumsum(n_win) - n_win, n_win)
    starts = sent_start[sent] + SEGMENT_STRIDE * k
    stops = np.where(windowed[sent], np.minimum(starts + SEGMENT_TOKENS, sent_end[sent]), sent_end[sent])
    return starts, stops, sent_msg[sent]


SEGMENT_HASH_BASE = 0x9E3779B97F4A7C15
"""Odd, so it has an inverse modulo 2**64 (`distinct_segments` hashes with its powers)."""


def distinct_segments(tids: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                      base: int = SEGMENT_HASH_BASE) -> tuple[np.ndarray, np.ndarray]:
    """Segments with the same token ids score the same: the segments to score (the first of each
    kind) and, for every segment, the index among those of the one it equals. Found by a polynomial
    hash of each segment (from prefix sums, modulo 2**64), then checked token by token (segments
    whose hashes collide are scored each on their own)."""
    if not sizes.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    stops = starts + sizes
    b, b_inv = np.uint64(base), np.uint64(pow(base, -1, 2**64))
    powers = np.ones(tids.size + 1, np.uint64)
    inverse = np.ones(tids.size + 1, np.uint64)
    np.cumprod(np.full(tids.size, b), out=powers[1:])
    np.cumprod(np.full(tids.size, b_inv), out=inverse[1:])
    # prefix[k] = sum over j < k of (t_j + 1) * base^-j; a segment [a, c) hashes to
    # base^(c-1) * (prefix[c] - prefix[a]) = sum of (t_j + 1) * base^(c-1-j)
    prefix = np.zeros(tids.size + 1, np.uint64)
    np.cumsum((tids + 1).astype(np.uint64) * inverse[:-1], out=prefix[1:])
    h = powers[stops - 1] * (prefix[stops] - prefix[starts])
    _, first, kind = np.unique(h, return_index=True, return_inverse=True)
    rep = first[kind.ravel()]
    dup = np.flatnonzero(rep != np.arange(rep.size))
    if dup.size:  # check them token by token
        width = int(sizes[dup].max())
        offset = np.arange(width)
        inside = offset < sizes[dup, None]
        mine = tids[np.minimum(starts[dup, None] + offset, tids.size - 1)]
        theirs = tids[np.minimum(starts[rep[dup], None] + offset, tids.size - 1)]
        differs = dup[((mine != theirs) & inside).any(axis=1) | (sizes[dup] != sizes[rep[dup]])]
        rep[differs] = differs
    scored = rep == np.arange(rep.size)  # each kind's first segment (or one whose hash collided)
    return np.flatnonzero(scored), (np.cumsum(scored) - 1)[rep]


def windows(tokens: list[str]) -> list[list[str]]:
    """The token lists of a message's segments."""
    return [tokens[a:b] for a, b in segments(tokens)]


def rounded(values: np.ndarray, places: int) -> list[float]:
    """`[round(float(v), places) for v in values]`, exactly, with the rounding done by numpy."""
    scale = 10.0**places
    y = values * scale
    k = np.rint(y)
    out = (k / scale).tolist()  # k, scale exact: k / scale is the double nearest k·10^-places
    # where y may be on the other side of a half than the exact product (or huge, nan): Python
    with np.errstate(invalid="ignore"):  # inf - inf: those are unsure anyway
        unsure = (np.abs(np.abs(y - k) - 0.5) <= 8 * np.spacing(np.abs(y))) | ~(np.abs(y) < 2.0**52)
    for j in np.flatnonzero(unsure).tolist():
        out[j] = round(float(values[j]), places)
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


class Model:
    """A trained, verified harassflag model."""

    def __init__(
        self,
        pipeline: Pipeline,
        weights: HeadWeights,
        manifest: dict | None = None,
        sha256: str = "",
        path: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.weights = weights
        self.manifest = manifest or {}
        self.sha256 = sha256
        self.path = path
        self._coef = np.ascontiguousarray(weights.coef, dtype=np.float32)
        self._table = self.featurizer.kernel_table(self._coef)
        self._head_pos = {h: i for i, h in enumerate(weights.heads)}

    # -- identity -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The model's name (its folder name unless the manifest says otherwise)."""
        return str(self.manifest.get("name", "unsaved"))

    @property
    def version(self) -> str:
        """A version string unique to this artifact."""
        return str(self.manifest.get("model_version", "0"))

    @property
    def heads(self) -> tuple[str, ...]:
        """Head names in score-matrix column order."""
        return self.weights.heads

    @property
    def thresholds(self) -> dict[str, float]:
        """Per-head decision thresholds chosen on validation data."""
        th = self.manifest.get("thresholds") or self.weights.extra.get("thresholds") or {}
        return {h: float(th.get(h, 0.5)) for h in self.heads}

    @property
    def flag_heads(self) -> tuple[str, ...]:
        """Heads whose positive decision flags a message (policy)."""
        return tuple(self.manifest.get("flag_heads") or self.weights.extra.get("flag_heads") or DEFAULT_FLAG_HEADS)

    @property
    def normalizer(self) -> TextNormalizer:
        return self.pipeline.named_steps["normalise"]

    @property
    def featurizer(self) -> TokenFeaturizer:
        return self.pipeline.named_steps["features"]

    # -- scoring --------------------------------------------------------------------------------
    def decision_rows(self, token_rows: list[list[str]]) -> np.ndarray:
        """Raw log-odds per row (token lists) and head, before calibration."""
        fz = self.featurizer
        return self._decision_ids(*fz.ids_of_flat(*fz._flatten(token_rows)))

    def _decision_ids(self, tids: np.ndarray, lengths: np.ndarray, table: UnseenTokens) -> np.ndarray:
        """Raw log-odds per head of rows given as token ids (`token_ids`) and tokens per row."""
        fz = self.featurizer
        return fz.decision_of_hits(fz._hits_ids(tids, lengths, table), self._table) + self.weights.intercept

    def calibrate(self, z: np.ndarray) -> np.ndarray:
        """Log-odds -> calibrated probabilities (Platt scaling fitted on validation data)."""
        return _sigmoid(z * self.weights.calib_a + self.weights.calib_b)

    def token_ids(self, texts: Sequence[str]) -> TokenIds:
        """The token ids messages are scored from (each read up to MAX_SCORED_CHARS characters)."""
        texts = _check_texts(texts)
        return TokenIds(*self.featurizer.ids_of_texts(
            [t if len(t) <= MAX_SCORED_CHARS else t[:MAX_SCORED_CHARS] for t in texts]))

    def score_matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, shape (n, n_heads) in `heads` order."""
        return self.score_ids(self.token_ids(texts))

    def score_ids(self, tok: TokenIds, keep_rows: bool = False) -> np.ndarray:
        """`score_matrix` of the messages `tok` holds the token ids of (`token_ids`); with
        `keep_rows`, their hits stay in `tok.hits` for `explain_ids`."""
        tids, lengths, table = tok.ids, tok.lengths, tok.table
        if not lengths.size:
            return np.zeros((0, len(self.heads)))
        n = lengths.size
        long = lengths > WINDOW_TOKENS
        if not long.any():
            return self._probs_ids(tok, tids, lengths, keep_rows)
        # long messages: each head's maximum over their segments, scored in one pass with the rest
        # (rows: the short messages, then every segment of the long ones)
        in_long = np.repeat(long, lengths)
        long_tids = tids[in_long]
        starts, stops, owner = segment_bounds(np.isin(long_tids, table.ids(sorted(SENTENCE_ENDS))), lengths[long])
        if starts.size >= DEDUPE_SEGMENTS:  # repeated text: each kind of segment scored once
            keep, kind = distinct_segments(long_tids, starts, stops - starts)
        else:
            keep = kind = np.arange(starts.size)
        size = (stops - starts)[keep]
        pos = _ranges(starts[keep], size)
        # (kept rows: the messages' own; a long message's is empty: it is explained by segment)
        probs = self._probs_ids(tok, np.concatenate([tids[~in_long], long_tids[pos]]),
                                np.concatenate([np.where(long, 0, lengths), size]), keep_rows, n)
        out = probs[:n]
        seg_probs = probs[n:][kind]
        out[long] = np.maximum.reduceat(seg_probs, np.searchsorted(owner, np.arange(int(long.sum()))), axis=0)
        return out

    def _probs_ids(self, tok: TokenIds, tids: np.ndarray, lengths: np.ndarray, keep_rows: bool,
                   n_kept: int | None = None) -> np.ndarray:
        """Calibrated probabilities of rows given as token ids (and tokens per row); with
        `keep_rows`, the first `n_kept` rows' hits go to `tok.hits`."""
        fz = self.featurizer
        hits = fz._hits_ids(tids, lengths, tok.table)
        if keep_rows:
            tok.hits = hits if n_kept is None else hits[:n_kept]
        return self.calibrate(fz.decision_of_hits(hits, self._table) + self.weights.intercept)

    @staticmethod
    def _segments_of(tok: TokenIds, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every segment of messages `rows` of `tok` (`segment_bounds`): their token ids one after
        the other, their sizes, the index in `rows` of their message and their first position in it."""
        tids, lengths, table = tok.ids, tok.lengths, tok.table
        n = lengths[rows]
        sub = tids[_ranges((np.cumsum(lengths) - lengths)[rows], n)]
        starts, stops, owner = segment_bounds(np.isin(sub, table.ids(sorted(SENTENCE_ENDS))), n)
        size = stops - starts
        return sub[_ranges(starts, size)], size, owner, starts - (np.cumsum(n) - n)[owner]

    def decide(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-head decisions and the flag, from a probability matrix."""
        th = np.array([self.thresholds[h] for h in self.heads])
        cats = probs >= th
        flag_cols = [self._head_pos[h] for h in self.flag_heads if h in self._head_pos]
        flagged = cats[:, flag_cols].any(axis=1) if flag_cols else np.zeros(len(probs), bool)
        return cats, flagged

    def score(self, texts: str | Sequence[str]) -> list[Score]:
        """Score one message or many: every head's probability, decisions and the flag."""
        probs = self.score_matrix(texts)
        cats, flagged = self.decide(probs)
        heads = self.heads
        return list(map(_make_score, zip([dict(zip(heads, p)) for p in probs.tolist()],
                                         [dict(zip(heads, c)) for c in cats.tolist()],
                                         flagged.tolist())))

    # -- explanations ---------------------------------------------------------------------------
    def explain(self, text: str, head: str = "harassment", top: int = 8) -> list[Span]:
        """The spans of the original text that pushed `head` up most, strongest first."""
        if not isinstance(text, str):
            raise TypeError(f"expected str, got {type(text).__name__}")
        return self.explain_batch([text], head=head, top=top)[0]

    def explain_batch(self, texts: Sequence[str], head: str = "harassment", top: int = 5) -> list[list[Span]]:
        """Explanations of many messages: each token's contribution to `head`'s log-odds.

        A token's contribution is the sum, over the features it produces (its word, its character
        n-grams, its word pair, its target contexts, its lexicon classes), of the feature's TF-IDF
        value times the head's weight, shared between the feature's occurrences. Long messages are
        explained on their highest-scoring segment.
        """
        texts = _check_texts(texts)
        if head not in self._head_pos:
            raise ValueError(f"unknown head {head!r}; heads: {', '.join(self.heads)}")
        h = self._head_pos[head]
        tokenized = [normalize_text(t[:MAX_SCORED_CHARS]) for t in texts]
        token_lists = [[t.text for t in tt.tokens] for tt in tokenized]
        # the segment each message is explained on (its best one when it has several)
        chosen: list[tuple[int, list[str]]] = []
        multi_rows: list[list[str]] = []
        multi_owner: list[tuple[int, int]] = []
        for i, toks in enumerate(token_lists):
            segs = segments(toks)
            chosen.append((0, toks))
            if len(segs) > 1:
                for a, b in segs:
                    multi_rows.append(toks[a:b])
                    multi_owner.append((i, a))
        if multi_rows:
            z = self.decision_rows(multi_rows)[:, h]
            best: dict[int, tuple[float, int, list[str]]] = {}
            for (i, a), zi, row in zip(multi_owner, z, multi_rows):
                if i not in best or zi > best[i][0]:
                    best[i] = (float(zi), a, row)
            for i, (_, a, row) in best.items():
                chosen[i] = (a, row)
        fz = self.featurizer
        rows = [row for _, row in chosen]
        counts = fz._counts(rows)
        pos, fid, row_of = fz.token_feature_pairs(rows)
        out: list[list[Span]] = [[] for _ in texts]
        lens = np.array([len(r) for r in rows])
        for i, k, w in zip(*self._top_tokens(counts, fz.weight(counts), pos, fid, row_of, lens, h, top)):
            tt = tokenized[i]
            start, end = tt.original_span(tt.tokens[chosen[i][0] + k])
            out[i].append(Span(texts[i][start:end], start, end, w))
        return out

    def explain_ids(
        self, texts: Sequence[str], tok: TokenIds, rows: Sequence[int], heads: Sequence[str],
        top: int = 5,
    ) -> list[list[Span]]:
        """`explain_batch` of `texts[i]` by `heads[k]` for each `i = rows[k]`, from the batch's token
        ids (`tok = token_ids(texts)`, and the hits `score_ids(tok, keep_rows=True)` kept, if any)
        rather than tokenising those messages again.

        Same spans, terms and weights as `explain_batch` (a test compares them on real messages).
        """
        rows = list(rows)
        if len(heads) != len(rows):
            raise ValueError(f"{len(rows)} rows but {len(heads)} heads")
        unknown = set(heads) - set(self._head_pos)
        if unknown:
            raise ValueError(f"unknown head {min(unknown)!r}; heads: {', '.join(self.heads)}")
        if not rows:
            return []
        h = np.array([self._head_pos[x] for x in heads], dtype=np.int64)
        fz = self.featurizer
        tids, lengths, table = tok.ids, tok.lengths, tok.table
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rows_arr = np.asarray(rows, dtype=np.int64)
        seg_first = np.zeros(len(rows), dtype=np.int64)  # explained segment: first token, length
        seg_len = lengths[rows_arr].copy()
        long = np.flatnonzero(seg_len > WINDOW_TOKENS).tolist()
        if long:  # explained on their highest-scoring segment for their head (the first of equals)
            seg_ids, size, owner, first = self._segments_of(tok, rows_arr[long])
            z = self._decision_ids(seg_ids, size, table)[np.arange(size.size), h[np.array(long)[owner]]]
            best: dict[int, tuple[float, int, int]] = {}
            for k, zi, a, n in zip(owner.tolist(), z.tolist(), first.tolist(), size.tolist()):
                if k not in best or zi > best[k][0]:
                    best[k] = (zi, a, n)
            for k, (_, a, n) in best.items():
                seg_first[long[k]], seg_len[long[k]] = a, n
        at = _ranges(starts[rows_arr] + seg_first, seg_len)
        chosen = tids[at]
        if tok.hits is not None and not long:  # the hits scoring found (each row stands alone)
            counts = fz.counts_of_hits(tok.hits[rows_arr])
        else:
            counts = fz._counts_ids(chosen, seg_len, table)
        x = fz.weight(counts)
        pos, fid, row_of = fz.token_feature_pairs_ids(chosen, seg_len, table)
        at_row, k, weights = self._top_token_arrays(counts, x, pos, fid, row_of, seg_len, h, top)
        # by row (picked rows come sorted): the token positions in the message, the weights
        positions = seg_first[at_row] + k
        bounds = np.flatnonzero(np.diff(at_row, prepend=-1, append=len(rows)))
        out: list[list[Span]] = [[] for _ in rows]
        if not at_row.size:
            return out
        explained = at_row[bounds[:-1]].tolist()
        sizes = np.diff(bounds)
        row_texts = [texts[rows[r]] for r in explained]
        scored = row_texts
        if max(map(len, row_texts)) > MAX_SCORED_CHARS:
            scored = [t[:MAX_SCORED_CHARS] if len(t) > MAX_SCORED_CHARS else t for t in row_texts]
        starts, ends = token_spans_many(scored, positions, sizes)
        of_span = list(chain.from_iterable(map(repeat, row_texts, sizes.tolist())))
        terms = list(map(str.__getitem__, of_span, map(slice, starts, ends)))
        spans = list(map(_make_span, zip(terms, starts, ends, weights)))
        for r, a, b in zip(explained, bounds[:-1].tolist(), bounds[1:].tolist()):
            out[r] = spans[a:b]
        return out

    def _top_tokens(
        self, counts: sp.csr_matrix, x: sp.csr_matrix, pos: np.ndarray, fid: np.ndarray,
        row_of: np.ndarray, row_len: np.ndarray, h: int | np.ndarray, top: int,
    ) -> tuple[list[int], list[int], list[float]]:
        """The `top` tokens of each row that pushed head `h` (one per row, or one for all) up most:
        (row, token index in the row, weight) as Python ints and floats, by row, weight down, position.

        A token's weight is the sum, over the features it produces (`pos`, `fid`: from
        `token_feature_pairs`), of the feature's TF-IDF value times the head's weight, shared
        between the feature's occurrences in the row.
        """
        picked_row, k, weights = self._top_token_arrays(counts, x, pos, fid, row_of, row_len, h, top)
        return picked_row.tolist(), k.tolist(), weights

    def _top_token_arrays(
        self, counts: sp.csr_matrix, x: sp.csr_matrix, pos: np.ndarray, fid: np.ndarray,
        row_of: np.ndarray, row_len: np.ndarray, h: int | np.ndarray, top: int,
    ) -> tuple[np.ndarray, np.ndarray, list[float]]:
        """`_top_tokens` with the rows and token indices as int64 arrays."""
        contrib = self._token_contributions(counts, x, pos, fid, row_of, h)
        first = np.concatenate([[0], np.cumsum(row_len)])
        picked = self._top_positions(contrib, first, row_of, top)
        picked_row = row_of[picked]
        return picked_row, picked - first[picked_row], rounded(contrib[picked], 4)

    @staticmethod
    def _top_positions(contrib: np.ndarray, first: np.ndarray, row_of: np.ndarray, top: int,
                       compiled: bool = True) -> np.ndarray:
        """The positions of the `top` strongest positive tokens of each row (row r: positions
        first[r] to first[r + 1]), by row, weight (as reported: rounded to 4 places) down, position:
        compiled (`_explain`) when built and `compiled`, else numpy (a test compares them)."""
        if compiled and _explain is not None:
            first = np.asarray(first, dtype=np.int64)
            top = max(0, min(top, int(np.diff(first).max(initial=0))))  # (its buffer: `top` places)
            out = np.empty(min(contrib.size, top * (first.size - 1)), dtype=np.int64)
            n = _explain.top_positions(np.ascontiguousarray(contrib, dtype=np.float64), first, top, out)
            return out[:n]
        cand = np.flatnonzero(contrib > 0)
        cand = cand[np.lexsort((cand, -np.round(contrib[cand], 4), row_of[cand]))]
        rank = np.arange(cand.size) - np.searchsorted(row_of[cand], row_of[cand])
        return cand[rank < top]

    def _token_contributions(
        self, counts: sp.csr_matrix, x: sp.csr_matrix, pos: np.ndarray, fid: np.ndarray,
        row_of: np.ndarray, h: int | np.ndarray, compiled: bool = True,
    ) -> np.ndarray:
        """Each token's contribution to head `h`'s log-odds (`_top_tokens`), float64 per position:
        compiled (`_explain`) when the extension is built and `compiled`, else numpy (equal bit for
        bit, a test compares them)."""
        if (compiled and _explain is not None and x.data.dtype == np.float32
                and counts.data.dtype == np.float32 and x.indices.dtype == np.int32):
            n_rows = x.shape[0]
            head = np.full(n_rows, h, np.int64) if np.ndim(h) == 0 else np.asarray(h, dtype=np.int64)
            out = np.empty(row_of.size, dtype=np.float64)
            _explain.contributions(
                x.indptr.astype(np.int64), x.indices, x.data, counts.data, self._coef, head,
                np.asarray(pos, dtype=np.int64), np.asarray(fid, dtype=np.int64),
                np.asarray(row_of, dtype=np.int64), out)
            return out
        head = h if np.ndim(h) == 0 else np.repeat(h, np.diff(x.indptr))  # x: weight(counts)
        # each feature's contribution to the row's log-odds, shared between its occurrences
        data = x.data.astype(np.float64) * self._coef[x.indices, head] / counts.data
        share = sp.csr_matrix((data, x.indices.copy(), x.indptr), shape=x.shape)
        share.sort_indices()  # (row, feature) look-ups below: a binary search within the row
        at_pairs = np.asarray(share[row_of[pos], fid]).ravel()
        return np.bincount(pos, weights=at_pairs, minlength=row_of.size)

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, version={self.version!r}, sha256={self.sha256[:12]!r})"
