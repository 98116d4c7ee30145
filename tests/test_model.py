"""The scoring API (issue 2, sections 4 and 6) on a real tiny model."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import synthetic_set
from harassflag import HEADS, Score, Span, features, load_model, pieces
from harassflag.artifact import save_model
from harassflag.model import (SEGMENT_STRIDE, SEGMENT_TOKENS, WINDOW_TOKENS, distinct_segments,
                             segment_bounds, segments_at, windows)
from harassflag.text import token_strings
from harassflag.train import TrainOptions, fit_model

INSULT = "sam you are a worthless idiot"
FILLER = "the weather report said rain tomorrow in the north of the county"
TINY_OPTIONS = {"c_grid": (1.0, 4.0), "featurizer": {"min_df": 1}, "n_jobs": 1}


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir)


# -- the shape of a result -----------------------------------------------------------------------

def test_score_accepts_a_single_string(model) -> None:
    one = model.score("you are an idiot")
    assert isinstance(one, list) and len(one) == 1 and isinstance(one[0], Score)
    assert one == model.score(["you are an idiot"])


def test_score_accepts_a_list_and_keeps_order(model) -> None:
    texts = ["you are an idiot", "good game", "all women are stupid and should leave"]
    batch = model.score(texts)
    assert [r.scores for r in batch] == [model.score(t)[0].scores for t in texts]


def test_score_accepts_a_tuple_and_an_empty_list(model) -> None:
    assert len(model.score(("a", "b"))) == 2
    assert model.score([]) == []


def test_every_head_is_scored(model) -> None:
    (r,) = model.score("you are an idiot")
    assert set(r.scores) == set(HEADS) == set(r.categories)
    assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in r.scores.values())
    assert all(isinstance(c, bool) for c in r.categories.values())
    assert isinstance(r.flagged, bool)


def test_score_is_frozen(model) -> None:
    (r,) = model.score("hi")
    with pytest.raises(AttributeError):
        r.flagged = True  # type: ignore[misc]


def test_the_tiny_model_tells_harassment_from_banter(model) -> None:
    harass, banter, hate = model.score(["alex you are a moron", "great game alex", "all muslims are ugly and should leave"])
    assert harass.categories["harassment"] and harass.flagged
    assert not banter.flagged
    assert hate.categories["hate"] and hate.flagged


# -- decisions follow thresholds and policy --------------------------------------------------------

TEXTS = ["you are an idiot", "good game", "this game is fucking broken", "all immigrants are pathetic",
         "kim i will hurt you", "i am such a loser today lol", "", "😂"]


def test_categories_follow_per_head_thresholds(model) -> None:
    th = model.thresholds
    assert set(th) == set(HEADS)
    assert th == model.manifest["thresholds"]
    for r in model.score(TEXTS):
        assert r.categories == {h: r.scores[h] >= th[h] for h in HEADS}


def test_flagged_is_harassment_or_hate_by_default(model) -> None:
    assert model.manifest["flag_heads"] == ["harassment", "hate"]
    assert model.flag_heads == ("harassment", "hate")
    for r in model.score(TEXTS):
        assert r.flagged == (r.categories["harassment"] or r.categories["hate"])


def test_offensive_alone_does_not_flag(model) -> None:
    (r,) = model.score("this game is fucking broken")
    assert r.categories["offensive"] and not r.categories["harassment"] and not r.categories["hate"]
    assert not r.flagged


def test_flag_policy_in_the_manifest_changes_which_heads_flag(model, tiny_model_dir, tmp_path) -> None:
    copy = tmp_path / "offensive-policy"
    shutil.copytree(tiny_model_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["flag_heads"] = ["offensive"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    strict = load_model(copy)
    assert strict.flag_heads == ("offensive",)
    (r,) = strict.score("this game is fucking broken")
    assert r.flagged
    for r in strict.score(TEXTS):
        assert r.flagged == r.categories["offensive"]


def test_flag_policy_from_train_options() -> None:
    m = fit_model(synthetic_set(), None, TrainOptions(flag_heads=("offensive",), **TINY_OPTIONS))
    assert m.flag_heads == ("offensive",)
    assert m.score("this game is fucking broken")[0].flagged


# -- bad and odd input -----------------------------------------------------------------------------

@pytest.mark.parametrize(("items", "index", "kind"), [
    (["ok", None], 1, "NoneType"), ([1], 0, "int"), (["a", "b", b"c"], 2, "bytes"), (["a", ["b"]], 1, "list"),
])
def test_non_string_item_raises_type_error_naming_its_index(model, items, index, kind) -> None:
    with pytest.raises(TypeError, match=rf"\b{index}\b.*{kind}"):
        model.score(items)
    with pytest.raises(TypeError, match=rf"\b{index}\b"):
        model.score_matrix(items)


@pytest.mark.parametrize("bad", [None, 42, 3.5])
def test_a_non_text_argument_raises_type_error(model, bad) -> None:
    with pytest.raises(TypeError):
        model.score(bad)


@pytest.mark.parametrize("text", ["", " ", "😂😂😂", "🤦🏾\u200d♀️", "\ud800", "a\udfffb", "\x00", "idiot\x00",
                                  "\u200b\u200b", "&amp;", "\t\n", "a" * 5000])
def test_odd_text_scores_normally(model, text) -> None:
    (r,) = model.score(text)
    assert set(r.scores) == set(HEADS)
    assert all(np.isfinite(p) and 0.0 <= p <= 1.0 for p in r.scores.values())


def test_empty_and_invisible_text_score_like_each_other(model) -> None:
    rs = model.score(["", "\u200b", "\x00"])
    assert rs[0] == rs[1] == rs[2]
    assert not rs[0].flagged


def test_obfuscated_insult_scores_like_the_plain_one(model) -> None:
    plain, *variants = model.score(["sam you are an idiot", "sam y0u are an id10t", "sam you are an i d i o t",
                                    "ｓａｍ ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ", "sam you are an id\u200biot",
                                    "sam you are an \u0456d\u0456\u043et", "SAM YOU ARE AN IDIOTTTTT"])
    for v in variants:
        assert v.scores == pytest.approx(plain.scores)


# -- explanations point into the original text ----------------------------------------------------

@pytest.mark.parametrize("text", [
    "sam you are an idiot",
    "sam y0u are an id10t",
    "sam you are an id\u200biot",
    "\u200b\u200bsam you are an idiot",
    "sam you are an ｉｄｉｏｔ",
    "sam you are an i d i o t",
    "😂😂 sam you are an idiot 😂",
    "tom &amp; sam you are an idiot",
    "@bob you are an \u0456d\u0456\u043et",
])
def test_explain_spans_are_substrings_of_the_original_text(model, text) -> None:
    spans = model.explain(text)
    assert spans, "an insult has at least one positive span"
    for s in spans:
        assert isinstance(s, Span)
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.term
        assert s.weight > 0
    assert [s.weight for s in spans] == sorted((s.weight for s in spans), reverse=True)


@pytest.mark.parametrize("text", ["sam you are an ｉｄｉｏｔ", "sam you are an i d i o t", "sam y0u are an id\u200biot"])
def test_explain_highlights_the_obfuscated_insult(model, text) -> None:
    terms = {token_strings(s.term)[0] for s in model.explain(text, top=20)}
    assert "idiot" in terms


def test_explain_spans_are_single_tokens_in_fullwidth_text(model) -> None:
    text = "ｓａｍ\u3000ｙｏｕ\u3000ａｒｅ\u3000ａｎ\u3000ｉｄｉｏｔ"  # fullwidth words, ideographic spaces
    for s in model.explain(text):
        assert len(token_strings(s.term)) == 1, s


def test_explain_rejects_an_unknown_head_and_non_text(model) -> None:
    with pytest.raises(ValueError, match="head"):
        model.explain("x", head="nope")
    with pytest.raises(TypeError):
        model.explain(None)  # type: ignore[arg-type]


def test_explain_of_harmless_and_empty_text(model) -> None:
    assert model.explain("") == []
    assert model.explain("\u200b\x00") == []
    for s in model.explain("😂 good game"):
        assert "😂 good game"[s.start : s.end] == s.term


def test_explain_batch_matches_explain(model) -> None:
    texts = ["sam you are an idiot", "good game"]
    assert model.explain_batch(texts, top=3) == [model.explain(t, top=3) for t in texts]


def test_rounded_equals_python_round_on_halfway_and_random_values() -> None:
    from harassflag.model import rounded

    rng = np.random.default_rng(0)
    halves = (rng.integers(-(10**6), 10**6, 20_000) + 0.5) / 1e4  # k.5 · 10^-4: ties (as written)
    values = np.concatenate([
        rng.random(20_000) * 3, rng.standard_normal(20_000) * 1e-3, halves,
        np.nextafter(halves, np.inf), np.nextafter(halves, -np.inf), rng.random(1000) * 1e16,
        np.array([0.0, -0.0, 1e-300, 5e-5, 0.00015, 2.675, np.inf, -np.inf]),
    ])
    assert rounded(values, 4) == [round(float(v), 4) for v in values]
    assert rounded(values[:1000], 6) == [round(float(v), 6) for v in values[:1000]]
    assert all(np.isnan(rounded(np.array([np.nan]), 4)))


def test_token_features_add_up_to_the_message_counts(model) -> None:
    """Explanations attribute exactly the features scoring counts (all but the message-level flags)."""
    import scipy.sparse as sp

    fz = model.featurizer
    rows = [token_strings(t) for t in [
        "sam you are an idiot", "you are not a loser lol", "I'm such an idiot", "good game",
        "@kim zzqxw unseenword you f*cking moron", "", "he said \"you idiot\" to me"]]
    counts = fz._counts(rows).toarray()
    pos, fid, row_of = fz.token_feature_pairs(rows)
    assert row_of.size == sum(len(r) for r in rows)
    summed = sp.coo_matrix((np.ones(pos.size), (row_of[pos], fid)), shape=counts.shape).toarray()
    counts[:, fz.global_offset_:] = 0
    np.testing.assert_array_equal(summed, counts)


def test_explain_finds_the_insult_at_the_end_of_a_long_text(model) -> None:
    text = " ".join([FILLER] * 200) + ". " + INSULT
    terms = [s.term for s in model.explain(text, top=8)]
    assert "idiot" in terms or "worthless" in terms
    for s in model.explain(text):
        assert text[s.start : s.end] == s.term and s.start > len(text) - 200


# -- long messages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, WINDOW_TOKENS, WINDOW_TOKENS + 1, 97, 100, 1000, 1001])
def test_windows_cover_every_token_and_stay_bounded(n) -> None:
    toks = [str(i) for i in range(n)]
    ws = windows(toks)
    assert all(len(w) <= WINDOW_TOKENS for w in ws)
    covered = {t for w in ws for t in w}
    assert covered == set(toks)
    # long messages are scored per sentence or per window of SEGMENT_TOKENS (stride SEGMENT_STRIDE)
    assert len(ws) <= max(1, n // SEGMENT_STRIDE + 1)


@pytest.mark.parametrize("repeats", [10, 100, 1000])
def test_insult_at_the_end_of_a_long_harmless_text_is_not_outvoted(model, repeats) -> None:
    alone = model.score(INSULT)[0]
    assert alone.categories["harassment"]
    long = model.score(" ".join([FILLER] * repeats) + ". " + INSULT)[0]
    assert long.scores["harassment"] >= 0.5 * alone.scores["harassment"]
    assert long.categories["harassment"] and long.flagged


def test_a_long_harmless_text_is_not_flagged(model) -> None:
    assert not model.score(" ".join([FILLER] * 1000))[0].flagged


def test_long_and_short_messages_in_one_batch_score_as_they_do_alone(model) -> None:
    long_text = " ".join([FILLER] * 50) + ". " + INSULT
    batch = ["gg everyone", long_text, INSULT, "", long_text.upper(), "see you tomorrow"]
    together = model.score_matrix(batch)
    alone = np.vstack([model.score_matrix([t]) for t in batch])
    assert np.abs(together - alone).max() <= 1e-9
    assert together[1, model.heads.index("harassment")] > together[0, model.heads.index("harassment")]


@pytest.mark.parametrize("text", [
    " ".join([FILLER] * 30) + ". " + INSULT,
    (FILLER + "! ") * 12 + INSULT + " ... " + "zqxj unseenword " * 40 + "?",
    " ".join(["word"] * 200),
    # enough segments (DEDUPE_SEGMENTS) for repeated ones to be scored once
    " ".join([FILLER] * 600) + ". " + INSULT + ". " + " ".join([FILLER] * 100),
])
def test_a_long_message_scores_as_the_maximum_over_the_windows_of_its_tokens(model, text) -> None:
    """Scoring cuts long messages into windows on token ids; they are the windows of its tokens."""
    rows = windows(token_strings(text))
    assert len(rows) > 1
    expected = model.calibrate(model.decision_rows(rows)).max(axis=0)
    assert np.abs(model.score_matrix([text])[0] - expected).max() <= 1e-12


def test_a_one_megabyte_message_scores_in_bounded_time(model, record_property) -> None:
    text = (FILLER + " ") * (1_000_000 // (len(FILLER) + 1) + 1)
    text = text[:1_000_000]
    t0 = time.perf_counter()
    (r,) = model.score(text)
    seconds = time.perf_counter() - t0
    record_property("score_1mb_seconds", round(seconds, 3))
    print(f"1 MB message scored in {seconds:.2f}s")
    assert set(r.scores) == set(HEADS)
    assert seconds < 30
    t0 = time.perf_counter()
    model.explain(text)
    assert time.perf_counter() - t0 < 30


def test_a_message_beyond_the_read_limit_still_scores(model) -> None:
    (r,) = model.score("x " * 1_500_000)
    assert set(r.scores) == set(HEADS)


# -- the fast path and determinism -----------------------------------------------------------------

def test_score_matrix_equals_score(model) -> None:
    texts = TEXTS + [" ".join([FILLER] * 50) + INSULT]
    m = model.score_matrix(texts)
    assert m.shape == (len(texts), len(HEADS)) and m.dtype == np.float64
    assert list(model.heads) == list(HEADS)
    for row, r in zip(m, model.score(texts)):
        assert [r.scores[h] for h in HEADS] == row.tolist()


def test_score_matrix_of_nothing(model) -> None:
    assert model.score_matrix([]).shape == (0, len(HEADS))


def test_batch_scores_equal_single_scores(model) -> None:
    batch = model.score_matrix(TEXTS)
    singles = np.vstack([model.score_matrix([t]) for t in TEXTS])
    np.testing.assert_allclose(batch, singles, rtol=1e-6, atol=1e-9)


def test_training_twice_gives_identical_scores_and_artifact(tmp_path) -> None:
    probe = TEXTS + ["alex you are a clown", "all women are worthless", "see you tomorrow jo"]
    a = fit_model(synthetic_set(), None, TrainOptions(**TINY_OPTIONS))
    b = fit_model(synthetic_set(), None, TrainOptions(**TINY_OPTIONS))
    assert np.array_equal(a.score_matrix(probe), b.score_matrix(probe))
    assert a.thresholds == b.thresholds
    save_model(a, tmp_path / "a")
    save_model(b, tmp_path / "b")
    # model.joblib holds no timestamp: the same data and options give the same file
    assert a.sha256 == b.sha256
    assert (tmp_path / "a" / "model.joblib").read_bytes() == (tmp_path / "b" / "model.joblib").read_bytes()
    assert np.array_equal(load_model(tmp_path / "a").score_matrix(probe), a.score_matrix(probe))


def test_a_family_scale_of_zero_takes_that_family_out_of_one_head_only() -> None:
    plain = fit_model(synthetic_set(), None, TrainOptions(**TINY_OPTIONS, family_scale={}))
    scaled = fit_model(synthetic_set(), None, TrainOptions(**TINY_OPTIONS, family_scale={
        "harassment": (1.0, 1.0, 0.0, 1.0, 1.0, 1.0)}))
    pairs = scaled.featurizer.family_ == 2
    j = HEADS.index("harassment")
    assert pairs.any() and np.any(plain.weights.coef[pairs, j] != 0)
    assert np.all(scaled.weights.coef[pairs, j] == 0)  # the factor is folded into the saved weights
    assert np.any(scaled.weights.coef[~pairs, j] != 0)
    others = [i for i, h in enumerate(HEADS) if h != "harassment"]
    assert np.array_equal(scaled.weights.coef[:, others], plain.weights.coef[:, others])


def test_loaded_model_scores_like_the_trained_one(tmp_path) -> None:
    m = fit_model(synthetic_set(), None, TrainOptions(**TINY_OPTIONS))
    save_model(m, tmp_path / "m")
    assert np.array_equal(load_model(tmp_path / "m").score_matrix(TEXTS), m.score_matrix(TEXTS))


def test_identity_fields(model, tiny_model_dir: Path) -> None:
    assert model.name == tiny_model_dir.name
    assert model.version and model.version == model.manifest["model_version"]
    assert len(model.sha256) == 64 and model.sha256 == model.manifest["sha256"]
    assert model.sha256[:12] in repr(model)


def test_batched_scoring_equals_scoring_each_tokenised_message(model, shared_datasets) -> None:
    """The batch tokeniser + flat featurizer path gives the per-message pipeline's scores exactly."""
    texts = []
    for task in ("offensive", "hate"):
        texts += (shared_datasets / "tweeteval" / task / "train_text.txt").read_text(encoding="utf-8").splitlines()
    # one row per message (longer ones are scored in windows, on purpose differently)
    texts = [t for t in texts if len(token_strings(t)) <= WINDOW_TOKENS][:10_000]
    assert len(texts) == 10_000
    one_by_one = model.calibrate(model.decision_rows([token_strings(t) for t in texts]))
    batched = np.vstack([model.score_matrix(texts[i : i + 1000]) for i in range(0, len(texts), 1000)])
    assert np.abs(batched - one_by_one).max() <= 1e-6


