"""The batched explanation path (`Model.explain_ids`, `token_spans`) equals the per-message one."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from harassflag import HEADS, load_model
from harassflag import model as model_module
from harassflag.batch.writer import encode_columns
from harassflag.model import WINDOW_TOKENS
from harassflag.spans import token_spans, token_spans_many
from harassflag.text import normalize_text, token_strings

TRICKY = [
    "sam you are an idiot",
    "sam y0u are an id10t",
    "sam you are an id\u200biot",
    "\u200b\u200bsam you are an idiot",
    "sam you are an ｉｄｉｏｔ",
    "sam you are an i d i o t and a f.u.c.k.i.n.g loser",
    "😂😂 sam you are an idiot 😂",
    "tom &amp; sam you are an idiot",
    "@bob you are an \u0456d\u0456\u043et",
    "sam   you\tare\n\nan  idiot  ",
    "ｓａｍ\u3000ｙｏｕ\u3000ａｒｅ\u3000ａｎ\u3000ｉｄｉｏｔ",
    "you are such a loser!!! shut up... nobody wants you here?!",
    "good game",
    "",
    "\u200b\x00",
    "idiot " * 80 + "the end.",
    ("the weather report said rain tomorrow. " * 12) + "sam you are a worthless idiot",
]


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def texts(shared_datasets) -> list[str]:
    """3,000 mirrored tweets, some joined into long (windowed) messages, and the odd cases above."""
    tweets = (shared_datasets / "tweeteval" / "offensive" / "train_text.txt").read_text(
        encoding="utf-8").splitlines()[:3000]
    long = [" ".join(tweets[i : i + 6]) for i in range(0, 600, 6)]
    return tweets + long + TRICKY


def test_token_spans_equal_normalize_text_spans(texts) -> None:
    for text in texts:
        tt = normalize_text(text)
        expected = [tt.original_span(t) for t in tt.tokens]
        assert token_spans(text, range(len(tt.tokens))) == expected, text


@pytest.mark.parametrize("top", [1, 5])
@pytest.mark.parametrize("scored", [False, True], ids=["ids only", "after score_ids"])
@pytest.mark.parametrize("long", [False, True], ids=["short", "with long"])
def test_explain_ids_equals_explain_for_every_head(model, texts, top, scored, long) -> None:
    """Explained from the token ids alone, or from the rows `score_ids` made and kept."""
    if not long:
        texts = [t for t in texts if len(token_strings(t)) <= WINDOW_TOKENS]
    tok = model.token_ids(texts)
    if scored:
        model.score_ids(tok, keep_rows=True)
        assert tok.hits is not None
    rows = list(range(len(texts)))
    heads = [HEADS[i % len(HEADS)] for i in rows]  # one batch, mixed heads
    got = model.explain_ids(texts, tok, rows, heads, top=top)
    assert any(got), "the tiny model explains some of these"
    assert not long or any(len(t.split()) > 64 and g for t, g in zip(texts, got)), "long ones covered"
    for text, head, spans in zip(texts, heads, got):
        assert spans == model.explain(text, head=head, top=top), (head, text)


def test_explain_ids_of_some_rows_in_any_order(model, texts) -> None:
    tok = model.token_ids(texts)
    rows = list(range(len(texts) - 1, -1, -7))
    got = model.explain_ids(texts, tok, rows, ["harassment"] * len(rows))
    assert got == model.explain_batch([texts[i] for i in rows], head="harassment")
    assert model.explain_ids(texts, tok, [], []) == []


def test_explain_ids_rejects_unknown_heads_and_mismatched_lengths(model) -> None:
    tok = model.token_ids(["x"])
    with pytest.raises(ValueError, match="head"):
        model.explain_ids(["x"], tok, [0], ["nope"])
    with pytest.raises(ValueError, match="rows"):
        model.explain_ids(["x"], tok, [0], [])


ASCII_EDGES = [
    "f u c k you", "you f.u.c.k", "I a b c", "a b", "a  b c d", "x\ty z", "x\ny\r\nz", "tom &amp; sam",
    "tom & sam", "a\x01b c", "\x1ex y z", "x\x0by z", "u.s.a. is big", "k-i-l-l", "a_b_c", "1 2 3 4",
    "_a b c", "(f u c k)", "  leading", "trailing  ", "", " ", "idiot" * 40, "a-b-c d e f", "w.w.w x",
]


def test_token_spans_many_equal_token_spans(texts) -> None:
    """Any positions of each message, in any order, some messages with none, ASCII or not."""
    rng = random.Random(3)
    batch = ASCII_EDGES + texts + ASCII_EDGES
    positions, sizes = [], []
    for text in batch:
        n = len(normalize_text(text).tokens)
        ks = rng.sample(range(n), min(n, rng.randint(0, 7)))
        positions += ks
        sizes.append(len(ks))
    starts, ends = token_spans_many(batch, positions, sizes)
    expected, a = [], 0
    for text, size in zip(batch, sizes):
        expected += token_spans(text, positions[a : a + size])
        a += size
    assert list(zip(starts, ends)) == expected
    assert token_spans_many([], [], []) == ([], [])
    assert token_spans_many(["a b"], [], [0]) == ([], [])
    with pytest.raises(ValueError, match="positions"):
        token_spans_many(["a b"], [0], [2])


def test_token_contributions_compiled_equal_numpy_bit_for_bit(model, texts) -> None:
    """The compiled routine adds the same shares in the same order as numpy: equal floats."""
    if model_module._explain is None and os.environ.get("HARASSFLAG_NO_SKIP") != "1":
        pytest.skip("harassflag's compiled parts are not built here")
    fz = model.featurizer
    tok = model.token_ids(texts)
    counts = fz._counts_ids(tok.ids, tok.lengths, tok.table)
    x = fz.weight(counts)
    pos, fid, row_of = fz.token_feature_pairs_ids(tok.ids, tok.lengths, tok.table)
    heads = np.arange(len(texts)) % len(model.heads)
    for h in (heads, 1):
        compiled = model._token_contributions(counts, x, pos, fid, row_of, h)
        plain = model._token_contributions(counts, x, pos, fid, row_of, h, compiled=False)
        assert (compiled > 0).sum() > 1000 and np.array_equal(compiled, plain)


def test_explain_ids_without_the_compiled_routine(model, texts, monkeypatch) -> None:
    tok = model.token_ids(texts)
    rows = list(range(len(texts)))
    heads = [HEADS[i % len(HEADS)] for i in rows]
    compiled = model.explain_ids(texts, tok, rows, heads)
    monkeypatch.setattr(model_module, "_explain", None)
    assert model.explain_ids(texts, tok, rows, heads) == compiled


def test_explanation_weights_are_written_as_rounded_to_6_places(model, texts) -> None:
    """The writer writes the weights as they come: rounded to 4 places, which rounding to 6 keeps."""
    spans = model.explain_ids(texts, model.token_ids(texts), range(len(texts)), ["harassment"] * len(texts))
    weights = [s.weight for row in spans for s in row]
    assert len(weights) > 1000
    assert all(type(w) is float and round(w, 4) == w and round(w, 6) == w for w in weights)
    every = (np.arange(-200_000, 200_001) / 1e4).tolist()  # every 4-place value up to +-20
    assert all(round(w, 6) == w for w in every)
    out = encode_columns("parquet", {"explanation": spans, "targets": [()] * len(spans)}, ["explanation"])
    assert [[d["weight"] for d in row] for row in out["explanation"]] == [[s.weight for s in r] for r in spans]


def test_the_compiled_explanation_routine_is_built() -> None:
    if model_module._explain is None and os.environ.get("HARASSFLAG_NO_SKIP") != "1":
        pytest.skip("harassflag's compiled parts are not built here")
    assert model_module._explain is not None


@pytest.mark.parametrize("top", [0, 1, 3, 5, 100, 10**15])
def test_top_positions_compiled_equal_numpy(top) -> None:
    """Ties of the rounded weight (many here) go to the earlier position; non-positive never picked."""
    if model_module._explain is None and os.environ.get("HARASSFLAG_NO_SKIP") != "1":
        pytest.skip("harassflag's compiled parts are not built here")
    rng = np.random.default_rng(top)
    lengths = rng.integers(0, 30, 500)
    contrib = np.round(rng.normal(0, 0.3, int(lengths.sum())), 3) + rng.normal(0, 1e-5, int(lengths.sum()))
    contrib[::7] = 0.0
    contrib[::11] = np.nan
    first = np.concatenate([[0], np.cumsum(lengths)])
    row_of = np.repeat(np.arange(lengths.size), lengths)
    compiled = model_module.Model._top_positions(contrib, first, row_of, top)
    plain = model_module.Model._top_positions(contrib, first, row_of, top, compiled=False)
    assert compiled.tolist() == plain.tolist() and (compiled.size > 0) == (top > 0)
