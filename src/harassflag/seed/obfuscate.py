"""Obfuscation families used to write evasive variants of seed and functional-suite messages.

Every function takes a `random.Random` so the generator stays deterministic.
"""

from __future__ import annotations

import random
import re

FAMILIES: tuple[str, ...] = (
    "leet",
    "masked",
    "spaced",
    "dotted",
    "elongated",
    "homoglyph",
    "zero_width",
    "mixed_case",
)
"""Every obfuscation family, in a fixed order (the generator rotates through it)."""

# Words an evader hides first: insults, profanity, threat and coercion verbs, the target pronoun.
TARGET_WORDS: frozenset[str] = frozenset(
    [
        "idiot",
        "moron",
        "loser",
        "stupid",
        "dumb",
        "dumbass",
        "clown",
        "fuck",
        "fucking",
        "fucked",
        "shit",
        "piece",
        "bitch",
        "asshole",
        "whore",
        "slut",
        "ugly",
        "worthless",
        "pathetic",
        "useless",
        "freak",
        "creep",
        "kill",
        "killing",
        "die",
        "dead",
        "hurt",
        "stab",
        "shoot",
        "beat",
        "leak",
        "nudes",
        "pics",
        "pic",
        "nude",
        "post",
        "dox",
        "address",
        "live",
        "leave",
        "disappear",
        "yourself",
        "kys",
        "hang",
        "jump",
        "rope",
        "trash",
        "waste",
        "garbage",
        "cunt",
        "dick",
        "retard",
        "scum",
        "rat",
        "loser",
        "leave",
        "nobody",
        "everyone",
        "spam",
        "raid",
        "report",
        "country",
        "kind",
        "people",
        "send",
        "naked",
        "cam",
        "body",
        "knees",
        "watch",
        "find",
        "coming",
        "door",
        "follow",
        "following",
        "waiting",
        "watching",
    ]
)

_LEET = {
    "a": "4@",
    "e": "3",
    "i": "1!",
    "o": "0",
    "s": "5$",
    "t": "7",
    "l": "1",
    "g": "9",
    "b": "8",
}
_HOMOGLYPH = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
    "y": "\u0443",
    "i": "\u0456",
    "s": "\u0455",
    "j": "\u0458",
    "A": "\u0410",
    "B": "\u0412",
    "E": "\u0415",
    "K": "\u041a",
    "M": "\u041c",
    "H": "\u041d",
    "O": "\u041e",
    "P": "\u0420",
    "C": "\u0421",
    "T": "\u0422",
    "X": "\u0425",
}
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060")
_VOWELS = "aeiouAEIOU"
_WORD_RE = re.compile(r"[A-Za-z]{2,}")


def _leet(word: str, rng: random.Random) -> str:
    out = [
        rng.choice(_LEET[ch.lower()]) if ch.lower() in _LEET and rng.random() < 0.7 else ch
        for ch in word
    ]
    if "".join(out) == word:
        idx = [i for i, ch in enumerate(word) if ch.lower() in _LEET]
        if idx:
            i = rng.choice(idx)
            out[i] = _LEET[word[i].lower()][0]
    return "".join(out)


def _masked(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word[0] + "*"
    inner = list(range(1, len(word) - 1))
    vowels = [i for i in inner if word[i] in _VOWELS]
    out = list(word)
    style = rng.random()
    if style < 0.25 and len(word) >= 4:  # f***
        return word[0] + "*" * (len(word) - 1)
    if style < 0.45 and any(ch in "isIS" for ch in word[1:]):  # sh!t, a$$
        return word[0] + "".join(
            {"i": "!", "s": "$", "I": "!", "S": "$"}.get(ch, ch) for ch in word[1:]
        )
    targets = vowels or inner
    for i in rng.sample(targets, k=min(len(targets), rng.choice((1, 1, 2)))):
        out[i] = "*"
    return "".join(out)


def _spaced(word: str, rng: random.Random) -> str:
    return " ".join(word)


def _dotted(word: str, rng: random.Random) -> str:
    return rng.choice((".", ".", "-", "_")).join(word)


def _elongated(word: str, rng: random.Random) -> str:
    vowels = [i for i, ch in enumerate(word) if ch in _VOWELS]
    i = rng.choice(vowels) if vowels else len(word) - 1
    return word[: i + 1] + word[i] * rng.randint(3, 6) + word[i + 1 :]


def _homoglyph(word: str, rng: random.Random) -> str:
    idx = [i for i, ch in enumerate(word) if ch in _HOMOGLYPH]
    if not idx:
        return word
    chosen = set(rng.sample(idx, k=max(1, len(idx) // 2)))
    return "".join(_HOMOGLYPH[ch] if i in chosen else ch for i, ch in enumerate(word))


def _zero_width(word: str, rng: random.Random) -> str:
    if len(word) < 2:
        return word
    positions = sorted(rng.sample(range(1, len(word)), k=min(len(word) - 1, rng.choice((1, 1, 2)))))
    out, last = [], 0
    for p in positions:
        out.append(word[last:p])
        out.append(rng.choice(_ZERO_WIDTH))
        last = p
    out.append(word[last:])
    return "".join(out)


def _mixed_case(word: str, rng: random.Random) -> str:
    start = rng.random() < 0.5
    out = [ch.upper() if (i % 2 == 0) == start else ch.lower() for i, ch in enumerate(word)]
    result = "".join(out)
    return result if result != word else word.swapcase()


_WORD_FUNCS = {
    "leet": _leet,
    "masked": _masked,
    "spaced": _spaced,
    "dotted": _dotted,
    "elongated": _elongated,
    "homoglyph": _homoglyph,
    "zero_width": _zero_width,
    "mixed_case": _mixed_case,
}


def obfuscate(text: str, family: str, rng: random.Random, max_words: int = 2) -> str:
    """Apply one obfuscation family to the words an evader would hide (1 to `max_words` of them)."""
    func = _WORD_FUNCS[family]
    if family == "mixed_case" and rng.random() < 0.4:  # whole-message sPoNgEcAsE
        return "".join(_mixed_case(w, rng) if w.isalpha() else w for w in re.split(r"(\W+)", text))
    matches = list(_WORD_RE.finditer(text))
    targets = [m for m in matches if m.group().lower() in TARGET_WORDS]
    if not targets:
        targets = [m for m in matches if len(m.group()) >= 4] or matches
    if not targets:
        return text
    k = min(len(targets), rng.randint(1, max_words))
    chosen = sorted(rng.sample(targets, k=k), key=lambda m: m.start())
    out, last = [], 0
    for m in chosen:
        out.append(text[last : m.start()])
        out.append(func(m.group(), rng))
        last = m.end()
    out.append(text[last:])
    result = "".join(out)
    if result == text:  # e.g. no homoglyph-able letter in the chosen words: hide another word
        for m in matches:
            changed = func(m.group(), rng)
            if changed != m.group():
                return text[: m.start()] + changed + text[m.end() :]
    return result
