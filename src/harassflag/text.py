"""Text normalisation and tokenisation: the only preprocessing harassflag has.

`TextNormalizer` is a scikit-learn transformer that sits first in the saved pipeline, so training and
scoring can never differ. It works in three steps:

1. `clean_text`: Unicode NFKC, zero-width/format/control characters removed, HTML entities decoded,
   homoglyphs folded — while keeping a map back to the original offsets (explanations point into the
   text the moderator sees, not into our normalised copy).
2. tokenise: the token classes of nltk's TweetTokenizer (URLs, @handles, #hashtags, words with
   apostrophes, emoticons, other symbols) in one flat pattern that also keeps obfuscated words whole
   (`f*ck`, `sh!t`, `$h1t`), plus a pass that rejoins spaced or dotted letters (`f u c k`, `k.i.l.l`).
3. `normalize_token`: lowercase, leetspeak and masks folded against a small lexicon, elongations
   collapsed, URLs and @mentions to placeholders. Chat vocabulary is Zipfian, so results are cached.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

import numpy as np
from nltk.tokenize import TweetTokenizer
from sklearn.base import BaseEstimator, TransformerMixin

URL_TOKEN = "<url>"
USER_TOKEN = "<user>"

# Words whose obfuscated spellings we fold back. Small on purpose: it only decides how a masked or
# leet token is spelled; the model learns what words mean from data.
LEXICON: frozenset[str] = frozenset(
    """
    ass asses asshole assholes arse arsehole bastard bitch bitches bitchy bollocks boob boobs butt
    cock cocks crap cunt cunts damn dick dicks dickhead douche douchebag dumb dumbass dyke fag faggot
    fat fuck fucked fucker fuckers fucking fuckin fucks fuk hoe hoes homo idiot idiots jerk kill
    killing kys loser losers moron morons motherfucker nigga nigger niggers nude nudes penis piss
    pissed porn prick pussy rape raped rapist retard retarded scum shit shits shitty skank slag slut
    sluts stupid suck sucks tits twat ugly vagina wanker whore whores worthless die dead hang
    yourself myself hate trash pathetic freak creep pig cow wtf stfu gtfo lmao omg
    """.split()
)

HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ԛ": "q", "ԝ": "w", "ɡ": "g", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
        "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
        # Greek
        "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ζ": "Z",
        # Latin look-alikes that NFKC keeps
        "ı": "i", "ł": "l", "ø": "o", "ß": "ss", "ɑ": "a", "ɩ": "i", "ʏ": "y",
        # typographic apostrophes inside words ("There’s" is one word, as "There's")
        "’": "'",
    }
)

LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                      "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"})

_SPECIAL_RE = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    # a letter followed by a combining mark belongs to the non-ASCII run, so NFKC can compose it
    r"|(?:[A-Za-z](?=[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]))?[^\x00-\x7f]+"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+"
)
# one visible character with the marks and selectors that belong to it
_CLUSTER_RE = re.compile(r".[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f]*",
                         re.DOTALL)
_NEEDS_CLEANING_RE = re.compile(r"[^\x09\x0a\x0d\x20-\x7e]|&")


# Single letters with one repeated separator: "f u c k", "f.u.c.k", "k-i-l-l".
SPACED_RE = re.compile(r"(?<![\w])([A-Za-z])([ .\-_*])(?:[A-Za-z]\2){1,}[A-Za-z](?![\w])")
_ELONGATION_RE = re.compile(r"(.)\1{2,}")
_DOUBLE_RE = re.compile(r"(.)\1")
_ORDINAL_RE = re.compile(r"^\d+(?:st|nd|rd|th|s|am|pm|k|m|x|h|min|hrs?|yo|yrs?|gb|mb|kb|px|ms)$")
_HAS_ALPHA_RE = re.compile(r"[^\W\d_]")


class Token(NamedTuple):
    """A normalised token with its span in the cleaned text (a tuple: cheap to make by the million)."""

    text: str
    start: int
    end: int


class OffsetMap:
    """Maps spans in the cleaned text back to the original text."""

    __slots__ = ("clean_starts", "orig_starts", "orig_lens", "changed")

    def __init__(self) -> None:
        self.clean_starts: list[int] = []
        self.orig_starts: list[int] = []
        self.orig_lens: list[int] = []
        self.changed: list[bool] = []

    def add(self, clean_start: int, orig_start: int, orig_len: int, changed: bool) -> None:
        self.clean_starts.append(clean_start)
        self.orig_starts.append(orig_start)
        self.orig_lens.append(orig_len)
        self.changed.append(changed)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the cleaned span [start, end)."""
        i = max(bisect_right(self.clean_starts, start) - 1, 0)
        o_start = self.orig_starts[i] if self.changed[i] else self.orig_starts[i] + start - self.clean_starts[i]
        j = max(bisect_right(self.clean_starts, max(end - 1, start)) - 1, 0)
        if self.changed[j]:
            o_end = self.orig_starts[j] + self.orig_lens[j]
        else:
            o_end = self.orig_starts[j] + end - self.clean_starts[j]
        return o_start, max(o_end, o_start)