# -- token ids by piece (pieces.PieceTable) --------------------------------------------------------

PIECE_EDGES = [
    "", " ", "\x01", "a\x01b", "\x1e\x1f", "\x1ex y z", "u r a l o s e r", "f u c k off", "😂", "\x00",
    "k.i.l.l you", "\u200b", "  leading", "trailing  ", "a \x01 b c d", "x " * 100, "\uffff",
    "a \uffff b", "x &#65535; y", "&amp; \uffff &lt;",
    # runs that cross pieces, and pieces that get spaces (or lose them) when cleaned
    "f\xa0u c k", "x f\xa0u\xa0y", "x f&#32;u y z", "¨a b c", "a\u3000b c", "(f u c k)", "a f u c k i n g idiot",
    "f.u.c.k u r", "i d i o t.", "a b", "a  b c", "u\u2028r a", "é f u c k", "aé\xa0о", "a\x01 b c \x01",
    "s h i t\x01", "f u\nc k", "f u\tc k", "y o u are a n i d i o t", "I a b", "(a) b c", "a-b-c d e f",
    "x\u200b y z", "f u c \u200bk", "u r a l o s e r " * 30,
]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-index", "dict"])
@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_token_ids_by_piece_are_those_of_each_messages_token_strings(model, shared_datasets, batch_size,
                                                                     compiled, monkeypatch) -> None:
    """Scoring looks token ids up per space-separated piece (in one compiled pass over the batch's
    text, or with a dict where the extension is not built); they are every message's `token_strings`."""
    if not compiled:
        monkeypatch.setattr(pieces, "PieceIndex", None)
    monkeypatch.delitem(model.featurizer.__dict__, "_pieces", raising=False)  # a fresh table
    assert (model.featurizer._piece_table().fast is not None) == compiled
    texts = []
    for task in ("offensive", "hate"):
        texts += (shared_datasets / "tweeteval" / task / "train_text.txt").read_text(encoding="utf-8").splitlines()
    texts = PIECE_EDGES + texts[:10_000] + PIECE_EDGES
    fz = model.featurizer
    for i in range(0, len(texts), batch_size):
        batch = texts[i : i + batch_size]
        tids, lengths, table = fz.ids_of_texts(batch)
        expected = [table.ids(token_strings(t)) for t in batch]
        assert lengths.tolist() == [len(e) for e in expected]
        assert tids.tolist() == np.concatenate(expected).tolist()


