"""Features: word, word-pair, character n-gram and target-context TF-IDF over normalised tokens.

`TokenFeaturizer` is a scikit-learn transformer (second step of the saved pipeline). It works per
token *type*, not per character: every distinct token's unigram and character n-grams are computed
once (a sparse type x feature matrix). A batch becomes integer token ids (scoring caches the ids of
each space-separated piece of raw text, `pieces.PieceTable`, so the work is one dictionary lookup
per piece, cleaning included); word pairs (an
integer hash), target contexts and lexicon classes are found with numpy on those ids; and one
sparse product (message x [types | features]) @ ([type features] / identity) adds every family's
counts up. There is no Python loop per character or per token; training runs the same code.

Target-aware features (what makes `harassment` different from `offensive`): a word seen within the
few tokens after a second-person form or an @mention gets a "you" context feature ("you ... idiot"),
after a first-person form an "I" context feature ("I'm such an idiot"), after a negation a "not"
feature ("you are not an idiot"), and messages get global flags (addresses someone, mentions a user).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from .lexicon import LEXICON_CLASSES, TOKEN_CLASSES
from .lookup import IntHash, UnseenTokens, expand, sparse_product
from .pieces import PieceTable
from .text import URL_TOKEN, USER_TOKEN, TokenizedText

try:  # the compiled scoring kernel (built by `pip install`; without a C compiler, numpy does it)
    from . import _tfidf_dot
except ImportError:  # pragma: no cover
    _tfidf_dot = None
try:  # the compiled hits builder (likewise)
    from . import _hits
except ImportError:  # pragma: no cover
    _hits = None

FEATURE_VERSION = 6
"""Bumped whenever the fitted state's layout changes: older artifacts are refused, not misread."""

SECOND_PERSON = frozenset(
    "you u ur your you're youre yours yourself yourselves ya yall y'all thee thou ye".split()
    + [USER_TOKEN]
)
FIRST_PERSON = frozenset("i i'm im me my myself mine i've ive i'll ill i'd we we're us our".split())
NEGATION = frozenset(
    "not never no don't dont isn't isnt aren't arent wasn't wasnt weren't ain't aint won't wont "
    "can't cant didn't didnt doesn't doesnt shouldn't "
    # negating pronouns and prepositions: "no one called you a snake", "disagree without calling her..."
    "nobody noone nothing neither nor without".split()
)
THIRD_PERSON = frozenset("he she they him her them his hers their he's she's they're theyre hes shes".split())
QUOTES = frozenset('" “ ” « » „ ‟ ＂'.split())
MARKERS = ("you", "me", "not", "them", "quote")
MARKER_WORDS = (SECOND_PERSON, FIRST_PERSON, NEGATION, THIRD_PERSON, QUOTES)
CONTEXTS = ("you", "you_not", "me", "not", "them", "quoted")
"""Target contexts of a token: near a second-person form or @mention (and not negated), the same
but negated ("you are not an idiot", "I'd never hurt you"), near a first-person form, after a
negation, after a third-person form (reporting: "he called me...")."""
AFTER = 2
"""Tokens after a word that still count as its target ("nobody wants you", "hurt you")."""
GLOBALS = ("addresses", "mentions_user", "first_person", "has_url", "question", "exclaim")
SPECIAL_TOKENS = (USER_TOKEN, URL_TOKEN, "?", "!")
"""Tokens behind the global flags mentions_user, has_url, question, exclaim."""
PLACEHOLDERS = frozenset({URL_TOKEN, USER_TOKEN})
SEP_ID = -1
"""The id `ids_of_texts` gives the chunk between two messages."""


def _char_ngrams(token: str, lo: int, hi: int) -> list[str]:
    if token in PLACEHOLDERS or len(token) < 2 or not any(c.isalpha() for c in token):
        return []
    padded = f"<{token}>"
    grams = []
    for n in range(lo, hi + 1):
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def _near(flags: np.ndarray, lo: np.ndarray, hi: np.ndarray | None) -> np.ndarray:
    """For each token i: is a flagged token at a position in [lo[i], i) or, given `hi`, in (i, hi[i])."""
    if not flags.any():
        return np.zeros(flags.size, dtype=bool)
    csum = np.zeros(flags.size + 1, dtype=np.int32)
    np.cumsum(flags, dtype=np.int32, out=csum[1:])
    hit = csum[:-1] > csum[lo]
    if hi is not None:
        hit |= csum[hi] > csum[1:]
    return hit