def _clean_segment(segment: str, fold_homoglyphs: bool = True) -> str:
    if segment[0] == "&":
        segment = html.unescape(segment)
    elif segment[0] < " " or segment[0] == "\x7f":
        return ""
    segment = unicodedata.normalize("NFKC", segment)
    out = []
    for ch in segment:
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cs", "Cc") and ch not in "\t\n\r":
            continue  # zero-width joiners, bidi marks, lone surrogates, controls
        out.append(ch)
    cleaned = "".join(out)
    return cleaned.translate(HOMOGLYPHS) if fold_homoglyphs else cleaned


def _is_ascii_letter(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


@lru_cache(maxsize=100_000)
def _segment_parts(seg: str, mixed: bool) -> tuple[tuple[int, int, str, bool], ...]:
    """How one special segment is cleaned: (start, end, output, changed) pieces, relative to it."""
    repl = _clean_segment(seg, fold_homoglyphs=mixed)
    if repl == seg:
        return ((0, len(seg), seg, False),)
    if seg[0] == "&" or seg[0] < " " or seg[0] == "\x7f" or len(seg) == 1:
        return ((0, len(seg), repl, True),)
    # character by character, so each token keeps its own original span
    parts: list[tuple[int, int, str, bool]] = []
    run_start = None
    for c in _CLUSTER_RE.finditer(seg):
        cleaned = _clean_segment(c.group(), fold_homoglyphs=mixed)
        if cleaned == c.group():
            if run_start is None:
                run_start = c.start()
            continue
        if run_start is not None:
            parts.append((run_start, c.start(), seg[run_start : c.start()], False))
            run_start = None
        parts.append((c.start(), c.end(), cleaned, True))
    if run_start is not None:
        parts.append((run_start, len(seg), seg[run_start:], False))
    return tuple(parts)


def _is_mixed(text: str, start: int, end: int) -> bool:
    return (start > 0 and _is_ascii_letter(text[start - 1])) or (
        end < len(text) and _is_ascii_letter(text[end])) or _is_ascii_letter(text[start])


def _cleaned_match(m: re.Match) -> str:
    return "".join(p[2] for p in _segment_parts(m.group(), _is_mixed(m.string, m.start(), m.end())))


def clean_string(text: str) -> str:
    """`clean_text` without the offset map: what scoring needs, and faster."""
    if not _NEEDS_CLEANING_RE.search(text):
        return text
    return _SPECIAL_RE.sub(_cleaned_match, text)


def clean_text(text: str) -> tuple[str, OffsetMap | None]:
    """NFKC, strip invisible/control characters, decode entities, fold homoglyphs; keep offsets.

    Homoglyphs are folded only inside words that also have Latin letters (a spoofed "іdiot"),
    so text really written in Cyrillic or Greek is left alone. Offsets are kept per character.
    """
    if not _NEEDS_CLEANING_RE.search(text):
        return text, None
    pieces: list[str] = []
    offsets = OffsetMap()
    pos = 0
    clean_len = 0
    for m in _SPECIAL_RE.finditer(text):
        if m.start() > pos:
            pieces.append(text[pos : m.start()])
            offsets.add(clean_len, pos, m.start() - pos, False)
            clean_len += m.start() - pos
        for a, b, out, changed in _segment_parts(m.group(), _is_mixed(text, m.start(), m.end())):
            if out:
                pieces.append(out)
                offsets.add(clean_len, m.start() + a, b - a, changed)
                clean_len += len(out)
        pos = m.end()
    if pos < len(text):
        pieces.append(text[pos:])
        offsets.add(clean_len, pos, len(text) - pos, False)
    if not offsets.clean_starts:
        offsets.add(0, 0, len(text), True)
    return "".join(pieces), offsets


def _twice(m: re.Match) -> str:
    return m.group(1) * 2


def _once(m: re.Match) -> str:
    return m.group(1)


def _fold_elongation(word: str) -> str:
    # callables, not "\1" templates: Python 3.11 expands a template per match in Python
    if _ELONGATION_RE.search(word):  # most words are not elongated: skip the substitution
        word = _ELONGATION_RE.sub(_twice, word)
    if word not in LEXICON and _DOUBLE_RE.search(word):
        single = _DOUBLE_RE.sub(_once, word)
        if single in LEXICON:
            return single
    return word


def _unmask(word: str) -> str:
    """Resolve `f*ck` / `a**hole` against the lexicon; otherwise drop the mask characters."""
    pattern = re.compile("^" + re.escape(word).replace(r"\*", "[a-z]") + "$")
    for candidate in sorted(LEXICON):
        if len(candidate) == len(word) and pattern.match(candidate):
            return candidate
    return word.replace("*", "")


_LEET_CHARS = frozenset("013457@$!|+€*")


def normalize_word(raw: str) -> str:
    """Normalise one word token: lowercase, fold leetspeak and masks, collapse elongations."""
    word = raw.lower()
    if not _LEET_CHARS.isdisjoint(word) and _HAS_ALPHA_RE.search(word) and not _ORDINAL_RE.match(word):
        folded = word.translate(LEET)
        word = _unmask(folded) if "*" in folded else folded
    word = word.replace("’", "'")
    return _fold_elongation(word)


def normalize_token(raw: str) -> str:
    """Normalise one raw token; its kind (URL, @handle, #hashtag, word, symbol) shows in its form."""
    first = raw[0]
    if first == "@":
        if len(raw) == 1:
            return raw
        folded = normalize_word(raw)  # "@ss" is an obfuscated word, not a handle
        return folded if folded in LEXICON else USER_TOKEN
    if first == "#" and len(raw) > 1:
        return normalize_word(raw[1:])
    if _URL_LIKE_RE.match(raw):
        return URL_TOKEN
    if _HAS_ALPHA_RE.search(raw):
        return normalize_word(raw)
    return raw


class TokenCache(dict):
    """A bounded cache of raw token -> normalised token (chat vocabulary is Zipfian)."""

    limit = 500_000

    def __missing__(self, raw: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        value = normalize_token(raw)
        self[raw] = value
        return value


_CACHE = TokenCache()


def _spaced_runs(clean: str) -> list[tuple[int, int, str]]:
    runs = []
    for m in SPACED_RE.finditer(clean):
        joined = _fold_elongation(re.sub(r"[^A-Za-z]", "", m.group()).lower())
        if joined not in LEXICON and joined[0] in "ai" and _fold_elongation(joined[1:]) in LEXICON:
            # "a f u c k i n g idiot": the article stays a word of its own
            runs.append((m.start() + 2, m.end(), _fold_elongation(joined[1:])))
        elif len(joined) >= 4 or joined in LEXICON:
            runs.append((m.start(), m.end(), joined))
    return runs


class ChunkCache(dict):
    """A bounded cache of whitespace-separated chunk -> (raw tokens, normalised tokens).

    Tokens never cross whitespace, so a message is tokenised chunk by chunk; chat chunks ("you",
    "lol", "idiot!!") repeat so much that almost every one is a dictionary hit, and nltk's
    TweetTokenizer (~100 µs a tweet) only runs on chunks never seen before.
    """

    limit = 500_000

    def __missing__(self, chunk: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if len(self) >= self.limit:
            self.clear()
        raw = tuple(_tokenize_chunk(chunk))
        cache = _CACHE
        value = (raw, tuple([cache[r] for r in raw]))
        self[chunk] = value
        return value


_CHUNKS = ChunkCache()


def _prefetch(chunks: list[str]) -> None:
    """Tokenise a batch's chunks not seen before in one go (a cold cache's cost is nltk calls)."""
    # (not set.difference(_CHUNKS): for a dict subclass that walks the whole cache)
    seen = _CHUNKS.__contains__
    missing = [c for c in set(chunks) if not seen(c) and c != SEP_CHUNK and c[0] != RUN_MARK]
    if len(missing) < 2:
        return
    if len(_CHUNKS) + len(missing) > _CHUNKS.limit:
        _CHUNKS.clear()
    cache = _CACHE
    for chunk, raw in zip(missing, _tokenize_chunks(missing)):
        _CHUNKS[chunk] = (tuple(raw), tuple([cache[r] for r in raw]))


class NormCache(dict):
    """chunk -> its normalised tokens only: the scoring fast path reads this with one C-level map."""

    limit = 500_000

    def __missing__(self, chunk: str) -> tuple[str, ...]:
        if len(self) >= self.limit:
            self.clear()
        if chunk == SEP_CHUNK:
            value = ()
        elif chunk[0] == RUN_MARK:
            value = (chunk[1:],)
        else:
            value = _CHUNKS[chunk][1]
        self[chunk] = value
        return value


_NORM = NormCache()
_TWEET_TOKENIZER = TweetTokenizer(preserve_case=True, match_phone_numbers=False)
# an obfuscated word stays one token (TweetTokenizer would split "f*ck" into f, *, ck)
_OBFUSCATED_RE = re.compile(
    r"\$[^\W\d_][^\W_]*(?:[*!$@|]+[^\W_]+)*"  # $hit, $h1t
    r"|[^\W_]+(?:[*!$@|#%+]+[^\W_]+)+[*$]*"  # f*ck, sh!t, b!tch, f**king
    r"|[^\W_]+[*$]+(?![^\W_])"  # a$$, f***
)


_URL_START_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,!?;:)\]]", re.IGNORECASE)
_URL_LIKE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)|^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,13}/",
                          re.IGNORECASE)