def _segments_one_by_one(ends: list[bool]) -> list[tuple[int, int]]:
    """The segments of a message the plain way: every sentence, long sentences in strided windows."""
    n = len(ends)
    if n <= WINDOW_TOKENS:
        return [(0, n)]
    out, start = [], 0
    for i, end_here in enumerate(ends):
        if end_here or i == n - 1:
            if i + 1 - start <= SEGMENT_TOKENS:
                out.append((start, i + 1))
            else:
                out += [(s, min(s + SEGMENT_TOKENS, i + 1)) for s in range(start, i + 1 - SEGMENT_STRIDE, SEGMENT_STRIDE)]
            start = i + 1
    return out


@pytest.mark.parametrize("p_end", [0.0, 0.01, 0.08, 0.5, 1.0])
def test_segments_of_many_messages_at_once_are_each_messages_segments(p_end) -> None:
    rng = np.random.default_rng(int(p_end * 100))
    lengths = np.concatenate([[1, WINDOW_TOKENS, WINDOW_TOKENS + 1, 2000], rng.integers(1, 400, 200)])
    ends = rng.random(int(lengths.sum())) < p_end
    starts, stops, owner = segment_bounds(ends, lengths)
    first = np.cumsum(lengths) - lengths
    got = [[] for _ in lengths]
    for a, b, m in zip(starts.tolist(), stops.tolist(), owner.tolist()):
        got[m].append((a - first[m], b - first[m]))
    expected = [_segments_one_by_one(ends[f : f + n].tolist()) for f, n in zip(first, lengths)]
    assert got == expected
    assert segments_at(ends[first[3] : first[3] + lengths[3]].tolist()) == expected[3]


