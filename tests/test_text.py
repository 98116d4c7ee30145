"""Normalisation and tokenisation (issue 2, section 4): each case the spec names, and offsets."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.base import clone

from harassflag.text import (
    _TWEET_TOKENIZER,
    URL_TOKEN,
    USER_TOKEN,
    TextNormalizer,
    TokenizedText,
    _chunk_parts,
    _plain_parts,
    _tokenize_chunk,
    batch_token_strings,
    clean_string,
    normalize_text,
    normalized_string,
    token_strings,
)

TWEETS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "tweeteval" / "offensive" / "val_text.txt"
FIXTURES = Path(__file__).parent / "fixtures" / "core"


def tokens(text: str) -> list[str]:
    return [t.text for t in normalize_text(text).tokens]


# -- each normalisation case ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Unicode NFKC
        ("ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ", "you are an idiot"),  # fullwidth
        ("𝐲𝐨𝐮 𝐢𝐝𝐢𝐨𝐭", "you idiot"),  # mathematical bold
        ("𝓲𝓭𝓲𝓸𝓽", "idiot"),  # mathematical script
        ("ﬁne", "fine"),  # ligature
        # zero-width and control characters removed
        ("id\u200biot", "idiot"),
        ("i\u200cd\u200di\u2060o\ufefft", "idiot"),
        ("idi\u00adot", "idiot"),  # soft hyphen
        ("idi\x00ot", "idiot"),
        ("id\x07i\x1bot", "idiot"),
        ("\u202eidiot", "idiot"),  # bidi override
        # homoglyphs
        ("\u0456d\u0456\u043et", "idiot"),  # Cyrillic і і о
        ("\u0441\u0443\u043ct", "cymt"),  # Cyrillic с у м
        ("\u03b9d\u03b9\u03bft", "idiot"),  # Greek ι ι ο
        # leetspeak
        ("y0u", "you"),
        ("$h1t", "shit"),
        ("@ss", "ass"),
        ("id10t", "idiot"),
        ("l0s3r", "loser"),
        ("b1tch", "bitch"),
        # elongations
        ("stupiddddd", "stupid"),
        ("fuuuuuck", "fuck"),
        ("idiooooot", "idiot"),
        ("looooser", "loser"),
        # spaced or dotted letters
        ("f u c k", "fuck"),
        ("f.u.c.k", "fuck"),
        ("k-i-l-l", "kill"),
        ("you are an i d i o t", "you are an idiot"),
        # masked words
        ("f*ck", "fuck"),
        ("sh!t", "shit"),
        ("a**hole", "asshole"),
        ("b*tch", "bitch"),
        # HTML entities
        ("tom &amp; jerry", "tom & jerry"),
        ("it&#39;s", "it's"),
        ("&lt;3", "<3"),
        ("caf&eacute;", "café"),
        # URLs and @mentions to placeholders
        ("see https://example.com/a?b=1 now", f"see {URL_TOKEN} now"),
        ("www.example.org/x", URL_TOKEN),
        ("@bob you idiot", f"{USER_TOKEN} you idiot"),
        # case
        ("YOU ARE AN IDIOT", "you are an idiot"),
    ],
)
def test_normalisation_case(raw: str, expected: str) -> None:
    assert normalized_string(raw) == expected


@pytest.mark.parametrize("raw", ["2nd", "1st", "3rd", "10am", "5pm", "90s", "4k", "2019", "10", "3.5"])
def test_numbers_and_ordinals_are_not_leet_folded(raw: str) -> None:
    assert "".join(tokens(raw)) == raw


def test_hashtag_keeps_the_word() -> None:
    assert tokens("#idiot") == ["idiot"]


def test_plain_words_keep_their_spelling() -> None:
    # neither leet-folded, nor joined as "spaced letters", nor elongation-folded below 3 repeats
    assert tokens("good food, cool book") == ["good", "food", ",", "cool", "book"]


def test_spaced_letters_do_not_swallow_a_preceding_article() -> None:
    # "a" is a single letter too; joining it gives "afucking", a word the model never saw.
    assert "fucking" in tokens("you are a f u c k i n g idiot")


def test_decomposed_accent_equals_composed_accent() -> None:
    # NFKC makes "e" + COMBINING ACUTE ACCENT the same as "é"; the tokens must be equal too.
    assert tokens("cafe\u0301 idiot") == tokens("café idiot")


# -- offsets into the ORIGINAL text -----------------------------------------------------------

def _span_texts(text: str) -> list[tuple[str, str]]:
    tt = normalize_text(text)
    return [(t.text, text[slice(*tt.original_span(t))]) for t in tt.tokens]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("you are an idiot", [("you", "you"), ("are", "are"), ("an", "an"), ("idiot", "idiot")]),
        ("you id\u200biot", [("you", "you"), ("idiot", "id\u200biot")]),
        ("\u200b\u200byou idiot", [("you", "you"), ("idiot", "idiot")]),
        ("tom &amp; jerry", [("tom", "tom"), ("&", "&amp;"), ("jerry", "jerry")]),
        ("it&#39;s f*ck", [("it's", "it&#39;s"), ("fuck", "f*ck")]),
        ("😂 you idiot 👍", [("😂", "😂"), ("you", "you"), ("idiot", "idiot"), ("👍", "👍")]),
        ("😂😂 idiot", [("😂", "😂"), ("😂", "😂"), ("idiot", "idiot")]),
        ("ｙｏｕ ａｒｅ an ｉｄｉｏｔ", [("you", "ｙｏｕ"), ("are", "ａｒｅ"), ("an", "an"), ("idiot", "ｉｄｉｏｔ")]),
        ("𝐢𝐝𝐢𝐨𝐭 yes", [("idiot", "𝐢𝐝𝐢𝐨𝐭"), ("yes", "yes")]),
        ("you are a f u c k idiot", None),  # checked by the generic property below
        ("@bob y0u are an \u0456d\u0456\u043et", [("<user>", "@bob"), ("you", "y0u"), ("are", "are"),
                                                ("an", "an"), ("idiot", "\u0456d\u0456\u043et")]),
    ],
)
def test_token_spans_point_into_the_original_text(text: str, expected) -> None:
    if expected is not None:
        assert _span_texts(text) == expected
    _assert_spans_are_tight(text)


@pytest.mark.parametrize(
    "text",
    [
        "ｙｏｕ\u3000ａｒｅ\u3000ａｎ\u3000ｉｄｉｏｔ",  # fullwidth words with ideographic spaces
        "😂😭 you idiot 🤦🏾\u200d♀️",  # an emoji run containing a zero-width joiner
        "ты идиот 😂😂",
    ],
)
def test_token_spans_do_not_cover_neighbouring_tokens(text: str) -> None:
    _assert_spans_are_tight(text)


def _assert_spans_are_tight(text: str) -> None:
    """Every token's original span re-normalises to that token only (not to its neighbours too)."""
    tt = normalize_text(text)
    for tok in tt.tokens:
        start, end = tt.original_span(tok)
        assert 0 <= start < end <= len(text), (tok, start, end)
        assert set(token_strings(text[start:end])) == {tok.text}, (tok.text, text[start:end])