def _chunk_parts(chunk: str) -> list[tuple[bool, str]]:
    """A whitespace-free chunk as (is_token, text) parts: whole tokens (URLs, handles, obfuscated
    words) and the pieces between them, which nltk's TweetTokenizer splits."""
    url = _URL_START_RE.match(chunk)
    if url:  # a URL is one token, whatever its path looks like
        rest = _chunk_parts(chunk[url.end():]) if url.end() < len(chunk) else []
        return [(True, url.group()), *rest]
    if chunk.startswith("@") and len(chunk) > 1 and _OBFUSCATED_RE.fullmatch(chunk[1:]) is None \
            and re.fullmatch(r"@\w+", chunk):
        return [(True, chunk)]
    parts: list[tuple[bool, str]] = []
    pos = 0
    for m in _OBFUSCATED_RE.finditer(chunk):
        if m.start() > pos:
            parts.append((False, chunk[pos : m.start()]))
        parts.append((True, m.group()))
        pos = m.end()
    if pos < len(chunk):
        parts.append((False, chunk[pos:]))
    return parts


_WORD_THEN_STOPS_RE = re.compile(r"([A-Za-z]+)([.,!?]+)")


def _plain_parts(chunk: str) -> list[tuple[bool, str]] | None:
    """The tokens of the commonest chunk shapes, as nltk would make them but without calling it
    (a test compares on real tweets): ASCII letters ("hello", one token), letters then full stops,
    commas, ! or ? ("hello!!": the word, then the stops as they are tokenised on their own), and
    a hashtag of two or more letters ("#tbt", one token)."""
    if not chunk.isascii():
        return None
    if chunk.isalpha():
        return [(True, chunk)]
    if chunk[0] == "#":
        return [(True, chunk)] if len(chunk) > 2 and chunk[1:].isalpha() else None
    m = _WORD_THEN_STOPS_RE.fullmatch(chunk)
    if m is None:
        return None
    return [(True, m[1])] + [(True, t) for t in _CHUNKS[m[2]][0]]