def _weight_entry_by_entry(fz, counts):
    """TF-IDF weighting the plain way: each step a pass over the entries (the formula `weight` has)."""
    X = counts.copy()
    data = X.data
    np.log(data, out=data)
    data += 1.0
    data *= fz.idf_[X.indices]
    n = X.shape[0]
    rows = np.repeat(np.arange(n), np.diff(X.indptr))
    key = rows * 6 + fz.family_[X.indices]
    sqf = np.bincount(key, weights=data * data, minlength=n * 6)
    scale = np.asarray(fz.family_weights, dtype=np.float64) / np.sqrt(np.maximum(sqf, 1e-12)).reshape(n, 6)
    data *= scale.ravel()[key].astype(np.float32)
    sq = np.bincount(rows, weights=data * data, minlength=n)
    data *= np.where(sq > 0, 1.0 / np.sqrt(np.maximum(sq, 1e-30)), 1.0).astype(np.float32)[rows]
    return X


def _probs_of_rows(model, X) -> np.ndarray:
    """Probabilities of TF-IDF rows the plain way: a float64 product with the heads' weights."""
    return model.calibrate(np.asarray(X @ model._coef.astype(np.float64)) + model.weights.intercept)


def _tweets(shared_datasets, n: int) -> list[str]:
    path = shared_datasets / "tweeteval" / "offensive" / "train_text.txt"
    texts = path.read_text(encoding="utf-8").splitlines()
    return texts[:n] + [" ".join(texts[:300]), ""]


