# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Each token's contribution to a head's log-odds (explanations), in compiled code.

The same arithmetic as `Model._token_contributions`' numpy path, in the same order: a feature's
share is (TF-IDF value as float64) * (head weight) / (count), and a token's contribution adds the
shares of its (token, feature) pairs in the order they are given, so the results are equal bit
for bit (a test compares them).
"""

from libc.stdlib cimport calloc, free, malloc
from libc.math cimport rint
from libc.stdint cimport int32_t, int64_t


def contributions(const int64_t[::1] x_ptr, const int32_t[::1] x_idx, const float[::1] x_data,
                  const float[::1] counts_data, const float[:, ::1] coef, const int64_t[::1] head,
                  const int64_t[::1] pos, const int64_t[::1] fid, const int64_t[::1] row_of,
                  double[::1] out):
    """out[p] = sum over the pairs j with pos[j] == p (in order) of share[row_of[p], fid[j]], where
    share[r, f] = x[r, f] * coef[f, head[r]] / counts[r, f] over the CSR rows of x (counts: same
    structure) and 0 where x has no entry."""
    cdef Py_ssize_t n_rows = x_ptr.shape[0] - 1
    cdef Py_ssize_t n_feat = coef.shape[0]
    cdef Py_ssize_t n_pairs = pos.shape[0]
    cdef Py_ssize_t n_pos = out.shape[0]
    if head.shape[0] != n_rows or row_of.shape[0] != n_pos or fid.shape[0] != n_pairs:
        raise ValueError("shape mismatch")
    if x_idx.shape[0] != x_data.shape[0] or counts_data.shape[0] != x_data.shape[0]:
        raise ValueError("shape mismatch")
    cdef double* dense = <double*> calloc(n_feat if n_feat else 1, sizeof(double))
    cdef int64_t* start = <int64_t*> calloc(n_rows + 1, sizeof(int64_t))
    cdef int64_t* order = <int64_t*> malloc((n_pairs if n_pairs else 1) * sizeof(int64_t))
    if dense == NULL or start == NULL or order == NULL:
        free(dense)
        free(start)
        free(order)
        raise MemoryError()
    cdef Py_ssize_t j, k, r, p, h
    cdef int64_t f
    try:
        for p in range(n_pos):
            out[p] = 0.0
        # the pairs grouped by row, each row's in their given order (a stable counting sort)
        for j in range(n_pairs):
            p = pos[j]
            if p < 0 or p >= n_pos or fid[j] < 0 or fid[j] >= n_feat:
                raise ValueError("pair out of range")
            r = row_of[p]
            if r < 0 or r >= n_rows:
                raise ValueError("row out of range")
            start[r + 1] += 1
        for r in range(n_rows):
            start[r + 1] += start[r]
        for j in range(n_pairs):
            r = row_of[pos[j]]
            order[start[r]] = j
            start[r] += 1
        # start[r] is now the end of row r's pairs (and the start of row r + 1's)
        k = 0
        for r in range(n_rows):
            h = head[r]
            if h < 0 or h >= coef.shape[1]:
                raise ValueError("head out of range")
            for j in range(x_ptr[r], x_ptr[r + 1]):
                f = x_idx[j]
                if f < 0 or f >= n_feat:
                    raise ValueError("feature out of range")
                dense[f] += <double> x_data[j] * <double> coef[f, h] / <double> counts_data[j]
            while k < start[r]:
                j = order[k]
                out[pos[j]] += dense[fid[j]]
                k += 1
            for j in range(x_ptr[r], x_ptr[r + 1]):
                dense[x_idx[j]] = 0.0
    finally:
        free(dense)
        free(start)
        free(order)


def top_positions(const double[::1] contrib, const int64_t[::1] row_first, Py_ssize_t top,
                  int64_t[::1] out):
    """The positions of each row's `top` tokens of positive contribution, into `out`, by row, then
    contribution rounded to 4 places (as numpy rounds: rint(c * 10000) / 10000) down, then
    position; row r is positions row_first[r] to row_first[r + 1]. Returns how many."""
    cdef Py_ssize_t n_rows = row_first.shape[0] - 1
    cdef Py_ssize_t n_out = 0, r, p, k, m, n_buf
    cdef double key
    if top <= 0 or n_rows <= 0:
        return 0
    if row_first[0] < 0 or row_first[n_rows] > contrib.shape[0]:
        raise ValueError("rows out of range")
    for r in range(n_rows):
        if row_first[r + 1] < row_first[r]:
            raise ValueError("rows out of order")
    cdef double* keys = <double*> malloc(top * sizeof(double))
    cdef int64_t* at = <int64_t*> malloc(top * sizeof(int64_t))
    if keys == NULL or at == NULL:
        free(keys)
        free(at)
        raise MemoryError()
    try:
        for r in range(n_rows):
            n_buf = 0  # the row's best so far, best first (a later position loses ties)
            for p in range(row_first[r], row_first[r + 1]):
                if not contrib[p] > 0:
                    continue
                key = rint(contrib[p] * 10000.0)
                if n_buf == top and key <= keys[n_buf - 1]:
                    continue
                k = n_buf if n_buf < top else top - 1
                while k > 0 and keys[k - 1] < key:  # (the last one drops out of a full buffer)
                    keys[k] = keys[k - 1]
                    at[k] = at[k - 1]
                    k -= 1
                keys[k] = key
                at[k] = p
                if n_buf < top:
                    n_buf += 1
            if n_out + n_buf > out.shape[0]:
                raise ValueError("out is too short")
            for m in range(n_buf):
                out[n_out + m] = at[m]
            n_out += n_buf
    finally:
        free(keys)
        free(at)
    return n_out
