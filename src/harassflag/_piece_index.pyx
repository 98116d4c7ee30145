# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""str -> int index for the scoring hot path (`pieces.PieceTable`): every space-separated piece of
a batch's text looked up in one compiled pass over the text, without making a str per piece.

Open addressing over two 64-bit hashes of each piece's characters (FNV-1a and a multiply-xorshift
hash, both over code points, so a piece hashes the same inside any string). A slot holds both
hashes and the value, not the key, so a look-up reads one slot; two different pieces are taken as
equal only if both hashes agree (for a table of a million pieces, the chance that any look-up in a
year of heavy traffic does so is far below that of a memory error).
"""

from cpython.object cimport PyObject
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free

cdef extern from "Python.h":
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject* o)
    int PyUnicode_KIND(PyObject* o)
    void* PyUnicode_DATA(PyObject* o)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t i) nogil


ctypedef struct Slot:
    uint64_t a      # FNV-1a of the piece (0 marks an empty slot: a hash of 0 is stored as 1)
    uint64_t b      # multiply-xorshift hash of the piece
    int64_t value


cdef inline void _hash(int kind, void* data, Py_ssize_t start, Py_ssize_t end,
                       uint64_t* a_out, uint64_t* b_out) noexcept nogil:
    cdef uint64_t a = 14695981039346656037ULL
    cdef uint64_t b = 0x2545F4914F6CDD1DULL
    cdef uint64_t c
    cdef Py_ssize_t i
    for i in range(start, end):
        c = PyUnicode_READ(kind, data, i)
        a = (a ^ c) * 1099511628211ULL
        b = (b ^ c) * 0x9E3779B97F4A7C15ULL
        b ^= b >> 29
    a_out[0] = a if a != 0 else 1
    b_out[0] = b


cdef class PieceIndex:
    """A growing piece -> int64 index answering all the pieces of a text at once."""

    cdef Slot* slots
    cdef Py_ssize_t mask
    cdef Py_ssize_t count

    def __cinit__(self):
        self.mask = 1023
        self.count = 0
        self.slots = <Slot*> calloc(self.mask + 1, sizeof(Slot))
        if self.slots == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.slots)

    def __len__(self):
        return self.count

    cdef void _put(self, uint64_t a, uint64_t b, int64_t value) noexcept:
        cdef Py_ssize_t i = <Py_ssize_t> (a & <uint64_t> self.mask)
        while self.slots[i].a != 0:
            if self.slots[i].a == a and self.slots[i].b == b:
                self.slots[i].value = value
                return
            i = (i + 1) & self.mask
        self.slots[i].a = a
        self.slots[i].b = b
        self.slots[i].value = value
        self.count += 1

    def add(self, str key, int64_t value) -> None:
        """Set `key`'s value."""
        cdef Slot* old
        cdef Py_ssize_t n, j
        cdef uint64_t a, b
        if 2 * (self.count + 1) > self.mask + 1:  # keep the load at most 1/2
            old, n = self.slots, self.mask + 1
            self.slots = <Slot*> calloc(2 * n, sizeof(Slot))
            if self.slots == NULL:
                self.slots = old
                raise MemoryError()
            self.mask = 2 * n - 1
            self.count = 0
            for j in range(n):
                if old[j].a != 0:
                    self._put(old[j].a, old[j].b, old[j].value)
            free(old)
        _hash(PyUnicode_KIND(<PyObject*> key), PyUnicode_DATA(<PyObject*> key), 0,
              PyUnicode_GET_LENGTH(<PyObject*> key), &a, &b)
        self._put(a, b, value)

    def lookup_pieces(self, str text, int64_t[::1] out, int64_t[::1] starts) -> int:
        """For the pieces of `text.split(" ")` (as many as `out` has entries): out[k] = piece k's
        value or -1, starts[k] = where it starts in `text` (starts[-1] = len(text) + 1); returns
        how many pieces had no value."""
        cdef PyObject* t = <PyObject*> text
        cdef int kind = PyUnicode_KIND(t)
        cdef void* data = PyUnicode_DATA(t)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(t)
        cdef Py_ssize_t n_pieces = out.shape[0]
        cdef Py_ssize_t k = 0, pos = 0, end, i, missing = 0
        cdef uint64_t a, b
        if starts.shape[0] != n_pieces + 1:
            raise ValueError("starts must have one entry more than out")
        # (the GIL is held: `add`, which may move the slots, cannot run meanwhile)
        while k < n_pieces:
            end = pos
            while end < n and PyUnicode_READ(kind, data, end) != 32:
                end += 1
            starts[k] = pos
            _hash(kind, data, pos, end, &a, &b)
            i = <Py_ssize_t> (a & <uint64_t> self.mask)
            while True:
                if self.slots[i].a == a and self.slots[i].b == b:
                    out[k] = self.slots[i].value
                    break
                if self.slots[i].a == 0:
                    out[k] = -1
                    missing += 1
                    break
                i = (i + 1) & self.mask
            k += 1
            pos = end + 1
            if end >= n:
                break
        if k != n_pieces or pos != n + 1:
            raise ValueError("out must have one entry per piece of text.split(' ')")
        starts[n_pieces] = n + 1
        return missing