# -- robustness ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    ["", " ", "\x00", "\x00\x00idiot\x00", "\ud800", "a\udfffb", "😂😂😂", "🤦🏾\u200d♀️", "\u200b\u200b",
     "&amp", "&#xD800;", "&#99999999;", "&;", "@", "#", "http://", "*", "f * * *", ". . . .", "\t\n\r",
     "a" * 10_000, "ab " * 5_000],
)
def test_never_crashes(text: str) -> None:
    tt = normalize_text(text)
    assert isinstance(tt, TokenizedText)
    assert token_strings(text) == [t.text for t in tt.tokens]
    for tok in tt.tokens:
        start, end = tt.original_span(tok)
        assert 0 <= start <= end <= len(text)


@pytest.mark.parametrize("text", ["", "\x00", "\u200b", "\x00\u200b\x07"])
def test_empty_or_invisible_text_has_no_tokens(text: str) -> None:
    assert tokens(text) == []


# -- the transformer --------------------------------------------------------------------------

def test_normalizer_is_a_scikit_learn_transformer() -> None:
    norm = TextNormalizer()
    assert norm.get_params() == {}
    copy = clone(norm)
    assert isinstance(copy, TextNormalizer) and copy is not norm
    assert norm.fit(["x"]) is norm
    out = norm.transform(["you are an idiot", ""])
    assert [[t.text for t in o.tokens] for o in out] == [["you", "are", "an", "idiot"], []]
    assert [[t.text for t in o.tokens] for o in norm.fit_transform(["hi"])] == [["hi"]]