def _tokenize_chunks(chunks: list[str]) -> list[list[str]]:
    """Raw tokens of whitespace-free chunks: nltk's TweetTokenizer (one call for all of them),
    obfuscated words kept whole."""
    parts = [_plain_parts(c) or _chunk_parts(c) for c in chunks]
    pieces = _tweet_tokens_many([text for ps in parts for is_token, text in ps if not is_token])
    out: list[list[str]] = []
    for ps in parts:
        toks: list[str] = []
        for is_token, text in ps:
            if is_token:
                toks.append(text)
            else:
                toks.extend(next(pieces))
        out.append(toks)
    return out


def _tokenize_chunk(chunk: str) -> list[str]:
    """Raw tokens of one whitespace-free chunk."""
    return _tokenize_chunks([chunk])[0]


_PIECE_SEP = "\x01"
"""Joins pieces for one TweetTokenizer call: never in cleaned text, always a token of its own."""


def _tweet_tokens_many(pieces: list[str]) -> Iterator[list[str]]:
    """TweetTokenizer tokens of each piece, from one call over all of them (its per-call cost,
    a regex timeout guard, is the larger part of tokenising a short piece)."""
    if len(pieces) > 1:
        try:
            words = _TWEET_TOKENIZER.tokenize(f" {_PIECE_SEP} ".join(pieces))
        except TimeoutError:
            words = None
        if words is not None:
            out: list[list[str]] = [[]]
            for w in words:
                if w == _PIECE_SEP:
                    out.append([])
                else:
                    out[-1].append(w)
            if len(out) == len(pieces):
                return iter(out)
    return (_tweet_tokens(p) for p in pieces)