def test_weighting_in_two_passes_scores_as_the_plain_formula(model, shared_datasets) -> None:
    """`weight` folds the row norm into one factor per row and family; on 10,000 tweets (and long
    messages' windows) the scores are those of the step-by-step formula within 1e-6."""
    texts = _tweets(shared_datasets, 10_000)
    fz = model.featurizer
    counts = fz._counts_ids(*fz.ids_of_texts(texts))
    assert counts.data.max() > 1  # repeated features (sublinear tf) are among them
    fast = _probs_of_rows(model, fz.weight(counts))
    plain = _probs_of_rows(model, _weight_entry_by_entry(fz, counts))
    assert np.abs(fast - plain).max() <= 1e-6
    assert np.abs(fz.weight(counts).data - _weight_entry_by_entry(fz, counts).data).max() <= 1e-6


def test_the_compiled_parts_are_built() -> None:
    """`pip install` compiles the scoring kernel, the hits builder and the piece index (without a C
    compiler, numpy and a dict would do their work)."""
    built = features._tfidf_dot is not None and features._hits is not None and pieces.PieceIndex is not None
    if not built and os.environ.get("HARASSFLAG_NO_SKIP") != "1":
        pytest.skip("harassflag's compiled parts are not built here")
    assert built


HITS_EDGE_CASES = [
    "", "you", "you are not an idiot", '"you idiot" he said to me', "he called her a slur, I reported him",
    "@user kys", "@user @user you pathetic loser!!", "I'm such an idiot?", "zzqxv fooobarrr you grrrr",
    "http://x.com look at this", "you " * 80, '" " " you moron " "', "no one wants you here, leave",
    "you you you never ever idiot idiot idiot", "ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ", "😀 you 😀 idiot 😀",
]


