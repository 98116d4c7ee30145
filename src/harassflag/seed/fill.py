"""Slot filling shared by the seed generator and the functional suite."""

from __future__ import annotations

import random
import re

_SLOT_RE = re.compile(r"\{(\w+)\}|\[([^\[\]]+)\]")
_ARTICLE_RE = re.compile(r"\b([Aa]) (?=(?!us|uni|use|one)[aeiouAEIOU])")


def fix_articles(text: str) -> str:
    """Turn "a idiot" into "an idiot" after slots are filled ("a useless" stays)."""
    return _ARTICLE_RE.sub(lambda m: m.group(1) + "n ", text)


def fill_template(template: str, slots: dict[str, list[str]], rng: random.Random) -> str:
    """Fill `{slot}` (values may hold slots) and `[a|b]` alternatives, then fix articles."""
    text = template
    for _ in range(6):
        new = _SLOT_RE.sub(
            lambda m: (
                rng.choice(slots[m.group(1)]) if m.group(1) else rng.choice(m.group(2).split("|"))
            ),
            text,
        )
        if new == text:
            break
        text = new
    return fix_articles(text)