def _tweet_tokens(piece: str) -> list[str]:
    try:
        return _TWEET_TOKENIZER.tokenize(piece)
    except TimeoutError:  # nltk's guard against adversarial input: fall back to characters
        return [c for c in piece if not c.isspace()]


def _relative_spans(chunk: str) -> tuple[tuple[str, int, int], ...]:
    """(normalised, start, end) of every token of one chunk, offsets relative to the chunk."""
    raw, norm = _CHUNKS[chunk]
    out = []
    cursor = 0
    for r, n in zip(raw, norm):
        found = chunk.find(r, cursor)
        if found < 0:  # the tokenizer rewrote it (entities, long repeats): approximate span
            found = min(cursor, len(chunk) - 1)
            stop = min(found + len(r), len(chunk))
        else:
            stop = found + len(r)
        out.append((n, found, stop))
        cursor = stop
    return tuple(out)


class SpanCache(dict):
    """chunk -> its tokens' relative spans: explanations tokenise with offsets at cache speed."""

    limit = 500_000

    def __missing__(self, chunk: str) -> tuple[tuple[str, int, int], ...]:
        if len(self) >= self.limit:
            self.clear()
        value = self[chunk] = _relative_spans(chunk)
        return value


_SPANS = SpanCache()


def _chunk_tokens(clean: str, start: int, end: int) -> list[Token]:
    """Tokens of clean[start:end] with spans in `clean`, chunk by chunk."""
    spans = _SPANS
    out: list[Token] = []
    for m in _WS_CHUNK_RE.finditer(clean, start, end):
        base = m.start()
        out.extend([Token(n, base + a, base + b) for n, a, b in spans[m.group()]])
    return out


_WS_CHUNK_RE = re.compile(r"\S+")


def _clean_tokens(clean: str) -> list[str]:
    """Normalised tokens of cleaned text, without spans (the fast path)."""
    lookup = _NORM.__getitem__
    if SPACED_RE.search(clean) is None:
        return list(chain.from_iterable(map(lookup, clean.split())))
    out: list[str] = []
    pos = 0
    for start, end, joined in _spaced_runs(clean):
        out.extend(chain.from_iterable(map(lookup, clean[pos:start].split())))
        out.append(joined)
        pos = end
    out.extend(chain.from_iterable(map(lookup, clean[pos:].split())))
    return out


def token_strings(text: str) -> list[str]:
    """The normalised tokens of a message (the fast path used for scoring)."""
    return _clean_tokens(clean_string(text))


_SEP = " \x01 "
"""Joins a batch's cleaned messages: cleaning removes control characters, so no message contains
\x01 (which, unlike \x1c-\x1f, str.split does not take for whitespace), and a spaced-letter run
cannot cross it."""


SEP_CHUNK = _SEP[1]
"""The chunk between two messages in `batch_chunks`."""
RUN_MARK = "\x02"
"""Starts a chunk that is a spaced-letter run's joined word (cleaned text has no control characters)."""


def _run_chunks(clean: str) -> list[str]:
    """Chunks of cleaned text with spaced-letter runs, each run one RUN_MARK chunk."""
    out: list[str] = []
    pos = 0
    for start, end, joined in _spaced_runs(clean):
        out.extend(clean[pos:start].split())
        out.append(RUN_MARK + joined)
        pos = end
    out.extend(clean[pos:].split())
    return out


RUN_SINGLE, RUN_LEFT, RUN_RIGHT, RUN_SPACES = 1, 2, 4, 8
"""Flags of a cleaned space-separated piece (`piece_run_flags`): what a spaced-letter run with a
space separator can make of it."""
_WORD_RE = re.compile(r"\w")