def _hit_counts(fz, hits):
    counts = fz.counts_of_hits(hits)
    counts.sum_duplicates()
    counts.sort_indices()
    return counts


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_compiled_hits_add_up_to_the_numpy_counts(model, shared_datasets, batch) -> None:
    """The compiled hits builder gives every message the same hits as the numpy one (types, unseen
    tokens' n-grams, word pairs, contexts, lexicon classes, flags): equal as a sparse matrix and
    equal counts, on 3,000 tweets and edge cases (quotes, negations, mentions, unseen words)."""
    if features._hits is None:
        pytest.skip("the compiled hits builder is not built here")
    fz = model.featurizer
    texts = HITS_EDGE_CASES + _tweets(shared_datasets, 3_000)
    for i in range(0, len(texts), batch):
        tok = model.token_ids(texts[i : i + batch])
        compiled = fz._hits_ids(tok.ids, tok.lengths, tok.table)
        plain = fz._hits_numpy(tok.ids, tok.lengths, tok.table)
        assert compiled.shape == plain.shape and compiled.nnz == plain.nnz
        assert (compiled != plain).nnz == 0
        assert (_hit_counts(fz, compiled) != _hit_counts(fz, plain)).nnz == 0
    assert (fz._hits_ids(np.zeros(0, np.int64), np.zeros(3, np.int64), tok.table).indptr == 0).all()
    with pytest.raises(ValueError, match="lengths add up"):
        fz._hits_ids(np.zeros(2, np.int64), np.array([3]), tok.table)


def test_the_kernel_keeps_features_in_an_order_of_its_own_without_changing_a_score(model, shared_datasets) -> None:
    """The kernel stores features most frequent first (by IDF): its table is the features' IDF and
    weights reordered, and scores equal those of the same kernel on the model's own order exactly."""
    if features._tfidf_dot is None:
        pytest.skip("the compiled kernel is not built here")
    fz = model.featurizer
    order, rank = fz._kernel_order()
    assert (np.diff(fz.idf_[order]) >= 0).all() and (order[rank] == np.arange(order.size)).all()
    table = fz.kernel_table(model._coef)
    assert (table[rank, 0] == fz.idf_).all() and (table[rank, 1:] == model._coef.astype(np.float32)).all()
    tok = model.token_ids(_tweets(shared_datasets, 2_000))
    hits = fz._hits_ids(tok.ids, tok.lengths, tok.table)
    identity = np.arange(order.size)
    fz._kernel_perm = (identity, identity)  # the model's own order
    fz.__dict__.pop("_kernel_spread_cache", None)
    try:
        unordered = fz.decision_of_hits(hits, fz.kernel_table(model._coef))
    finally:
        fz.__dict__.pop("_kernel_perm", None)
        fz.__dict__.pop("_kernel_spread_cache", None)
    assert (fz.decision_of_hits(hits, table) == unordered).all()


