"""The batched explanation path (`Model.explain_ids`, `token_spans`) equals the per-message one."""

from __future__ import annotations

import pytest

from harassflag import HEADS, load_model
from harassflag.model import WINDOW_TOKENS
from harassflag.spans import token_spans
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