def piece_run_flags(piece: str) -> int:
    """How a cleaned piece (text between two single spaces) can take part in a run like "f u c k":
    RUN_SINGLE if it is one ASCII letter, RUN_LEFT if it ends with a letter that can start a run
    (no word character before it), RUN_RIGHT if it starts with one that can end a run, RUN_SPACES if
    it holds spaces itself. A run with a space separator only ever crosses pieces through a RUN_SINGLE
    or RUN_SPACES piece; every other run lies inside one piece."""
    if not piece:
        return 0
    flags = RUN_SPACES if " " in piece else 0
    if _is_ascii_letter(piece[-1]) and (len(piece) == 1 or _WORD_RE.match(piece[-2]) is None):
        flags |= RUN_LEFT
    if _is_ascii_letter(piece[0]) and (len(piece) == 1 or _WORD_RE.match(piece[1]) is None):
        flags |= RUN_RIGHT
    if len(piece) == 1 and flags:
        flags |= RUN_SINGLE
    return flags


def piece_chunks(clean: str) -> list[str]:
    """The chunks (`batch_chunks`) of cleaned text on its own: whitespace chunks, runs as RUN_MARK chunks."""
    return clean.split() if SPACED_RE.search(clean) is None else _run_chunks(clean)


def batch_chunks(texts: list[str]) -> list[str]:
    """A batch's cleaned messages as whitespace chunks, SEP_CHUNK between messages.

    Tokens never cross whitespace, so a chunk's tokens are a cache lookup (`chunk_tokens`); a
    spaced-letter run ("f u c k") becomes one chunk, RUN_MARK followed by the word it spells.
    """
    # a run cannot cross _SEP, and the spaces around it look like a message's start and end
    return piece_chunks(_SEP.join(map(clean_string, texts)))


def chunk_tokens(chunks: list[str]) -> list[tuple[str, ...]]:
    """The normalised tokens of each chunk (chunks not seen before are tokenised together)."""
    norms = list(map(_NORM.get, chunks))
    if None in norms:
        _prefetch([c for c, n in zip(chunks, norms) if n is None])
        norms = list(map(_NORM.__getitem__, chunks))
    return norms


def batch_token_strings(texts: list[str]) -> tuple[list[str], list[int]]:
    """`token_strings` of many messages at once: (all tokens in order, tokens per message)."""
    chunks = batch_chunks(texts)
    norms = chunk_tokens(chunks)
    counts = np.fromiter(map(len, norms), dtype=np.int64, count=len(norms))
    seps = np.flatnonzero(np.array(chunks, dtype=object) == SEP_CHUNK)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    starts = np.concatenate([[0], seps + 1])
    ends = np.concatenate([seps, [len(chunks)]])
    lengths = bounds[ends] - bounds[starts]
    return list(chain.from_iterable(norms)), lengths.tolist()


def tokenize_clean(clean: str) -> list[Token]:
    """Tokenise already-cleaned text into normalised tokens with spans in that text."""
    tokens: list[Token] = []
    pos = 0
    runs = _spaced_runs(clean) if SPACED_RE.search(clean) else []
    for start, end, joined in runs:
        tokens.extend(_chunk_tokens(clean, pos, start))
        tokens.append(Token(joined, start, end))
        pos = end
    tokens.extend(_chunk_tokens(clean, pos, len(clean)))
    return tokens


@dataclass(slots=True)
class TokenizedText:
    """A message after normalisation: tokens plus the way back to original offsets."""

    tokens: list[Token]
    offsets: OffsetMap | None

    def original_span(self, token: Token) -> tuple[int, int]:
        """The token's (start, end) in the original text."""
        if self.offsets is None:
            return token.start, token.end
        return self.offsets.span(token.start, token.end)


def normalize_text(text: str) -> TokenizedText:
    """Normalise and tokenise one message (the transformer applies this to every text)."""
    clean, offsets = clean_text(text)
    return TokenizedText(tokenize_clean(clean), offsets)


def normalized_string(text: str) -> str:
    """The normalised tokens joined by spaces: handy for reading what the model sees."""
    return " ".join(t.text for t in normalize_text(text).tokens)


class TextNormalizer(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: list of str -> list of TokenizedText."""

    def __init__(self) -> None:
        pass

    def fit(self, X, y=None):  # noqa: N803 - scikit-learn naming
        return self

    def transform(self, X) -> list[TokenizedText]:  # noqa: N803
        out = []
        for i, text in enumerate(X):
            if not isinstance(text, str):
                raise TypeError(f"item {i} is {type(text).__name__}, not str")
            out.append(normalize_text(text))
        return out