@pytest.mark.parametrize(("items", "index", "kind"), [(["ok", None], 1, "NoneType"), ([3], 0, "int"),
                                                      (["a", "b", b"c"], 2, "bytes")])
def test_normalizer_names_the_index_of_a_non_string(items, index, kind) -> None:
    with pytest.raises(TypeError, match=rf"\b{index}\b.*{kind}"):
        TextNormalizer().transform(items)


# -- fast path == full path ---------------------------------------------------------------------

def _tweets() -> list[str]:
    lines = TWEETS.read_text(encoding="utf-8").splitlines() if TWEETS.exists() else []
    extra = (FIXTURES / "obfuscated.txt").read_text(encoding="utf-8").splitlines()
    return lines[:400] + extra


def test_fast_token_strings_equal_full_normalisation_on_real_tweets() -> None:
    texts = _tweets()
    assert len(texts) > 300, "mirror missing: tweeteval/offensive/val_text.txt"
    diffs = [t for t in texts if token_strings(t) != tokens(t)]
    assert diffs == []


def test_common_chunks_tokenised_without_nltk_exactly_as_nltk_would() -> None:
    """Plain words, words with trailing stops and hashtags skip nltk; on every such chunk of the
    mirrored tweets (and some edge cases) the tokens are nltk's TweetTokenizer's."""
    chunks = {c for t in _all_mirrored_tweets() for c in t.split()}
    chunks |= {"XD", "xD", "D:", "sad:", "DDDDDDDD", "a" * 500, "I", "A", "u.", "ok!?!?!!!", "word.....",
               "#a", "#ab", "#A1", "#tbt", "##tbt", "hi,", "e.g.", "wow!!!!!!!!", "k.", "x?,"}
    plain = [c for c in sorted(chunks) if _plain_parts(c) is not None]
    assert len(plain) > 20_000
    assert sum(1 for c in plain if not c.isalpha()) > 5_000
    assert [c for c in plain if _tokenize_chunk(c) != _nltk_tokens(c)] == []


def _all_mirrored_tweets() -> list[str]:
    root = TWEETS.parents[1]
    files = sorted(root.glob("*/*_text.txt"))
    assert files, f"mirror missing: {root}"
    return [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]


def _nltk_tokens(chunk: str) -> list[str]:
    """The tokens of a chunk the general way: obfuscated words kept whole, the rest by nltk."""
    out: list[str] = []
    for whole, part in _chunk_parts(chunk):
        out.extend([part] if whole else _TWEET_TOKENIZER.tokenize(part))
    return out


def test_offsets_are_tight_on_real_tweets() -> None:
    bad = []
    for text in _tweets():
        tt = normalize_text(text)
        for tok in tt.tokens:
            start, end = tt.original_span(tok)
            if set(token_strings(text[start:end])) != {tok.text}:
                bad.append((tok.text, text[start:end]))
    assert bad == []


@pytest.mark.parametrize("batch_size", [1, 3, 64, 10_000])
def test_batch_tokenisation_equals_one_message_at_a_time(batch_size) -> None:
    edge = ["", " ", "\x01", "a\x01b", "\x1e\x1f", "u r a l o s e r", "f u c k off", "😂", "\x00",
            "k.i.l.l you", "\u200b", "  leading", "trailing  ", "a \x01 b c d", "x " * 100,
            "\uffff", "a \uffff b", "x &#65535; y", "&amp; \uffff &lt;"]
    texts = edge + _tweets() + edge
    for i in range(0, len(texts), batch_size):
        batch = texts[i : i + batch_size]
        flat, lengths = batch_token_strings(batch)
        expected = [token_strings(t) for t in batch]
        assert lengths == [len(e) for e in expected]
        assert flat == [tok for e in expected for tok in e]


def test_one_tokenizer_call_per_batch_equals_one_call_per_piece() -> None:
    from harassflag.text import _chunk_parts, _tokenize_chunks, _tweet_tokens

    chunks = sorted({c for t in _tweets() for c in clean_string(t).split()})
    chunks += ["...", ".", "&amp;", "!!!!!!", "f*ck", "sh!t...", "a$$", ":-)", "@user:", "www.x.com/a"]
    reference = []
    for c in chunks:
        toks: list[str] = []
        for is_token, text in _chunk_parts(c):
            toks.extend([text] if is_token else _tweet_tokens(text))
        reference.append(toks)
    assert _tokenize_chunks(chunks) == reference
