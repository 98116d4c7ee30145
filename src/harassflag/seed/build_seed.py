"""Regenerate the committed seed set and functional suite, byte-identically.

Run `python -m harassflag.seed.build_seed [--out-dir DIR]`. Standard library only; every random
draw comes from a `random.Random` seeded with a string, so the output never depends on the
interpreter's hash seed. Only counts are printed, never message text.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from .fill import fill_template
from .functional_cases import build_functional_cases
from .obfuscate import FAMILIES, obfuscate
from .seed_templates import CATEGORIES, SLOTS, V2_SIZES, VERSION_SIZES

SEED = "harassflag-seed-2026-11"
PACKAGE_DIR = Path(__file__).resolve().parent
SEED_FILE = "seed.jsonl"
FUNCTIONAL_FILE = "functional.jsonl"
DATASHEET_FILE = "DATASHEET.md"
COUNTS_START = "<!-- counts:start (written by build_seed, do not edit) -->"
COUNTS_END = "<!-- counts:end -->"

ROWS_PER_CATEGORY = {1: 270, 0: 200}
"""Target rows per category by harassment label at v2: 10 harassment and 13 negative categories.
With 32 templates per category this gives 8 fillings per harassment template and 6 per negative
one (v2, 2026-11): many templates, few fillings each, so templates and not fillings dominate.
Templates added later (v3, v4) get the same number of fillings, so extended categories grow (v5
harassment templates get fewer: `FILLINGS_FROM_VERSION`)."""

FILLINGS_FROM_VERSION: dict[int, dict[int, int]] = {5: {1: 4}}
"""Fillings per template from a version on, by harassment label, where they differ from v2's.
v5 harassment templates get 4 (not 8): at 8, the extra weight of new harassment rows lowered the
harassment macro-F1 on the public validation sets by more than 0.01 (see the datasheet)."""

FREEFORM_GROUP_SIZE = 4
"""Hand-written messages are split in batches of up to this many."""

SPLIT_SHARE = {"val": 0.15, "test": 0.15}
SPLITS = ("train", "val", "test")
OBFUSCATE_RATE = {1: 0.12, 0: 0.08}
"""Share of non-`obfuscated` rows given an obfuscated spelling, in both classes, so spelling
tricks are no giveaway of the label."""
NO_OBFUSCATION_CATEGORIES = frozenset({"technical"})
"""Nobody writes `k i l l -9`: technical text keeps its spelling (and is never shouted)."""

_SUFFIXES = [
    "",
    "",
    "",
    "",
    " lol",
    " lmao",
    " 💀",
    " 🙄",
    " tbh",
    " fr",
    " ngl",
    " smh",
    "!!",
    " 😂",
]

PROFANITY = (
    r"fuck\w*|shit\w*|bullshit|bitch\w*|ass|asses|asshole|dumbass|jackass|bastard|damn|goddamn|"
    r"dick|prick|cunt|slut|whore|skank|twat|wanker|bellend|piss\w*|stfu|wtf|ffs|dipshit"
)
INSULTS = (
    r"idiot\w*|moron\w*|loser|stupid\w*|dumb|clown|imbecile|cretin|muppet|freak|creep|pathetic|"
    r"worthless|ugly|parasite|rat|tool|jerk|scum|trash|garbage|retard\w*|tranny|cripple|paki|"
    r"fraud|hack|troll|dense|goblin|dork|nerd|noob|weirdo|menace|dummy|disgusting|braindead|"
    r"spineless|talentless|useless|annoying|prude|kys|urself"
)
_OFFENSIVE_RE = re.compile(rf"\b(?:{PROFANITY}|{INSULTS})\b", re.IGNORECASE)
# Words the lexicon matches but that are not insults when aimed at things, not people.
_THING_WORDS = re.compile(
    r"\b(?:trash|garbage|hack|tool|useless|disgusting|annoying|stupid|dumb|ugly)\b", re.IGNORECASE
)

_UNLEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "$": "s",
        "@": "a",
        "!": "i",
        "7": "t",
        "*": "u",
    }
)
_SPACED_RE = re.compile(r"\b\w(?:[ .\-_]\w\b){2,}")
_RUN_RE = re.compile(r"(\w)\1{2,}")
_ZW_RE = re.compile("[\u200b\u200c\u200d\u2060]")
_CYRILLIC_BACK = str.maketrans("аеорсхуіѕјАВЕКМНОРСТХ", "aeopcxyisjABEKMHOPCTX")


def fold_for_lexicon(text: str) -> str:
    """Undo common obfuscation well enough for the `offensive` lexicon (labels only, not modelling)."""
    text = _ZW_RE.sub("", text).translate(_CYRILLIC_BACK)
    text = _SPACED_RE.sub(lambda m: re.sub(r"[ .\-_]", "", m.group()), text)
    text = re.sub(
        r"(?<=\w)[0-9$@!*]+(?=\w)|\b[0-9$@!]+(?=[a-z])|(?<=[a-z])[0-9$@!]+\b",
        lambda m: m.group().translate(_UNLEET),
        text.lower(),
    )
    return _RUN_RE.sub(r"\1", text)


def offensive_label(
    clean_text: str, category: str, override: int | None | str = "auto"
) -> int | None:
    """`offensive`: 1 when profanity or an insult is present in the (de-obfuscated) text, else 0."""
    if override != "auto":
        return override  # type: ignore[return-value]
    hits = _OFFENSIVE_RE.findall(fold_for_lexicon(clean_text))
    if not hits:
        return 0
    if category == "negation":
        return 0  # the insult is denied, not used
    if category in {"reporting_quoting", "counter_speech", "discussion"}:
        return None  # the word is mentioned, not used: annotators disagree
    if category == "criticism_of_things" and all(_THING_WORDS.fullmatch(h) for h in hits):
        return 0
    return 1


def stylize(text: str, rng: random.Random, allow_upper: bool = True) -> str:
    """Chat-style casing and punctuation, drawn the same way for every category."""
    r = rng.random()
    if r < 0.32:
        text = text.lower()
    elif r < 0.36 and allow_upper:
        text = text.upper()
    elif r < 0.6 and text[:1].islower():
        text = text[0].upper() + text[1:]
    if text.endswith(".") and rng.random() < 0.5:
        text = text[:-1]
    if rng.random() < 0.25:
        text = text.rstrip() + rng.choice(_SUFFIXES)
    return text


def norm_key(text: str) -> str:
    """Comparison key: NFKC, lowercased, whitespace folded."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def _template_units(category: str, spec: dict) -> list[dict]:
    """Templates and small groups of hand-written messages: the units that are split.

    Units carry the version that added them. Hand-written messages of a later version start a new
    batch, so the batches (and rows) of earlier versions stay as they were.
    """
    bounds = [(v, sizes[category]) for v, sizes in VERSION_SIZES.items()]

    def version_of(i: int, axis: int) -> int:
        """Version of the i-th (1-based) template (axis 0) or message (axis 1)."""
        return next((v for v, size in bounds if i <= size[axis]), max(VERSION_SIZES) + 1)

    units = []
    for i, entry in enumerate(spec["templates"], start=1):
        template, overrides = entry if isinstance(entry, tuple) else (entry, {})
        units.append(
            {
                "id": f"{category}/{i:02d}",
                "template": template,
                "overrides": overrides,
                "version": version_of(i, 0),
            }
        )
    freeform = spec["freeform"]
    by_version: dict[int, list] = {}
    for i, message in enumerate(freeform, start=1):
        by_version.setdefault(version_of(i, 1), []).append(message)
    group = 0
    for version, batch in sorted(by_version.items()):
        for start in range(0, len(batch), FREEFORM_GROUP_SIZE):
            group += 1
            units.append(
                {
                    "id": f"{category}/ff{group}",
                    "messages": batch[start : start + FREEFORM_GROUP_SIZE],
                    "version": version,
                }
            )
    return units


