# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The hits matrix of a batch of token ids in one compiled pass (`TokenFeaturizer._hits_ids`).

For every message: each token's type (or an unseen token's static features), the word pair it ends,
its target contexts, its lexicon classes alone and in each context, then the message-level flags.
The same entries as the numpy version (`TokenFeaturizer._hits_numpy`), in a different order within
a row; the counts they add up to are equal (a test compares them).
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint16_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define HF_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define HF_PREFETCH(p) ((void)0)
    #endif
    """
    void HF_PREFETCH(const void *p) nogil

cdef enum:
    N_MARKERS = 5      # MARKERS: you, me, not, them, quote (bits 0..4 of a type's bits)
    N_CONTEXTS = 6     # CONTEXTS: you, you_not, me, not, them, quoted
    N_GLOBALS = 6      # GLOBALS: addresses, mentions_user, first_person, has_url, question, exclaim

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL
cdef Py_ssize_t MAX_INDEX = 2147483647
cdef Py_ssize_t PREFETCH = 6  # tokens ahead


cdef struct Buffer:
    int32_t* data
    Py_ssize_t size
    Py_ssize_t cap


cdef int reserve(Buffer* b, Py_ssize_t extra) noexcept nogil:
    """Room for `extra` more entries (0, or -1 when memory ran out)."""
    cdef Py_ssize_t cap
    cdef int32_t* grown
    if b.size + extra <= b.cap:
        return 0
    cap = 2 * b.cap
    if cap < b.size + extra:
        cap = b.size + extra
    grown = <int32_t*> realloc(b.data, cap * sizeof(int32_t))
    if grown == NULL:
        return -1
    b.data = grown
    b.cap = cap
    return 0


cdef inline int32_t pair_id(const int64_t* keys, const int32_t* values, uint64_t mask, int shift,
                            int64_t key) noexcept nogil:
    """`IntHash.get` of one key: linear probing from the key's Fibonacci-hashed slot."""
    cdef uint64_t slot = (<uint64_t> key * GOLDEN) >> shift
    while keys[slot] != -1:
        if keys[slot] == key:
            return values[slot]
        slot = (slot + 1) & mask
    return -1