def test_threads_scoring_at_once_get_the_scores_of_one_at_a_time(model, shared_datasets) -> None:
    """Each thread has the kernel's scratch space to itself, left all zeros after every call."""
    from concurrent.futures import ThreadPoolExecutor

    texts = _tweets(shared_datasets, 4_000)
    batches = [texts[i : i + 97] for i in range(0, len(texts), 97)]
    serial = [model.score_matrix(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            assert all((a == b).all() for a, b in zip(pool.map(model.score_matrix, batches), serial))
    for whole in (False, True):
        counts, _ = model.featurizer._kernel_work(whole)
        assert not counts.any()


def test_the_kernel_counts_in_uint16_only_what_fits_and_gets_the_same_scores(model, shared_datasets) -> None:
    """Hits of 1 over a binary spread matrix are counted in uint16, with exactly the scores of float
    counts; other hit values are counted as floats (and still give the rows' scores)."""
    if features._tfidf_dot is None:
        pytest.skip("the compiled kernel is not built here")
    fz = model.featurizer
    tok = model.token_ids(_tweets(shared_datasets, 3_000) + [" ".join(_tweets(shared_datasets, 300))])
    hits = fz._hits_ids(tok.ids, tok.lengths, tok.table)
    copied = hits.copy()  # (its values are no longer the shared ones: checked one by one)
    assert fz._counts_fit_uint16(hits) and fz._counts_fit_uint16(copied)
    whole = fz.decision_of_hits(hits, model._table)
    fz._counts_fit_uint16 = lambda h: False  # the float counts, for comparison
    try:
        assert (fz.decision_of_hits(hits, model._table) == whole).all()
    finally:
        del fz._counts_fit_uint16
    doubled = hits.copy()
    doubled.data = np.where(np.arange(doubled.nnz) % 3 == 0, 2.0, 1.0).astype(np.float32)
    assert not fz._counts_fit_uint16(doubled)
    plain = np.asarray(fz.weight(fz.counts_of_hits(doubled)) @ model._coef.astype(np.float64))
    assert np.abs(fz.decision_of_hits(doubled, model._table) - plain).max() <= 1e-6
    assert np.abs(plain - whole).max() > 1e-3  # (the doubled counts do change the scores)


@pytest.mark.parametrize(("sublinear_tf", "family_norm"), [(False, True), (True, False), (False, False)])
def test_the_kernel_gives_the_rows_scores_with_every_weighting(sublinear_tf, family_norm) -> None:
    """Plain counts and one norm for the whole row: the kernel still gives `weight`'s rows' scores."""
    if features._tfidf_dot is None:
        pytest.skip("the compiled kernel is not built here")
    m = fit_model(synthetic_set(), None, TrainOptions(
        **{**TINY_OPTIONS, "featurizer": {**TINY_OPTIONS.get("featurizer", {}),
                                           "sublinear_tf": sublinear_tf, "family_norm": family_norm}}))
    fz = m.featurizer
    texts = ["you idiot you idiot you are an idiot", "idiot idiot idiot", "great game, well played",
             "you you you", "I am such an idiot lol lol", "", "kill -9 the process", "zzzq xxxq you"] * 5
    tok = m.token_ids(texts)
    counts = fz._counts_ids(tok.ids, tok.lengths, tok.table)
    assert counts.data.max() > 1
    plain = _probs_of_rows(m, fz.weight(counts))
    assert np.abs(m.score_ids(tok) - plain).max() <= 1e-6
def test_the_piece_index_finds_each_piece_of_a_text_in_any_string_width() -> None:
    """`PieceIndex.lookup_pieces` gives each piece of `text.split(" ")` its value (-1 for none) and
    its start, whatever the width of the text's characters (latin-1, BMP, astral) and the key's."""
    from harassflag._piece_index import PieceIndex

    index = PieceIndex()
    keys = ["", "a", "é", "日本", "😀", "\x01", "you", "idiot!", "x" * 300] + [f"w{i}" for i in range(5_000)]
    for i, key in enumerate(keys):
        index.add(key, i)
    assert len(index) == len(keys)  # (it grew from 1,024 slots on the way)
    for text in ["a é", "é 日本 😀", "日本 a", "you  idiot! ", " ", "", "nope a nope", "w4999 w5000 " + "x" * 300,
                 "😀é", "\x01 a \x01"]:
        split = text.split(" ")
        out = np.empty(len(split), np.int64)
        starts = np.empty(len(split) + 1, np.int64)
        missing = index.lookup_pieces(text, out, starts)
        expected = [keys.index(p) if p in keys else -1 for p in split]
        assert out.tolist() == expected and missing == expected.count(-1)
        assert [text[a : b - 1] for a, b in zip(starts[:-1], starts[1:])] == split
    with pytest.raises(ValueError):
        index.lookup_pieces("a b", np.empty(1, np.int64), np.empty(2, np.int64))


def test_scores_are_those_of_the_tfidf_rows_within_1e_6(model, shared_datasets) -> None:
    """Scoring (compiled kernel: counts, weights and product without building the rows) gives the
    scores of `weight` followed by the product, on 10,000 tweets and long messages' windows."""
    texts = _tweets(shared_datasets, 10_000)
    fz = model.featurizer
    tok = model.token_ids(texts)
    scores = model.score_ids(tok, keep_rows=True)
    whole = tok.lengths <= WINDOW_TOKENS
    counts = fz._counts_ids(tok.ids, tok.lengths, tok.table)
    assert whole.sum() > 9_000 and not whole[-2] and counts.data.max() > 1
    plain = _probs_of_rows(model, fz.weight(counts))
    assert np.abs(scores[whole] - plain[whole]).max() <= 1e-6
    long_rows = model.featurizer.weight(fz._counts(windows(token_strings(texts[-2]))))
    assert np.abs(scores[-2] - _probs_of_rows(model, long_rows).max(axis=0)).max() <= 1e-6
    # the hits kept for explanations give those rows
    kept = fz.weight(fz.counts_of_hits(tok.hits))
    assert np.abs(kept[whole].toarray() - fz.weight(counts)[whole].toarray()).max() == 0


@pytest.mark.parametrize("missing", [("_tfidf_dot",), ("_hits",), ("_tfidf_dot", "_hits")])
def test_scores_do_not_depend_on_the_compiled_parts(model, shared_datasets, monkeypatch, missing) -> None:
    """Without the compiled kernel or hits builder (no C compiler at install), numpy scores the same
    within 1e-6, long messages included."""
    texts = _tweets(shared_datasets, 3_000) + [" ".join(_tweets(shared_datasets, 200))]
    compiled = model.score_matrix(texts)
    for name in missing:
        monkeypatch.setattr(features, name, None)
    assert np.abs(model.score_matrix(texts) - compiled).max() <= 1e-6


@pytest.mark.parametrize("collide", [False, True])
def test_repeated_segments_are_scored_once_and_only_equal_ones_share(collide) -> None:
    rng = np.random.default_rng(5)
    tids = rng.integers(0, 4, 3_000)  # few token ids: many segments repeat
    sizes = rng.integers(1, SEGMENT_TOKENS + 1, 400)
    starts = rng.integers(0, tids.size - SEGMENT_TOKENS, 400)
    sizes[:50], starts[:50] = 3, starts[0]  # certainly equal
    # base 1: a segment's hash is the sum of its ids, so hashes of different segments collide a lot
    keep, kind = distinct_segments(tids, starts, sizes, base=1) if collide else distinct_segments(tids, starts, sizes)
    rows = [tuple(tids[a : a + n]) for a, n in zip(starts.tolist(), sizes.tolist())]
    assert all(rows[keep[k]] == row for k, row in zip(kind.tolist(), rows))
    assert len({rows[k] for k in keep.tolist()}) == keep.size or collide
    assert keep.size == len(set(rows)) or collide
    assert keep.size < len(rows) and set(kind[:50].tolist()) == {kind[0]}


def test_token_ids_by_piece_from_many_threads_and_across_a_full_table(model, shared_datasets, monkeypatch) -> None:
    """Pieces added from several threads at once, and a full piece table replaced by a fresh one,
    still give every message its `token_strings` ids."""
    import threading

    from harassflag.pieces import PieceTable

    texts = (shared_datasets / "tweeteval" / "hate" / "train_text.txt").read_text(encoding="utf-8").splitlines()[:4_000]
    fz = model.featurizer
    errors: list[str] = []

    def work(seed: int) -> None:
        order = np.random.default_rng(seed).permutation(len(texts))
        for i in range(0, len(order), 250):
            batch = [texts[j] for j in order[i : i + 250]] + PIECE_EDGES
            tids, lengths, table = fz.ids_of_texts(batch)
            expected = [table.ids(token_strings(t)) for t in batch]
            if tids.tolist() != np.concatenate(expected).tolist() or lengths.tolist() != [len(e) for e in expected]:
                errors.append(f"thread {seed}, batch {i}")

    monkeypatch.setattr(PieceTable, "limit", 3_000)  # fills up (and is replaced) several times
    first = fz._piece_table()
    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fz._piece_table() is not first