def _assign_splits(category: str, units: list[dict]) -> dict[str, str]:
    """About 70/15/15 by unit, at least one unit per split, shuffled by a category-seeded rng.

    Each version's units are shuffled on their own (v2 with its original seed), so adding units
    in a later version never moves an existing unit to another split.
    """
    split = {}
    for version in sorted({u["version"] for u in units}):
        ids = [u["id"] for u in units if u["version"] == version]
        salt = "split" if version == 2 else f"split-v{version}"
        random.Random(f"{SEED}/{salt}/{category}").shuffle(ids)
        n = len(ids)
        n_test = max(1, round(SPLIT_SHARE["test"] * n))
        n_val = max(1, round(SPLIT_SHARE["val"] * n))
        for i, uid in enumerate(ids):
            split[uid] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return split


def _unit_candidates(
    category: str,
    harassment: int,
    unit: dict,
    per_template: int,
    seen: set[str],
    family_turn: list[int],
) -> list[tuple[str, dict, str]]:
    """(text, overrides, clean text) drafts of one unit; `family_turn` is a shared counter."""
    rng = random.Random(f"{SEED}/{unit['id']}")
    if "messages" in unit:
        drafts = [(m if isinstance(m, tuple) else (m, {})) for m in unit["messages"]]
        return [(text, ov, text) for text, ov in drafts]
    candidates: list[tuple[str, dict, str]] = []
    attempts = 0
    while len(candidates) < per_template and attempts < per_template * 12:
        attempts += 1
        clean = fill_template(unit["template"], SLOTS, rng)
        plain = category in NO_OBFUSCATION_CATEGORIES
        text = stylize(clean, rng, allow_upper=not plain)
        obf = category == "obfuscated" or (not plain and rng.random() < OBFUSCATE_RATE[harassment])
        if obf:
            family = FAMILIES[family_turn[0] % len(FAMILIES)]
            family_turn[0] += 1
            text = obfuscate(text, family, rng)
        if norm_key(text) in seen or any(norm_key(text) == norm_key(c[0]) for c in candidates):
            continue
        candidates.append((text, unit["overrides"], clean))
    return candidates


