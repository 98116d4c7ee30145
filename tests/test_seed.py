"""The curated seed set and functional suite: format, balance, split hygiene, reproducibility."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from harassflag.errors import DatasetError
from harassflag.heads import HEADS, MISSING, LabelledSet
from harassflag.seed import (
    FUNCTIONAL_PATH,
    SEED_PATH,
    SPLITS,
    build_seed,
    load_functional,
    load_seed,
    load_seed_rows,
)
from harassflag.seed.build_seed import COUNTS_END, COUNTS_START, FREEFORM_GROUP_SIZE, norm_key
from harassflag.seed.functional_cases import MIN_CASES
from harassflag.seed.obfuscate import FAMILIES, obfuscate
from harassflag.seed.seed_templates import (
    CATEGORIES,
    V2_SIZES,
    V3_SIZES,
    V4_SIZES,
    VERSION_SIZES,
)

FUNCTIONALITIES = {
    "threat_no_profanity": 1,
    "sexual_coercion": 1,
    "doxxing_threat": 1,
    "direct_insult": 1,
    "exclusion": 1,
    "self_harm_encouragement": 1,
    "untargeted_profanity": 0,
    "self_deprecation": 0,
    "negation": 0,
    "quoting_reporting": 0,
    "counter_speech": 0,
    "idioms": 0,
    "technical": 0,
    "neutral_identity": 0,
    "obf_leet": 1,
    "obf_masked": 1,
    "obf_spaced": 1,
    "obf_elongated": 1,
    "obf_homoglyph": 1,
    "obf_zero_width": 1,
}
V2_SEED_SHA256 = "24978c68d42834b45872b2552e40b9af9b0e2a558ced9ad8593911004eb24e8c"
"""sha256 of seed.jsonl as committed at v2: v3 may add rows, never change or reorder these."""
V3_EXTENDED = {
    "pile_on",
    "threat_expose",
    "threat_violence",
    "ordinary_chat",
    "violent_idiom",
    "stalking",
    "negation",
    "exclusion",
    "identity_attack",
}
V3_SEED_SHA256 = "6c30e44016e80608b6d0c6c8e046f197abf39b9d4fe9cdab4f6d34735f48d06f"
"""sha256 of seed.jsonl as committed at v3: v4 may add rows, never change or reorder these."""
V4_EXTENDED = {
    "counter_speech": (32, 12),
    "banter": (32, 12),
    "negation": (32, 12),
    "ordinary_chat": (32, 12),
    "sexual_harassment": (16, 6),
    "pile_on": (16, 6),
    "exclusion": (16, 6),
    "untargeted_profanity": (16, 6),
    "violent_idiom": (16, 6),
    "threat_violence": (16, 6),
    "threat_expose": (16, 6),
    "stalking": (16, 6),
}
"""Templates and hand-written messages added at v4, per category."""
V4_SEED_SHA256 = "bad53e034a84cd6c1cd6ac90a2ba4b8e1db4a589914c2b1ee58c2dba0d7a854d"
"""sha256 of seed.jsonl as committed at v4: v5 may add rows, never change or reorder these."""
V5_EXTENDED = {
    "ordinary_chat": (32, 8),
    "direct_insult": (24, 8),
    "banter": (24, 8),
    "counter_speech": (24, 8),
    "exclusion": (24, 8),
    "pile_on": (24, 8),
    "violent_idiom": (24, 8),
    "untargeted_profanity": (16, 6),
    "negation": (20, 6),
    "identity_attack": (16, 6),
    "threat_violence": (16, 6),
    "stalking": (16, 6),
}
"""Templates and hand-written messages added at v5, per category."""
SEED_KEYS = ["id", "text", "harassment", "hate", "offensive", "category", "template", "split"]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in SEED_PATH.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def functional() -> list[dict]:
    return [json.loads(line) for line in FUNCTIONAL_PATH.read_text(encoding="utf-8").splitlines()]


def test_seed_rows_have_the_schema(rows: list[dict]) -> None:
    assert len(rows) >= 2000
    for row in rows:
        assert list(row) == SEED_KEYS
        assert isinstance(row["text"], str) and row["text"].strip()
        assert row["harassment"] in (0, 1)
        assert row["hate"] in (0, 1, None)
        assert row["offensive"] in (0, 1, None)
        assert row["split"] in SPLITS
        assert row["category"] in CATEGORIES
        assert row["template"].startswith(row["category"] + "/")
        assert row["id"].startswith(row["template"] + "-")
    assert len({r["id"] for r in rows}) == len(rows)


def test_seed_is_balanced_overall_and_per_split(rows: list[dict]) -> None:
    share = sum(r["harassment"] for r in rows) / len(rows)
    assert 0.40 <= share <= 0.60
    for split in SPLITS:
        part = [r["harassment"] for r in rows if r["split"] == split]
        assert 0.40 <= sum(part) / len(part) <= 0.60, split


def test_splits_are_roughly_70_15_15(rows: list[dict]) -> None:
    counts = Counter(r["split"] for r in rows)
    assert 0.62 <= counts["train"] / len(rows) <= 0.78
    assert 0.10 <= counts["val"] / len(rows) <= 0.20
    assert 0.10 <= counts["test"] / len(rows) <= 0.20


def test_every_category_in_every_split(rows: list[dict]) -> None:
    present = {(r["category"], r["split"]) for r in rows}
    missing = [(c, s) for c in CATEGORIES for s in SPLITS if (c, s) not in present]
    assert not missing


def test_every_category_has_enough_templates(rows: list[dict]) -> None:
    for category, spec in CATEGORIES.items():
        assert len(spec["templates"]) >= 30, category
        assert len(spec["freeform"]) >= 15, category
        templates = {
            r["template"] for r in rows if r["category"] == category and "/ff" not in r["template"]
        }
        assert len(templates) >= 30, category
    labels = {r["category"]: r["harassment"] for r in rows}
    assert {c for c, y in labels.items() if y == 1} >= {
        "direct_insult",
        "threat_violence",
        "threat_expose",
        "sexual_harassment",
        "stalking",
        "exclusion",
        "self_harm_encouragement",
        "pile_on",
        "identity_attack",
        "obfuscated",
    }


def test_no_template_spans_two_splits(rows: list[dict]) -> None:
    splits_of = defaultdict(set)
    for r in rows:
        splits_of[r["template"]].add(r["split"])
    assert {t: s for t, s in splits_of.items() if len(s) > 1} == {}


def test_no_text_in_two_splits(rows: list[dict]) -> None:
    splits_of = defaultdict(set)
    for r in rows:
        splits_of[norm_key(r["text"])].add(r["split"])
    assert [k for k, s in splits_of.items() if len(s) > 1] == []


def test_vocabulary_is_shared_between_classes(rows: list[dict]) -> None:
    """Negatives must also use the words harassment uses, or a model learns words, not targeting."""
    for word in ("you", "@", "kill", "fuck", "idiot", "leave", "pics"):
        by_label = Counter(r["harassment"] for r in rows if word in r["text"].lower())
        assert by_label[0] >= 5 and by_label[1] >= 5, (word, by_label)


def test_hate_only_on_identity_attacks(rows: list[dict]) -> None:
    hateful = Counter(r["category"] for r in rows if r["hate"] == 1)
    assert hateful["identity_attack"] == sum(1 for r in rows if r["category"] == "identity_attack")
    assert all(CATEGORIES[c]["harassment"] == 1 for c in hateful)


def test_obfuscated_category_covers_every_family() -> None:
    import random

    rng = random.Random(0)
    for family in FAMILIES:
        assert obfuscate("you are a stupid idiot", family, rng) != "you are a stupid idiot", family


def test_obfuscated_rows_are_not_plain_ascii_words(rows: list[dict]) -> None:
    obf = [r["text"] for r in rows if r["category"] == "obfuscated"]
    assert any("\u200b" in t or "\u200c" in t or "\u200d" in t or "\u2060" in t for t in obf)
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in t) for t in obf)
    assert any("*" in t for t in obf)


def test_functional_suite_has_every_functionality(functional: list[dict]) -> None:
    counts = Counter(c["functionality"] for c in functional)
    for name in FUNCTIONALITIES:
        assert counts[name] >= max(25, MIN_CASES), name
    for case in functional:
        assert list(case) == ["functionality", "text", "harassment"]
        assert case["harassment"] == FUNCTIONALITIES[case["functionality"]]
        assert case["text"].strip()


def test_functional_texts_are_not_seed_texts(rows: list[dict], functional: list[dict]) -> None:
    seed_keys = {" ".join(r["text"].lower().split()) for r in rows}
    clashes = [
        c["functionality"] for c in functional if " ".join(c["text"].lower().split()) in seed_keys
    ]
    assert clashes == []


def test_functional_texts_are_distinct(functional: list[dict]) -> None:
    keys = [" ".join(c["text"].lower().split()) for c in functional]
    assert len(set(keys)) == len(keys)


def test_regenerating_gives_identical_bytes(tmp_path: Path) -> None:
    build_seed.build(tmp_path)
    assert (tmp_path / "seed.jsonl").read_bytes() == SEED_PATH.read_bytes()
    assert (tmp_path / "functional.jsonl").read_bytes() == FUNCTIONAL_PATH.read_bytes()


def test_module_command_regenerates_into_out_dir(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PYTHONHASHSEED": "123",
    }
    result = subprocess.run(
        [sys.executable, "-m", "harassflag.seed.build_seed", "--out-dir", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    assert (tmp_path / "seed.jsonl").read_bytes() == SEED_PATH.read_bytes()
    assert (tmp_path / "functional.jsonl").read_bytes() == FUNCTIONAL_PATH.read_bytes()


def test_datasheet_counts_match_the_generator(rows: list[dict], functional: list[dict]) -> None:
    text = (SEED_PATH.parent / "DATASHEET.md").read_text(encoding="utf-8")
    block = text[text.index(COUNTS_START) + len(COUNTS_START) : text.index(COUNTS_END)]
    assert block.strip() == build_seed.render_counts(rows, functional).strip()
    assert "CC0-1.0" in text


def test_load_seed_returns_a_labelled_set(rows: list[dict]) -> None:
    full = load_seed()
    assert isinstance(full, LabelledSet)
    assert len(full) == len(rows)
    assert full.groups == [r["template"] for r in rows]
    for head in HEADS:
        expected = np.array([MISSING if r[head] is None else r[head] for r in rows])
        assert np.array_equal(full.labels[head], expected), head
    assert (full.labels["hate"] == MISSING).any()
    sizes = [len(load_seed(s)) for s in SPLITS]
    assert sum(sizes) == len(full)
    test = load_seed("test")
    assert test.name == "seed:test"
    assert set(test.meta["splits"]) == {"test"}
    assert set(test.groups).isdisjoint(load_seed("train").groups)


def test_load_seed_rejects_unknown_split() -> None:
    with pytest.raises(DatasetError, match="unknown seed split"):
        load_seed("holdout")


def test_loaders_report_a_broken_file_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "seed.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="line 1"):
        load_seed_rows(path=bad)
    bad.write_text("not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 1"):
        load_functional(path=bad)
    with pytest.raises(DatasetError, match="cannot read"):
        load_functional(path=tmp_path / "absent.jsonl")


def test_load_functional_matches_the_file(functional: list[dict]) -> None:
    assert load_functional() == functional


def _unit_version(template_id: str) -> int:
    """Version that added a unit: template numbers and `ffN` batches past a version's sizes are later.

    Hand-written batches of each version start a new batch, so batch numbers count up per version.
    """
    category, unit = template_id.split("/")
    batches = previous_free = 0
    for version, sizes in sorted(VERSION_SIZES.items()):
        n_templates, n_free = sizes[category]
        if unit.startswith("ff"):
            batches += -(-(n_free - previous_free) // FREEFORM_GROUP_SIZE)
            previous_free = n_free
            if int(unit[2:]) <= batches:
                return version
        elif int(unit) <= n_templates:
            return version
    return max(VERSION_SIZES) + 1


def _is_v2_unit(template_id: str) -> bool:
    return _unit_version(template_id) == 2


def test_v3_keeps_every_v2_row_byte_for_byte() -> None:
    lines = SEED_PATH.read_bytes().splitlines(keepends=True)
    v2 = b"".join(line for line in lines if _is_v2_unit(json.loads(line)["template"]))
    assert hashlib.sha256(v2).hexdigest() == V2_SEED_SHA256
    assert len(v2) < SEED_PATH.stat().st_size


def test_v3_extends_the_weak_categories(rows: list[dict]) -> None:
    for category in CATEGORIES:
        (n2, f2), (n3, f3) = V2_SIZES[category], V3_SIZES[category]
        added = (n3 - n2, f3 - f2)
        assert added == ((16, 6) if category in V3_EXTENDED else (0, 0)), category
    new_units = defaultdict(set)
    for r in rows:
        if _unit_version(r["template"]) == 3:
            new_units[r["category"]].add(r["split"])
    assert set(new_units) == V3_EXTENDED
    assert all(splits == set(SPLITS) for splits in new_units.values()), new_units


def test_v4_keeps_every_v3_row_byte_for_byte() -> None:
    lines = SEED_PATH.read_bytes().splitlines(keepends=True)
    v3 = b"".join(line for line in lines if _unit_version(json.loads(line)["template"]) < 4)
    assert hashlib.sha256(v3).hexdigest() == V3_SEED_SHA256
    assert len(v3) < SEED_PATH.stat().st_size


def test_v4_extends_the_weak_categories(rows: list[dict]) -> None:
    for category in CATEGORIES:
        (n3, f3), (n4, f4) = V3_SIZES[category], V4_SIZES[category]
        assert (n4 - n3, f4 - f3) == V4_EXTENDED.get(category, (0, 0)), category
    new_units = defaultdict(set)
    for r in rows:
        if _unit_version(r["template"]) == 4:
            new_units[r["category"]].add(r["split"])
    assert set(new_units) == set(V4_EXTENDED)
    assert all(splits == set(SPLITS) for splits in new_units.values()), new_units


def test_v5_keeps_every_v4_row_byte_for_byte() -> None:
    lines = SEED_PATH.read_bytes().splitlines(keepends=True)
    v4 = b"".join(line for line in lines if _unit_version(json.loads(line)["template"]) < 5)
    assert hashlib.sha256(v4).hexdigest() == V4_SEED_SHA256
    assert len(v4) < SEED_PATH.stat().st_size


def test_v5_extends_the_weak_categories(rows: list[dict]) -> None:
    assert sorted(VERSION_SIZES) == [2, 3, 4]
    for category, spec in CATEGORIES.items():
        n_templates, n_free = V4_SIZES[category]
        added = (len(spec["templates"]) - n_templates, len(spec["freeform"]) - n_free)
        assert added == V5_EXTENDED.get(category, (0, 0)), category
    new_units = defaultdict(set)
    for r in rows:
        if _unit_version(r["template"]) == 5:
            new_units[r["category"]].add(r["split"])
    assert set(new_units) == set(V5_EXTENDED)
    assert all(splits == set(SPLITS) for splits in new_units.values()), new_units


def test_v5_harassment_templates_have_fewer_fillings(rows: list[dict]) -> None:
    rows_of = Counter(
        r["template"] for r in rows if _unit_version(r["template"]) == 5 and "/ff" not in r["template"]
    )
    for template, n in rows_of.items():
        harassment = CATEGORIES[template.split("/")[0]]["harassment"]
        assert n == (4 if harassment else 6), template
