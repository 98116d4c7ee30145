"""The scoring path's lookup tables: the integer hash of word pairs and the unseen-token table."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp

from harassflag.lookup import IntHash, UnseenTokens, concat_rows, expand, sparse_product


@pytest.mark.parametrize("n", [0, 1, 7, 5_000])
def test_int_hash_answers_like_a_dict_for_keys_in_and_out_of_it(n) -> None:
    rng = np.random.default_rng(n)
    keys = rng.choice(10**12, size=n, replace=False)
    values = rng.integers(0, 2**31 - 1, size=n)
    table = IntHash(keys, values)
    # keys in the table, keys that are not, and keys crowded into a few slots (collisions)
    queries = np.concatenate([keys, rng.integers(0, 10**12, 3_000), keys[: n // 2] + 1, np.arange(200)])
    expected = {int(k): int(v) for k, v in zip(keys, values)}
    assert table.get(queries).tolist() == [expected.get(int(q), -1) for q in queries.tolist()]


def test_int_hash_refuses_negative_keys() -> None:
    with pytest.raises(ValueError):
        IntHash(np.array([3, -1]), np.array([0, 1]))


def _describe(token: str) -> tuple[list[int], tuple[int, ...]]:
    return [len(token), ord(token[0])], ((1,) if token.startswith("x") else ())


def test_unseen_tokens_keep_their_ids_and_rows_as_the_table_grows() -> None:
    table = UnseenTokens(100, {"known": 5}, _describe)
    first = table.ids(["known", "xa", "bb", "xa"]).tolist()
    assert first == [5, 100, 101, 100]
    later = table.ids([f"t{i}" for i in range(5_000)] + ["bb"])  # grows the ragged arrays
    assert later[-1] == 101 and later[0] == 102
    owner, static = expand(table.static.ptr, table.static.values, np.array([0, 1, 5_001]))
    assert owner.tolist() == [0, 0, 1, 1, 2, 2]
    assert static.tolist() == [2, ord("x"), 2, ord("b"), 5, ord("t")]
    _, lexicon = expand(table.lexicon.ptr, table.lexicon.values, np.array([0, 1]))
    assert lexicon.tolist() == [1]


def test_unseen_tokens_added_from_many_threads_get_one_id_each() -> None:
    table = UnseenTokens(0, {}, _describe)
    words = [f"w{i}" for i in range(3_000)]
    results: list[list[int]] = []

    def work(seed: int) -> None:
        order = list(np.random.default_rng(seed).permutation(words))
        ids = table.ids(order).tolist()
        results.append([ids[order.index(w)] for w in words[:50]])

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(table.index) == 3_000
    assert all(r == results[0] for r in results)
    ids = table.ids(words).tolist()
    _, static = expand(table.static.ptr, table.static.values, np.array(ids))
    assert static[1::2].tolist() == [ord("w")] * 3_000
    assert static[0::2].tolist() == [len(w) for w in words]


@pytest.mark.parametrize("density", [0.0, 0.001, 0.05])
def test_sparse_product_in_one_pass_equals_scipys(density) -> None:
    rng = np.random.default_rng(3)
    a = sp.random(300, 500, density=density, format="csr", dtype=np.float32, random_state=rng)
    a.data[:] = rng.integers(1, 4, a.nnz)
    a = sp.csr_matrix(a.multiply(np.arange(300)[:, None] % 7 != 5))  # some empty rows
    b = sp.random(500, 800, density=0.02, format="csr", dtype=np.float32, random_state=rng)
    got, expected = sparse_product(a, b), a @ b
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert abs(got - expected).max() == 0 and got.nnz == expected.nnz
    assert sparse_product(a, b, np.diff(b.indptr)).nnz == expected.nnz


@pytest.mark.parametrize("n", [0, 1, 7, 5_000])
def test_int_hash_with_small_keys_answers_like_a_dict(n) -> None:
    """Keys below 2**31 are packed with their values; lookups answer as for any other keys."""
    rng = np.random.default_rng(n + 1)
    keys = rng.choice(2**31 - 1, size=n, replace=False)
    values = rng.integers(0, 2**31 - 1, size=n)
    table = IntHash(keys, values)
    queries = np.concatenate([keys, rng.integers(0, 2**31 - 1, 3_000), keys[: n // 2] + 1, np.arange(200)])
    expected = {int(k): int(v) for k, v in zip(keys, values)}
    assert table.get(queries).tolist() == [expected.get(int(q), -1) for q in queries.tolist()]
    assert table.get(queries, default=-7).tolist() == [expected.get(int(q), -7) for q in queries.tolist()]


def test_concat_rows_gives_the_rows_values_in_order() -> None:
    rng = np.random.default_rng(2)
    lengths = rng.integers(0, 4, 50)
    ptr = np.concatenate([[0], np.cumsum(lengths)])
    values = rng.integers(0, 100, int(ptr[-1]))
    for rows in (np.array([], dtype=np.int64), np.array([3]), rng.integers(0, 50, 200)):
        assert concat_rows(ptr, values, rows).tolist() == expand(ptr, values, rows)[1].tolist()
        assert concat_rows(ptr, values, rows).tolist() == [v for r in rows for v in values[ptr[r] : ptr[r + 1]]]