def _fillings(version: int, harassment: int, per_template: int) -> int:
    """Fillings per template of a version's units: v2's, unless a version from then on sets fewer."""
    later = [v for v in FILLINGS_FROM_VERSION if v <= version]
    return FILLINGS_FROM_VERSION[max(later)].get(harassment, per_template) if later else per_template


def build_seed_rows() -> list[dict]:
    """Every seed row, in a fixed order: by category, each version's rows after the previous ones.

    Units of each version are generated in a pass of their own (own obfuscation rotation, texts
    of earlier versions taking precedence), so later versions add rows without changing old ones.
    Fillings per template stay those of v2 (computed from the v2 template and message counts),
    except where `FILLINGS_FROM_VERSION` sets fewer for a version's new templates.
    """
    by_category: dict[str, list[dict]] = {c: [] for c in CATEGORIES}
    seen: set[str] = set()
    plan = []
    for category, spec in CATEGORIES.items():
        units = _template_units(category, spec)
        n_templates, n_free = V2_SIZES[category]
        per_template = -(-(ROWS_PER_CATEGORY[spec["harassment"]] - n_free) // n_templates)
        plan.append((category, spec, units, _assign_splits(category, units), per_template))
    for version in sorted({u["version"] for _, _, units, _, _ in plan for u in units}):
        family_turn = [0]
        for category, spec, units, splits, per_template in plan:
            harassment = spec["harassment"]
            fillings = _fillings(version, harassment, per_template)
            for unit in (u for u in units if u["version"] == version):
                k = 0
                for text, overrides, clean in _unit_candidates(
                    category, harassment, unit, fillings, seen, family_turn
                ):
                    key = norm_key(text)
                    if key in seen:
                        continue
                    seen.add(key)
                    k += 1
                    by_category[category].append(
                        {
                            "id": f"{unit['id']}-{k:02d}",
                            "text": text,
                            "harassment": harassment,
                            "hate": overrides.get("hate", spec["hate"]),
                            "offensive": offensive_label(
                                clean, category, overrides.get("offensive", "auto")
                            ),
                            "category": category,
                            "template": unit["id"],
                            "split": splits[unit["id"]],
                        }
                    )
    return [row for rows in by_category.values() for row in rows]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """One JSON object per line, UTF-8, LF endings."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def render_counts(rows: list[dict], functional: list[dict]) -> str:
    """Markdown tables of the counts (pasted into the datasheet between the markers)."""
    lines = [
        (
            f"Seed rows: **{len(rows)}** ({sum(r['harassment'] for r in rows)} harassment, "
            f"{sum(1 - r['harassment'] for r in rows)} not), templates and hand-written groups: "
            f"{len({r['template'] for r in rows})}."
        ),
        "",
    ]
    lines += [
        "| category | harassment | units (templates + hand-written batches) | train | val | test | total |",
        "|---|---|---|---|---|---|---|",
    ]
    for category, spec in CATEGORIES.items():
        cat_rows = [r for r in rows if r["category"] == category]
        c = Counter(r["split"] for r in cat_rows)
        lines.append(
            f"| {category} | {spec['harassment']} | {len({r['template'] for r in cat_rows})} | "
            f"{c['train']} | {c['val']} | {c['test']} | {len(cat_rows)} |"
        )
    lines += [
        "",
        "| split | rows | harassment=1 | harassment=0 | share positive |",
        "|---|---|---|---|---|",
    ]
    for split in SPLITS:
        s = [r for r in rows if r["split"] == split]
        pos = sum(r["harassment"] for r in s)
        lines.append(
            f"| {split} | {len(s)} | {pos} | {len(s) - pos} | {pos / max(1, len(s)):.3f} |"
        )
    lines += ["", "| head | 1 | 0 | null |", "|---|---|---|---|"]
    for head in ("harassment", "hate", "offensive"):
        c = Counter(r[head] for r in rows)
        lines.append(f"| {head} | {c[1]} | {c[0]} | {c[None]} |")
    lines += [
        "",
        f"Functional suite: **{len(functional)}** cases.",
        "",
        "| functionality | harassment | cases |",
        "|---|---|---|",
    ]
    fc = Counter(f["functionality"] for f in functional)
    flabel = {f["functionality"]: f["harassment"] for f in functional}
    for name in fc:
        lines.append(f"| {name} | {flabel[name]} | {fc[name]} |")
    return "\n".join(lines) + "\n"


def update_datasheet(path: Path, counts: str) -> bool:
    """Replace the counts block of an existing datasheet; False when the file or markers are absent."""
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    start, end = text.find(COUNTS_START), text.find(COUNTS_END)
    if start < 0 or end < start:
        return False
    new = text[: start + len(COUNTS_START)] + "\n" + counts + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8", newline="\n")
    return True


def build(out_dir: Path | str = PACKAGE_DIR) -> dict[str, object]:
    """Write seed.jsonl and functional.jsonl into `out_dir`; return the rendered counts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = build_seed_rows()
    seed_keys = {norm_key(r["text"]) for r in rows}
    functional = build_functional_cases()
    clashes = [f for f in functional if norm_key(f["text"]) in seed_keys]
    if clashes:
        raise ValueError(f"{len(clashes)} functional cases repeat a seed text; rewrite them")
    write_jsonl(out / SEED_FILE, rows)
    write_jsonl(out / FUNCTIONAL_FILE, functional)
    counts = render_counts(rows, functional)
    return {"rows": len(rows), "functional": len(functional), "counts": counts}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir", type=Path, default=PACKAGE_DIR, help="where to write the files"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    result = build(args.out_dir)
    datasheet_updated = update_datasheet(Path(args.out_dir) / DATASHEET_FILE, str(result["counts"]))
    if not args.quiet:
        print(result["counts"], end="")
        print(
            f"\nwrote {result['rows']} seed rows and {result['functional']} functional cases to "
            f"{args.out_dir}" + ("; datasheet counts updated" if datasheet_updated else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