def hits(const int64_t[::1] tids, const int64_t[::1] lengths, int64_t n_types,
         const uint16_t[::1] type_bits,
         const int64_t[::1] u_static_ptr, const int64_t[::1] u_static_val,
         const int64_t[::1] pair_keys, const int32_t[::1] pair_values, int pair_bits,
         const int32_t[:, ::1] ctx_table,
         const int64_t[::1] lex_ptr, const int64_t[::1] lex_cls,
         const int64_t[::1] u_lex_ptr, const int64_t[::1] u_lex_val,
         int window, int after, int64_t lexicon_offset, int n_classes, int64_t global_offset):
    """(indptr, indices) of the hits matrix (CSR, int32, every value 1) of messages given as token
    ids one after the other (`lengths` tokens each): column t < n_types is a known token's type,
    column n_types + f is feature f. `pair_keys`/`pair_values`/`pair_bits` are an `IntHash`'s
    slots; `type_bits` is `_type_bits()` (markers, special tokens, lexicon; entry n_types: unseen)."""
    cdef Py_ssize_t n = tids.shape[0]
    cdef Py_ssize_t n_docs = lengths.shape[0]
    cdef Py_ssize_t d, i, s, e, j, lo, hi, k, a, b
    cdef int64_t t, prev, base_ctx, fid
    cdef int32_t pid
    cdef uint16_t bits, doc_bits
    cdef bint known, near_you, negated, quoted, near_me, near_them, has_pairs = pair_keys.shape[0] > 0
    cdef bint flags[N_CONTEXTS]
    cdef int n_flags
    cdef uint64_t mask = (<uint64_t> 1 << pair_bits) - 1
    cdef int shift = 64 - pair_bits
    cdef int global_bits[N_GLOBALS]
    # message-level flags, in GLOBALS order, from these bits (markers 0..4, special tokens 5..8)
    global_bits[:] = [0, N_MARKERS, 1, N_MARKERS + 1, N_MARKERS + 2, N_MARKERS + 3]
    total = 0
    for d in range(n_docs):
        total += lengths[d]
    if total != n:
        raise ValueError(f"{n} token ids but the lengths add up to {total}")
    if n_types + global_offset + N_GLOBALS >= MAX_INDEX:
        raise ValueError("too many features for int32 hit columns")

    # per marker, how many tokens before each position carry it (over the whole batch)
    cdef int32_t* prefix = <int32_t*> malloc(N_MARKERS * (n + 1) * sizeof(int32_t))
    cdef Buffer out_idx
    out_idx.size = 0
    out_idx.cap = 8 * n + 64
    out_idx.data = <int32_t*> malloc(out_idx.cap * sizeof(int32_t))
    indptr = np.empty(n_docs + 1, dtype=np.int32)
    cdef int32_t[::1] ptr = indptr
    cdef int failed = 0
    if prefix == NULL or out_idx.data == NULL:
        free(prefix)
        free(out_idx.data)
        raise MemoryError()
    cdef const int64_t* keys_p = &pair_keys[0] if has_pairs else NULL
    cdef const int32_t* values_p = &pair_values[0] if has_pairs else NULL
    cdef int32_t* p_you = prefix
    cdef int32_t* p_me = prefix + (n + 1)
    cdef int32_t* p_not = prefix + 2 * (n + 1)
    cdef int32_t* p_them = prefix + 3 * (n + 1)
    cdef int32_t* p_quote = prefix + 4 * (n + 1)
    cdef int32_t* o
    with nogil:
        p_you[0] = p_me[0] = p_not[0] = p_them[0] = p_quote[0] = 0
        for i in range(n):
            t = tids[i]
            bits = type_bits[t if t < n_types else n_types]
            p_you[i + 1] = p_you[i] + (bits & 1)
            p_me[i + 1] = p_me[i] + ((bits >> 1) & 1)
            p_not[i + 1] = p_not[i] + ((bits >> 2) & 1)
            p_them[i + 1] = p_them[i] + ((bits >> 3) & 1)
            p_quote[i + 1] = p_quote[i] + ((bits >> 4) & 1)
        s = 0
        ptr[0] = 0
        for d in range(n_docs):
            e = s + lengths[d]
            doc_bits = 0
            for i in range(s, e):
                if has_pairs and i + PREFETCH < n:  # the pair table is large and read at random
                    HF_PREFETCH(&keys_p[(<uint64_t> (tids[i + PREFETCH - 1] * n_types + tids[i + PREFETCH])
                                         * GOLDEN) >> shift])
                t = tids[i]
                known = t < n_types
                bits = type_bits[t if known else n_types]
                doc_bits |= bits
                if known:
                    a = lex_ptr[t]
                    b = lex_ptr[t + 1]
                else:
                    a = u_lex_ptr[t - n_types]
                    b = u_lex_ptr[t - n_types + 1]
                k = 2 + N_CONTEXTS + (b - a) * (1 + N_CONTEXTS)
                if not known:
                    k += u_static_ptr[t - n_types + 1] - u_static_ptr[t - n_types]
                if reserve(&out_idx, k) != 0:
                    failed = 1
                    break
                o = out_idx.data
                # the token itself: its type, or an unseen token's static features
                if known:
                    o[out_idx.size] = <int32_t> t
                    out_idx.size += 1
                else:
                    for j in range(u_static_ptr[t - n_types], u_static_ptr[t - n_types + 1]):
                        o[out_idx.size] = <int32_t> (n_types + u_static_val[j])
                        out_idx.size += 1
                # the word pair it ends (both tokens known, in the same message)
                if has_pairs and known and i > s:
                    prev = tids[i - 1]
                    if prev < n_types:
                        pid = pair_id(keys_p, values_p, mask, shift, prev * n_types + t)
                        if pid >= 0:
                            o[out_idx.size] = <int32_t> (n_types + pid)
                            out_idx.size += 1
                # target contexts (`context_hits`): markers within `window` tokens back, or
                # `after` tokens on, in the same message
                lo = i - window if i - window > s else s
                hi = i + 1 + after if i + 1 + after < e else e
                near_you = p_you[i] > p_you[lo] or p_you[hi] > p_you[i + 1]
                negated = p_not[i] > p_not[lo]
                quoted = ((p_quote[i] - p_quote[s]) & 1) == 1 and ((bits >> 4) & 1) == 0
                near_me = p_me[i] > p_me[lo] or p_me[hi] > p_me[i + 1]
                near_them = p_them[i] > p_them[lo]
                flags[0] = near_you and not negated and not quoted
                flags[1] = near_you and negated
                flags[2] = near_me
                flags[3] = negated
                flags[4] = near_them
                flags[5] = quoted
                if known:
                    for k in range(N_CONTEXTS):
                        if flags[k]:
                            fid = ctx_table[t, k]
                            if fid >= 0:
                                o[out_idx.size] = <int32_t> (n_types + fid)
                                out_idx.size += 1
                # lexicon classes, alone and in each context the token is in
                for j in range(a, b):
                    fid = lex_cls[j] if known else u_lex_val[j]
                    base_ctx = n_types + lexicon_offset + fid
                    o[out_idx.size] = <int32_t> base_ctx
                    out_idx.size += 1
                    for k in range(N_CONTEXTS):
                        if flags[k]:
                            o[out_idx.size] = <int32_t> (base_ctx + n_classes * (1 + k))
                            out_idx.size += 1
            if failed:
                break
            if e > s:
                if reserve(&out_idx, N_GLOBALS) != 0:
                    failed = 1
                    break
                for k in range(N_GLOBALS):
                    if (doc_bits >> global_bits[k]) & 1:
                        out_idx.data[out_idx.size] = <int32_t> (n_types + global_offset + k)
                        out_idx.size += 1
            if out_idx.size >= MAX_INDEX:
                failed = 2
                break
            ptr[d + 1] = <int32_t> out_idx.size
            s = e
    free(prefix)
    if failed:
        free(out_idx.data)
        if failed == 2:
            raise ValueError("too many hits for int32 indices: score in smaller batches")
        raise MemoryError()
    indices = np.empty(out_idx.size, dtype=np.int32)
    cdef int32_t[::1] idx_view = indices
    if out_idx.size:
        memcpy(&idx_view[0], out_idx.data, out_idx.size * sizeof(int32_t))
    free(out_idx.data)
    return indptr, indices
