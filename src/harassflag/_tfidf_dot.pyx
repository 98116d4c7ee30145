# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Log-odds of TF-IDF rows without building them: counts, sublinear TF-IDF, family and row norms
and the product with the heads' weights, one message at a time in compiled code.

The same arithmetic as `TokenFeaturizer.weight` followed by `X @ coef` (float32 weights, float64
norms); only the order of the additions differs (a test bounds the difference).
"""

from libc.math cimport logf, sqrt

from libc.stdint cimport int32_t, int64_t

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define HF_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define HF_PREFETCH(p) ((void)0)
    #endif
    """
    void HF_PREFETCH(const void *p) nogil

ctypedef fused index_t:  # the hits matrix's index arrays (int32 from `_hits`; int64 when it is larger)
    int32_t
    int64_t

ctypedef fused count_t:  # the counts scratch: float, or uint16 when every hit and spread value is 1
    float
    unsigned short

cdef enum:
    MAX_FAMILIES = 8
    MAX_HEADS = 16


def decision(const index_t[::1] t_ptr, const index_t[::1] t_idx, const float[::1] t_data,
             const int64_t[::1] s_ptr, const int32_t[::1] s_idx, const float[::1] s_data,
             const float[:, ::1] table, const signed char[::1] family, const double[::1] family_weights,
             bint sublinear, bint family_norm, double[:, ::1] out, count_t[::1] counts_work,
             int32_t[::1] touched_work):
    """out[r, h] = (weighted, normalised row r of T @ S) . coef[:, h], for every message r of the
    hits matrix T (CSR) and the spread matrix S (CSR: hit -> features); table[f] = (idf, coef[f]).

    `counts_work` (zeros) and `touched_work` are scratch space of one entry per feature, kept by the
    caller between calls (one pair per thread); `counts_work` is all zeros again on return. As
    uint16 (half the memory traffic), each hit adds 1 whatever `t_data` and `s_data` say: only for
    hits and spread values that are all 1, and rows of fewer than 65,535 hits (the caller checks)."""
    cdef Py_ssize_t n_rows = t_ptr.shape[0] - 1
    cdef Py_ssize_t n_hits = t_idx.shape[0]
    cdef Py_ssize_t n_feat = table.shape[0]
    cdef Py_ssize_t n_heads = table.shape[1] - 1
    cdef Py_ssize_t n_fam = family_weights.shape[0]
    if n_heads > MAX_HEADS or n_fam > MAX_FAMILIES:
        raise ValueError("too many heads or feature families for the compiled kernel")
    if (out.shape[0] != n_rows or out.shape[1] != n_heads or family.shape[0] != n_feat
            or counts_work.shape[0] != n_feat or touched_work.shape[0] != n_feat):
        raise ValueError("shape mismatch")
    cdef count_t* counts = &counts_work[0]
    cdef int32_t* touched = &touched_work[0]
    cdef Py_ssize_t r, j, k, f, h, n_touched, fam
    cdef float c, v, w
    cdef float factor[MAX_FAMILIES]
    cdef double sqf[MAX_FAMILIES]
    cdef double acc[MAX_FAMILIES * MAX_HEADS]
    cdef double scale[MAX_FAMILIES]
    cdef double sq, inv, z
    with nogil:
        for r in range(n_rows):
            n_touched = 0
            for j in range(t_ptr[r], t_ptr[r + 1]):
                w = t_data[j]
                f = t_idx[j]
                if j + 8 < n_hits:  # memory latency, not arithmetic, is the cost: fetch ahead
                    HF_PREFETCH(&s_ptr[t_idx[j + 8]])
                if j + 4 < n_hits:
                    HF_PREFETCH(&s_idx[s_ptr[t_idx[j + 4]]])
                for k in range(s_ptr[f], s_ptr[f + 1]):
                    if counts[s_idx[k]] == 0:
                        touched[n_touched] = s_idx[k]
                        n_touched += 1
                        HF_PREFETCH(&table[s_idx[k], 0])  # read in the second loop
                    if count_t is float:
                        counts[s_idx[k]] += w * s_data[k]
                    else:
                        counts[s_idx[k]] += 1
            for fam in range(n_fam):
                sqf[fam] = 0.0
                for h in range(n_heads):
                    acc[fam * MAX_HEADS + h] = 0.0
            for j in range(n_touched):
                f = touched[j]
                c = <float> counts[f]
                counts[f] = 0
                v = table[f, 0]
                if sublinear:
                    if c != 1.0:
                        v = v * (logf(c) + 1.0)
                else:
                    v = v * c
                fam = family[f] if family_norm else 0
                sqf[fam] += <double> (v * v)
                for h in range(n_heads):
                    acc[fam * MAX_HEADS + h] += <double> v * table[f, h + 1]
            if family_norm:
                sq = 0.0
                for fam in range(n_fam):
                    scale[fam] = family_weights[fam] / sqrt(sqf[fam] if sqf[fam] > 1e-12 else 1e-12)
                    sq += scale[fam] * scale[fam] * sqf[fam]
                inv = 1.0 / sqrt(sq if sq > 1e-30 else 1e-30) if sq > 0 else 1.0
                for fam in range(n_fam):
                    factor[fam] = <float> (scale[fam] * inv)
            else:
                sq = sqf[0]
                factor[0] = <float> (1.0 / sqrt(sq if sq > 1e-30 else 1e-30) if sq > 0 else 1.0)
            for h in range(n_heads):
                z = 0.0
                for fam in range(n_fam if family_norm else 1):
                    z += factor[fam] * acc[fam * MAX_HEADS + h]
                out[r, h] = z