def context_hits(markers: list[np.ndarray], doc_starts: np.ndarray, doc_ends: np.ndarray,
                 window: int) -> list[np.ndarray]:
    """Per token, one boolean array per entry of CONTEXTS, from per-token marker flags (MARKERS)."""
    you, me, neg, them, quote = markers
    n = you.size
    lo = np.maximum(np.arange(-window, n - window), doc_starts)  # `window` tokens back, in the message
    hi = np.minimum(np.arange(1 + AFTER, n + 1 + AFTER), doc_ends)  # AFTER tokens on
    near_you = _near(you, lo, hi)
    negated = _near(neg, lo, None)
    # inside quotes: an odd number of quotation marks before the token in its message
    if quote.any():
        csum = np.concatenate([[0], np.cumsum(quote, dtype=np.int64)])
        quoted = ((csum[:-1] - csum[doc_starts]) % 2 == 1) & ~quote
    else:
        quoted = np.zeros(n, dtype=bool)
    return [near_you & ~negated & ~quoted, near_you & negated, _near(me, lo, hi), negated,
            _near(them, lo, None), quoted]


def _doc_bounds(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per token: the start and end (exclusive) positions of its message in the flat token list."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.repeat(starts, lengths), np.repeat(starts + lengths, lengths)


class TokenFeaturizer(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: list of TokenizedText (or token lists) -> L2-normalised TF-IDF CSR."""

    def __init__(
        self,
        char_ngram_range: tuple[int, int] = (3, 5),
        family_norm: bool = True,
        family_weights: tuple[float, ...] = (1.0, 1.0, 0.5, 0.5, 0.5, 0.5),
        min_df: int = 2,
        max_static_features: int = 250_000,
        max_pair_features: int = 80_000,
        context_window: int = 4,
        sublinear_tf: bool = True,
    ) -> None:
        self.char_ngram_range = char_ngram_range
        self.family_norm = family_norm
        self.family_weights = family_weights
        self.min_df = min_df
        self.max_static_features = max_static_features
        self.max_pair_features = max_pair_features
        self.context_window = context_window
        self.sublinear_tf = sublinear_tf

    # -- token handling -------------------------------------------------------------------------
    @staticmethod
    def _tokens(doc) -> list[str]:
        if isinstance(doc, TokenizedText):
            return [t.text for t in doc.tokens]
        return list(doc)

    def _flatten(self, docs: Sequence) -> tuple[list[str], np.ndarray]:
        flat: list[str] = []
        lengths = np.empty(len(docs), dtype=np.int64)
        for i, doc in enumerate(docs):
            toks = self._tokens(doc)
            flat.extend(toks)
            lengths[i] = len(toks)
        return flat, lengths

    def _static_strings(self, token: str) -> list[str]:
        lo, hi = self.char_ngram_range
        return ["w " + token] + ["c " + g for g in _char_ngrams(token, lo, hi)]

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X, y=None):  # noqa: N803
        """Learn token types, feature vocabularies and IDF from the training messages."""
        flat, lengths = self._flatten(X)
        n_docs = len(lengths)
        doc_of = np.repeat(np.arange(n_docs), lengths)
        doc_starts_tok, doc_ends_tok = _doc_bounds(lengths)

        types: dict[str, int] = {}
        tids = np.fromiter((types.setdefault(t, len(types)) for t in flat), dtype=np.int64, count=len(flat))
        n_types = len(types)
        type_list = list(types)

        # static (unigram + char n-gram) strings per type
        feat_index: dict[str, int] = {}
        rows, cols = [], []
        for t_id, tok in enumerate(type_list):
            for s in self._static_strings(tok):
                rows.append(t_id)
                cols.append(feat_index.setdefault(s, len(feat_index)))
        S = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_types, len(feat_index))
        )
        S.sum_duplicates()
        S.data[:] = 1.0
        D = sp.csr_matrix(
            (np.ones(len(tids), dtype=np.float32), (doc_of, tids)), shape=(n_docs, n_types)
        )
        D.sum_duplicates()
        D.data[:] = 1.0
        static_df = np.asarray(((D @ S) > 0).sum(axis=0)).ravel()
        static_names = np.array(list(feat_index), dtype=object)
        keep_static = self._select(static_df, static_names, self.max_static_features)

        # word pairs and contexts, keyed by integer token ids
        same_doc_next = np.zeros(len(tids), dtype=bool)
        if len(tids) > 1:
            same_doc_next[:-1] = doc_of[:-1] == doc_of[1:]
        pair_keys = tids[:-1][same_doc_next[:-1]] * n_types + tids[1:][same_doc_next[:-1]]
        pair_docs = doc_of[:-1][same_doc_next[:-1]]
        pair_u, pair_df = self._doc_freq(pair_keys, pair_docs)

        ctx_rows = context_hits(
            [np.array([t in words for t in type_list], dtype=bool)[tids] for words in MARKER_WORDS],
            doc_starts_tok, doc_ends_tok, self.context_window)
        ctx_keys_all, ctx_docs_all = [], []
        for k, hits in enumerate(ctx_rows):
            ctx_keys_all.append(tids[hits] * len(CONTEXTS) + k)
            ctx_docs_all.append(doc_of[hits])
        ctx_u, ctx_df = self._doc_freq(
            np.concatenate(ctx_keys_all) if ctx_keys_all else np.zeros(0, np.int64),
            np.concatenate(ctx_docs_all) if ctx_docs_all else np.zeros(0, np.int64),
        )
        pair_names = np.array([f"p {type_list[k // n_types]} {type_list[k % n_types]}" for k in pair_u], dtype=object)
        ctx_names = np.array([f"{CONTEXTS[k % len(CONTEXTS)]} {type_list[k // len(CONTEXTS)]}" for k in ctx_u], dtype=object)
        keep_pair = self._select(pair_df, pair_names, self.max_pair_features)
        keep_ctx = self._select(ctx_df, ctx_names, self.max_pair_features)

        # final feature layout: static | pairs | contexts | globals
        n_static = int(keep_static.size)
        static_new = np.full(len(feat_index), -1, dtype=np.int64)
        static_new[keep_static] = np.arange(n_static)
        S = S[:, keep_static].tocsr()
        S.eliminate_zeros()
        self.ngram_index_ = {static_names[j]: int(static_new[j]) for j in keep_static}
        self.type_index_ = types
        self.type_static_ = S.astype(np.float32)
        self.n_types_ = n_types

        off = n_static
        self.pair_keys_ = pair_u[keep_pair].astype(np.int64)
        self.pair_ids_ = np.arange(off, off + keep_pair.size, dtype=np.int32)
        order = np.argsort(self.pair_keys_)
        self.pair_keys_, self.pair_ids_ = self.pair_keys_[order], self.pair_ids_[order]
        off += keep_pair.size
        self.ctx_table_ = np.full((n_types, len(CONTEXTS)), -1, dtype=np.int32)
        kept_ctx = ctx_u[keep_ctx]
        self.ctx_table_[kept_ctx // len(CONTEXTS), kept_ctx % len(CONTEXTS)] = np.arange(off, off + keep_ctx.size)
        off += keep_ctx.size
        self.lexicon_offset_ = off
        off += len(LEXICON_CLASSES) * (1 + len(CONTEXTS))
        self.global_offset_ = off
        self.n_features_ = off + len(GLOBALS)
        lex_names = [f"L {c}" for c in LEXICON_CLASSES] + [
            f"{ctx} L {c}" for ctx in CONTEXTS for c in LEXICON_CLASSES
        ]
        names = np.concatenate(
            [static_names[keep_static], pair_names[keep_pair], ctx_names[keep_ctx],
             np.array(lex_names, dtype=object), np.array(["g " + g for g in GLOBALS], dtype=object)]
        )
        self._build_type_flags()
        fam = {"w": 0, "c": 1, "p": 2, "L": 4, "g": 5}
        # feature family per column (word, char, pair, context, lexicon, global), for per-family norms
        self.family_ = np.array([fam.get(n.split(" ", 1)[0], 4 if " L " in n else 3) for n in names], dtype=np.int8)
        # IDF from the transformed training counts (exact document frequencies)
        self._drop_caches()
        self.idf_ = np.ones(self.n_features_, dtype=np.float32)
        counts = self._counts(X)
        df = np.bincount(counts.indices, minlength=self.n_features_)
        self.idf_ = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
        return self

    def _select(self, df: np.ndarray, names: np.ndarray, cap: int) -> np.ndarray:
        """Indices with df >= min_df, the `cap` most frequent, ties broken by name (deterministic)."""
        idx = np.flatnonzero(df >= self.min_df)
        if idx.size > cap:
            order = sorted(idx.tolist(), key=lambda j: (-int(df[j]), names[j]))
            idx = np.array(order[:cap], dtype=np.int64)
        return np.sort(idx)

    @staticmethod
    def _doc_freq(keys: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if keys.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        n_docs = int(docs.max()) + 1
        combined = np.unique(keys.astype(np.int64) * n_docs + docs)  # one entry per (key, doc)
        return np.unique(combined // n_docs, return_counts=True)

    def _build_type_flags(self) -> None:
        self.type_marker_ = np.zeros((self.n_types_, len(MARKERS)), dtype=bool)
        self.type_special_ = np.zeros((self.n_types_, len(SPECIAL_TOKENS)), dtype=bool)
        lex_ptr = [0]
        lex_cls: list[int] = []
        for tok, i in self.type_index_.items():  # dict order == type id order
            for k, words in enumerate(MARKER_WORDS):
                self.type_marker_[i, k] = tok in words
            for k, special in enumerate(SPECIAL_TOKENS):
                self.type_special_[i, k] = tok == special
            lex_cls.extend(TOKEN_CLASSES.get(tok, ()))
            lex_ptr.append(len(lex_cls))
        self.type_lex_ptr_ = np.asarray(lex_ptr, dtype=np.int64)
        self.type_lex_cls_ = np.asarray(lex_cls, dtype=np.int64)

    # -- token ids ------------------------------------------------------------------------------
    def _piece_table(self) -> PieceTable:
        """The piece table in use, with the table of tokens outside the vocabulary its ids refer to;
        a full one is replaced (not cleared: batches in flight keep reading theirs)."""
        pieces = self.__dict__.get("_pieces")
        if pieces is None or pieces.full:
            table = UnseenTokens(self.n_types_, self.type_index_, self._describe_unseen)
            pieces = self._pieces = PieceTable(table, SEP_ID)
        return pieces

    def _unseen(self) -> UnseenTokens:
        """The table of tokens outside the vocabulary in use."""
        return self._piece_table().tokens

    def _describe_unseen(self, token: str) -> tuple[list[int], tuple[int, ...]]:
        """An unseen token's static features (the character n-grams the vocabulary has) and lexicon classes."""
        index = self.ngram_index_
        return [index[s] for s in self._static_strings(token) if s in index], TOKEN_CLASSES.get(token, ())

    def ids_of_texts(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, UnseenTokens]:
        """Token ids of a batch of raw messages, tokens per message, and the table unseen ids refer to.

        The scoring fast path: one dictionary lookup per space-separated piece (`pieces.PieceTable`).
        The ids are exactly those of the messages' `token_strings` (a test checks it).
        """
        pieces = self._piece_table()
        table = pieces.tokens
        if not texts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), table
        flat = pieces.token_ids(texts)
        sep = flat == SEP_ID
        lengths = np.diff(np.concatenate([[-1], np.flatnonzero(sep), [flat.size]])) - 1
        return flat[~sep], lengths, table

    # -- counts ---------------------------------------------------------------------------------
    def _spread(self) -> sp.csr_matrix:
        """(token types + features) x features: each type's static features, then the identity.

        A batch becomes one sparse matrix T of (message x [types | features]) hits: a known token
        hits its type, everything else (an unseen token's n-grams, word pairs, contexts, lexicon,
        flags) hits a feature directly. T @ this matrix is the count matrix, duplicates added up.
        """
        spread = self.__dict__.get("_spread_matrix")
        if spread is None:
            S = self.type_static_
            top = sp.csr_matrix((S.data, S.indices, S.indptr), shape=(S.shape[0], self.n_features_))
            eye = sp.identity(self.n_features_, dtype=np.float32, format="csr")
            spread = sp.vstack([top, eye], format="csr", dtype=np.float32)
            self._spread_row_nnz = np.diff(spread.indptr)
            self._spread_ptr = spread.indptr.astype(np.int64)
            spread.indices = spread.indices.astype(np.int32, copy=False)
            self._spread_matrix = spread
        return spread

    def _pairs(self) -> IntHash:
        table = self.__dict__.get("_pair_hash")
        if table is None:
            table = self._pair_hash = IntHash(self.pair_keys_, self.pair_ids_)
        return table

    def prepare(self) -> None:
        """Build the lookup structures scoring uses now, rather than on the first call."""
        self._spread()
        self._pairs()
        self._unseen()

    def _counts(self, X) -> sp.csr_matrix:
        """Raw term counts (n_docs x n_features)."""
        return self._counts_flat(*self._flatten(X))

    def _counts_flat(self, flat: list[str], lengths: np.ndarray) -> sp.csr_matrix:
        """Raw term counts of documents given as all their tokens in order plus tokens per document."""
        return self._counts_ids(*self.ids_of_flat(flat, lengths))

    def ids_of_flat(self, flat: list[str], lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray, UnseenTokens]:
        """`ids_of_texts` of documents given as all their tokens in order plus tokens per document."""
        table = self._unseen()
        return table.ids(flat), np.asarray(lengths, dtype=np.int64), table

    _LEXICON_BIT = len(MARKERS) + len(SPECIAL_TOKENS)

    def _type_bits(self) -> np.ndarray:
        """Per token type (and one more entry, 0, for every unseen token): bit k set for MARKERS[k],
        bit len(MARKERS) + k for SPECIAL_TOKENS[k], bit _LEXICON_BIT if it has lexicon classes."""
        bits = self.__dict__.get("_type_bit_table")
        if bits is None:
            weights = 1 << np.arange(self._LEXICON_BIT + 1)
            has_lexicon = (np.diff(self.type_lex_ptr_) > 0)[:, None]
            flags = np.hstack([self.type_marker_, self.type_special_, has_lexicon]).astype(np.int64)
            bits = np.append(flags @ weights, 0).astype(np.uint16)
            self._type_bit_table = bits
        return bits

    def _counts_ids(self, tids: np.ndarray, lengths: np.ndarray, table: UnseenTokens) -> sp.csr_matrix:
        """Raw term counts of documents given as token ids (`ids_of_texts`) and tokens per document."""
        return self.counts_of_hits(self._hits_ids(tids, lengths, table))

    def decision_of_hits(self, hits: sp.csr_matrix, table: np.ndarray) -> np.ndarray:
        """`weight(counts of hits) @ coef` in float64 (n_docs x heads) without building the TF-IDF
        rows, given `table` = `kernel_table(coef)`: compiled (`_tfidf_dot`) when the extension is
        built, else through `weight` and a float64 product (a test bounds their difference)."""
        if _tfidf_dot is None:
            X = self.weight(self.counts_of_hits(hits), copy=False)
            return np.asarray(X @ table[self._kernel_order()[1], 1:].astype(np.float64))
        spread_indices, family = self._kernel_spread()
        out = np.empty((hits.shape[0], table.shape[1] - 1), dtype=np.float64)
        indptr, indices = hits.indptr, hits.indices
        if indptr.dtype != indices.dtype or indptr.dtype not in (np.int32, np.int64):
            indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
        _tfidf_dot.decision(
            indptr, indices, hits.data, self._spread_ptr, spread_indices, self._spread().data, table,
            family, np.asarray(self.family_weights, dtype=np.float64), bool(self.sublinear_tf),
            bool(self.family_norm), out, *self._kernel_work(self._counts_fit_uint16(hits)))
        return out

    def _counts_fit_uint16(self, hits: sp.csr_matrix) -> bool:
        """Whether the kernel may count in uint16: every hit and spread value is 1 (so counts are
        whole numbers) and no row has 65,535 hits or more (so none can overflow)."""
        binary = self.__dict__.get("_spread_binary")
        if binary is None:
            binary = self._spread_binary = bool((self._spread().data == 1).all())
        if not binary or not hits.nnz or int(np.diff(hits.indptr).max()) >= 65_535:
            return False
        return hits.data.base is _ONES or bool((hits.data == 1).all())

    def _kernel_work(self, whole: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """This thread's scratch space for the kernel (counts, all zeros between calls: float32, or
        uint16 if `whole`; touched features), made once: allocating and zeroing it per call cost
        more than scoring a message."""
        local = self.__dict__.get("_kernel_local")
        if local is None:
            local = self._kernel_local = threading.local()
        work = local.__dict__
        dtype = np.uint16 if whole else np.float32
        counts = work.get(dtype)
        if counts is None:
            counts = work[dtype] = np.zeros(self.n_features_, dtype)
        touched = work.get("touched")
        if touched is None:
            touched = work["touched"] = np.empty(self.n_features_, np.int32)
        return counts, touched

    def _kernel_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The order the compiled kernel keeps features in (most frequent first, by IDF, so that the
        features most messages touch share cache lines), and each feature's place in that order.

        Only where features are stored changes, not any sum: scores are bit-for-bit the same."""
        cached = self.__dict__.get("_kernel_perm")
        if cached is None:
            order = np.argsort(self.idf_, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size)
            cached = self._kernel_perm = (order, rank)
        return cached

    def _kernel_spread(self) -> tuple[np.ndarray, np.ndarray]:
        """`_spread`'s column indices in kernel order (`_kernel_order`), and the features' families."""
        cached = self.__dict__.get("_kernel_spread_cache")
        if cached is None:
            order, rank = self._kernel_order()
            cached = self._kernel_spread_cache = (
                rank[self._spread().indices].astype(np.int32), np.ascontiguousarray(self.family_[order]))
        return cached

    def kernel_table(self, coef: np.ndarray) -> np.ndarray:
        """Per feature in kernel order (`_kernel_order`), its IDF then its weight for each head (one
        float32 row: one memory access in the compiled kernel)."""
        order, _ = self._kernel_order()
        return np.ascontiguousarray(np.column_stack([self.idf_, coef])[order], dtype=np.float32)

    def counts_of_hits(self, hits: sp.csr_matrix) -> sp.csr_matrix:
        """Raw term counts from the hits matrix (`_hits_ids`)."""
        return sparse_product(hits, self._spread(), self._spread_row_nnz)

    def _hits_ids(self, tids: np.ndarray, lengths: np.ndarray, table: UnseenTokens) -> sp.csr_matrix:
        """The (message x [types | features]) hits matrix whose product with `_spread` is the counts:
        compiled (`_hits`) when the extension is built, else `_hits_numpy` (a test compares them)."""
        if _hits is None:
            return self._hits_numpy(tids, lengths, table)
        n_t = self.n_types_
        pairs = self._pairs()
        has_pairs = bool(self.pair_keys_.size)
        indptr, indices = _hits.hits(
            np.ascontiguousarray(tids, dtype=np.int64), np.ascontiguousarray(lengths, dtype=np.int64), n_t,
            self._type_bits(), table.static.ptr, table.static.values,
            pairs._keys if has_pairs else np.zeros(0, np.int64),
            pairs._values if has_pairs else np.zeros(0, np.int32), pairs._bits,
            self.ctx_table_, self.type_lex_ptr_, self.type_lex_cls_, table.lexicon.ptr, table.lexicon.values,
            int(self.context_window), AFTER, int(self.lexicon_offset_), len(LEXICON_CLASSES),
            int(self.global_offset_))
        hits = sp.csr_matrix((len(lengths), n_t + self.n_features_), dtype=np.float32)
        hits.data, hits.indices, hits.indptr = _ones(indices.size), indices, indptr  # (no checks, no copies)
        return hits

    def _hits_numpy(self, tids: np.ndarray, lengths: np.ndarray, table: UnseenTokens) -> sp.csr_matrix:
        """`_hits_ids` with numpy: the same entries (in a different order within a row)."""
        n_docs = len(lengths)
        n_t = self.n_types_
        doc_of = np.repeat(np.arange(n_docs), lengths)
        known = tids < n_t
        rows = [doc_of[known]]
        cols = [tids[known]]
        unseen = np.flatnonzero(~known)
        if unseen.size:
            owner, fid = expand(table.static.ptr, table.static.values, tids[unseen] - n_t)
            rows.append(doc_of[unseen[owner]])
            cols.append(fid + n_t)
        seq_pos, seq_fid, bits = self._sequence_features(tids, known, doc_of, lengths, table)
        rows.append(doc_of[seq_pos])
        cols.append(seq_fid + n_t)
        if n_docs:  # message-level flags, per message in GLOBALS order
            n_m, n_g = len(MARKERS), len(GLOBALS)
            has = np.zeros((n_docs, n_g), dtype=bool)
            for g, bit in enumerate((0, n_m, 1, n_m + 1, n_m + 2, n_m + 3)):
                has[doc_of[(bits & (1 << bit)) != 0], g] = True
            key = np.flatnonzero(has)
            rows.append(key // n_g)
            cols.append(key % n_g + (n_t + self.global_offset_))
        r = np.concatenate(rows)
        T = sp.coo_matrix((np.ones(r.size, np.float32), (r, np.concatenate(cols))),
                          shape=(n_docs, n_t + self.n_features_))
        T.has_canonical_format = True  # skip sorting and merging: the product adds duplicates up
        return T.tocsr()

    def _sequence_features(
        self, tids: np.ndarray, known: np.ndarray, doc_of: np.ndarray, lengths: np.ndarray, table: UnseenTokens
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(token position, feature id) of the word-pair, target-context and lexicon features,
        plus each token's marker and special-token bits (`_type_bits`) the global flags are made from."""
        poss: list[np.ndarray] = []
        fids: list[np.ndarray] = []
        n_t = self.n_types_
        # word pairs, owned by their second token
        if len(tids) > 1 and self.pair_keys_.size:
            ok = np.flatnonzero((doc_of[:-1] == doc_of[1:]) & known[:-1] & known[1:])
            fid = self._pairs().get(tids[ok] * n_t + tids[ok + 1])
            hit = fid >= 0
            poss.append(ok[hit] + 1)
            fids.append(fid[hit].astype(np.int64))
        # target contexts
        doc_starts_tok, doc_ends_tok = _doc_bounds(lengths)
        bits = self._type_bits()[np.minimum(tids, n_t)]
        flags = [(bits & (1 << k)) != 0 for k in range(len(MARKERS))]
        all_hits = context_hits(flags, doc_starts_tok, doc_ends_tok, self.context_window)
        safe = np.where(known, tids, 0)
        for k, hits_any in enumerate(all_hits):
            hit_pos = np.flatnonzero(hits_any & known)
            fid = self.ctx_table_[safe[hit_pos], k]
            good = fid >= 0
            poss.append(hit_pos[good])
            fids.append(fid[good].astype(np.int64))
        # lexicon classes, alone and in each target context: known types' from a table made at
        # fit time, unseen tokens' from the unseen-token table
        kpos = np.flatnonzero((bits & (1 << self._LEXICON_BIT)) != 0)  # known tokens with classes
        owner, lc = expand(self.type_lex_ptr_, self.type_lex_cls_, tids[kpos])
        lp = kpos[owner]
        upos = np.flatnonzero(~known)
        if upos.size:
            owner, ulc = expand(table.lexicon.ptr, table.lexicon.values, tids[upos] - n_t)
            lp = np.concatenate([lp, upos[owner]])
            lc = np.concatenate([lc, ulc])
        if lp.size:
            n_cls = len(LEXICON_CLASSES)
            poss.append(lp)
            fids.append(self.lexicon_offset_ + lc)
            for k, hits_any in enumerate(all_hits):
                m = hits_any[lp]
                poss.append(lp[m])
                fids.append(self.lexicon_offset_ + n_cls * (1 + k) + lc[m])
        empty = np.zeros(0, np.int64)
        return (np.concatenate(poss) if poss else empty, np.concatenate(fids) if fids else empty, bits)

    def token_feature_pairs(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: N803
        """Every (token, feature) a batch produces except the message-level flags, for explanations.

        Returns (token position in the batch's flat token list, feature id, row of each position).
        Summed per row, these are exactly `_counts` without the global flags (a test checks it).
        """
        flat, lengths = self._flatten(X)
        table = self._unseen()
        return self.token_feature_pairs_ids(table.ids(flat), lengths, table)

    def token_feature_pairs_ids(
        self, tids: np.ndarray, lengths: np.ndarray, table: UnseenTokens
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`token_feature_pairs` of documents given as token ids (`ids_of_texts`) and tokens per document."""
        doc_of = np.repeat(np.arange(len(lengths)), lengths)
        known = tids < self.n_types_
        S = self.type_static_
        kpos = np.flatnonzero(known)
        owner, fid = expand(S.indptr.astype(np.int64), S.indices, tids[kpos])
        poss, fids = [kpos[owner]], [fid.astype(np.int64)]
        upos = np.flatnonzero(~known)
        owner, fid = expand(table.static.ptr, table.static.values, tids[upos] - self.n_types_)
        poss.append(upos[owner])
        fids.append(fid)
        pos, fid, _ = self._sequence_features(tids, known, doc_of, lengths, table)
        poss.append(pos)
        fids.append(fid)
        return np.concatenate(poss), np.concatenate(fids), doc_of

    # -- transform ------------------------------------------------------------------------------
    def transform(self, X) -> sp.csr_matrix:  # noqa: N803
        """TF-IDF (sublinear tf, L2-normalised rows) of the messages."""
        return self.weight(self._counts(X), copy=False)

    def transform_flat(self, flat: list[str], lengths: Sequence[int]) -> sp.csr_matrix:
        """`transform` of documents given flat (all tokens in order, tokens per document)."""
        return self.weight(self._counts_flat(flat, np.asarray(lengths, dtype=np.int64)), copy=False)

    def weight(self, counts: sp.csr_matrix, copy: bool = True) -> sp.csr_matrix:
        """Counts -> sublinear TF-IDF, each feature family L2-normalised and weighted, rows L2-normalised
        (in place when `copy` is false).

        Two passes over the entries: one for the family norms, one applying one factor per row and
        family (family weight / family norm / row norm; the row norm follows from the family norms).
        """
        X = counts.copy() if copy else counts
        counts_data = X.data
        idx = X.indices.astype(np.intp)  # (numpy gathers with int32 indices convert them each time)
        v = self.idf_[idx]
        if self.sublinear_tf:  # 1 + log(count): most counts are 1, so only the others are computed
            more = np.flatnonzero(counts_data != 1.0)
            v[more] *= np.log(counts_data[more]) + np.float32(1.0)
        else:
            v *= counts_data
        n = X.shape[0]
        per_row = np.diff(X.indptr)
        if self.family_norm:
            nf = 6
            key = np.repeat(np.arange(0, n * nf, nf), per_row) + self.family_[idx]
            sqf = np.bincount(key, weights=v * v, minlength=n * nf).reshape(n, nf)
            scale = np.asarray(self.family_weights, dtype=np.float64) / np.sqrt(np.maximum(sqf, 1e-12))
            sq = (scale * scale * sqf).sum(axis=1)
            inv = np.where(sq > 0, 1.0 / np.sqrt(np.maximum(sq, 1e-30)), 1.0)
            v *= (scale * inv[:, None]).astype(np.float32).ravel()[key]
        else:
            rows = np.repeat(np.arange(n), per_row)
            sq = np.bincount(rows, weights=v * v, minlength=n)
            v *= np.where(sq > 0, 1.0 / np.sqrt(np.maximum(sq, 1e-30)), 1.0).astype(np.float32)[rows]
        X.data = v
        return X

    _CACHES = ("_pieces", "_spread_matrix", "_spread_row_nnz", "_spread_ptr", "_pair_hash", "_type_bit_table",
               "_kernel_perm", "_kernel_spread_cache", "_kernel_local", "_spread_binary")

    def _drop_caches(self) -> None:
        for name in self._CACHES:
            self.__dict__.pop(name, None)

    _VOCABULARIES = ("type_index_", "ngram_index_")
    """Saved as one string of keys and one array of values each: a pickle of 140,000 small strings
    took most of a model's load time (joblib unpickles in Python)."""

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in self._CACHES:
            state.pop(name, None)
        for name in self._VOCABULARIES:
            vocabulary = state.get(name)
            if isinstance(vocabulary, dict) and not any("\n" in key for key in vocabulary):
                state[name] = ("\n".join(vocabulary), np.fromiter(vocabulary.values(), np.int64, len(vocabulary)))
        return state

    def __setstate__(self, state):
        for name in self._VOCABULARIES:
            saved = state.get(name)
            if isinstance(saved, tuple):  # (keys joined by newlines, values)
                keys, values = saved
                state[name] = dict(zip(keys.split("\n"), values.tolist())) if len(values) else {}
        self.__dict__.update(state)


_ONES = np.ones(0, dtype=np.float32)


def _ones(n: int) -> np.ndarray:
    """A read-only float32 array of n ones (a view of one shared array, grown when needed)."""
    global _ONES
    if _ONES.size < n:
        _ONES = np.ones(max(n, 2 * _ONES.size, 1 << 16), dtype=np.float32)
        _ONES.flags.writeable = False
    return _ONES[:n]


def idf_summary(featurizer: TokenFeaturizer) -> dict[str, float]:
    """A few numbers describing the fitted vocabulary (for the manifest)."""
    return {
        "n_features": int(featurizer.n_features_),
        "n_token_types": int(featurizer.n_types_),
        "mean_idf": float(np.mean(featurizer.idf_)) if featurizer.n_features_ else math.nan,
    }
