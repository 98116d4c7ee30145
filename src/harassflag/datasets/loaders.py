"""One loader per public dataset, each handling that file's real quirks, and `load_dataset`."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..heads import MISSING, LabelledSet
from .registry import DatasetSpec, get_spec
from .store import read_verified, resolve_data_dir

DAVIDSON_SEED = 13
DAVIDSON_VAL_FRACTION = 0.1

Files = dict[str, bytes]
"""relpath -> verified bytes of the files a split is read from."""


class _Rows:
    """Texts and per-head labels collected by a loader, plus per-file row counts."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.labels: dict[str, list[int]] = {"harassment": [], "hate": [], "offensive": []}
        self.rows: dict[str, int] = {}
        self.extra: dict[str, object] = {}

    def add(self, text: str, harassment: int, hate: int, offensive: int) -> None:
        self.texts.append(text)
        self.labels["harassment"].append(harassment)
        self.labels["hate"].append(hate)
        self.labels["offensive"].append(offensive)


def _decode(data: bytes, relpath: str, encoding: str = "utf-8") -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{relpath}: not valid UTF-8 at byte {exc.start}") from None


def _lines(data: bytes, relpath: str) -> list[str]:
    """Lines of a line-aligned file (split on \\n only; a final newline ends the last line)."""
    text = _decode(data, relpath)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _int_label(value: str, relpath: str, line: int, allowed: tuple[str, ...] = ("0", "1")) -> int:
    value = value.strip()
    if value not in allowed:
        raise DatasetError(
            f"{relpath}:{line}: unexpected label {value!r} (expected {'/'.join(allowed)})"
        )
    return int(value)


# --- Davidson -----------------------------------------------------------------------------------


def stratified_split(
    classes: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified (train, val) row indices: per class, a seeded shuffle, then cut."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(classes):
        idx = np.flatnonzero(classes == cls)
        idx = idx[rng.permutation(len(idx))]
        n_val = round(len(idx) * val_fraction)
        if n_val == 0 and len(idx) >= 2:  # keep every class in val, even a tiny one
            n_val = 1
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _load_davidson(spec: DatasetSpec, split: str, files: Files) -> _Rows:
    (relpath,) = files
    # Quoted fields span lines; the text keeps its HTML entities (the model's normaliser decodes them).
    reader = csv.reader(io.StringIO(_decode(files[relpath], relpath), newline=""))
    header = next(reader, None)
    if header is None or header[1:] != [
        "count",
        "hate_speech",
        "offensive_language",
        "neither",
        "class",
        "tweet",
    ]:
        raise DatasetError(f"{relpath}: unexpected header {header!r}")
    texts: list[str] = []
    classes: list[int] = []
    for record in reader:
        if len(record) != 7:
            raise DatasetError(
                f"{relpath}:{reader.line_num}: expected 7 fields, found {len(record)}"
            )
        classes.append(_int_label(record[5], relpath, reader.line_num, ("0", "1", "2")))
        texts.append(record[6])
    cls = np.asarray(classes, dtype=np.int8)
    train_idx, val_idx = stratified_split(cls, DAVIDSON_VAL_FRACTION, DAVIDSON_SEED)
    index = train_idx if split == "train" else val_idx
    out = _Rows()
    for i in index:
        c = int(cls[i])
        out.add(texts[i], harassment=MISSING, hate=int(c == 0), offensive=int(c in (0, 1)))
    out.rows[relpath] = len(index)
    out.extra = {
        "split_rule": f"stratified by class, seed {DAVIDSON_SEED}, val {DAVIDSON_VAL_FRACTION:.0%}",
        "source_rows": len(texts),
    }
    return out


# --- OLID ---------------------------------------------------------------------------------------

_URL_TOKEN = re.compile(r"(?<!\S)URL(?!\S)")
_USER_TOKEN = re.compile(r"@user", re.IGNORECASE)


def tweet_key(text: str) -> str:
    """A comparison key equal for the same tweet in OLID and TweetEval.

    TweetEval writes `@user` where OLID has `@USER`, dropped OLID's `URL` placeholders and the
    quotes around some tweets; both differ in whitespace.
    """
    text = _USER_TOKEN.sub("@user", text)
    previous = None
    while text != previous:
        previous = text
        text = " ".join(_URL_TOKEN.sub(" ", text).split()).strip('"').strip()
    return text


def _olid_harassment(a: str, b: str, c: str) -> int:
    if c == "IND":
        return 1
    if c == "GRP":
        return MISSING  # an attack on a group: may or may not also target a person
    if a == "NOT" or b == "UNT" or c == "OTH":
        return 0
    return MISSING


def _load_olid(spec: DatasetSpec, split: str, files: Files) -> _Rows:
    tsv, val_text = (f.relpath for f in spec.files(split))
    val_lines = [tweet_key(line) for line in _lines(files[val_text], val_text)]
    val_keys = set(val_lines)
    # Tweets contain unescaped quotes: quoting must be disabled or records swallow each other.
    reader = csv.reader(
        io.StringIO(_decode(files[tsv], tsv), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    header = next(reader, None)
    if header != ["id", "tweet", "subtask_a", "subtask_b", "subtask_c"]:
        raise DatasetError(f"{tsv}: unexpected header {header!r}")
    out = _Rows()
    total = matched = 0
    olid_keys: set[str] = set()
    for record in reader:
        if not record:
            continue
        if len(record) != 5:
            raise DatasetError(f"{tsv}:{reader.line_num}: expected 5 fields, found {len(record)}")
        _, tweet, a, b, c = record
        if a not in ("OFF", "NOT"):
            raise DatasetError(f"{tsv}:{reader.line_num}: unexpected subtask_a {a!r}")
        total += 1
        key = tweet_key(tweet)
        in_val = key in val_keys
        if in_val:
            matched += 1
            olid_keys.add(key)
        if in_val != (split == "val"):
            continue
        out.add(
            tweet,
            harassment=_olid_harassment(a, b, c),
            hate=int(c == "GRP"),
            offensive=int(a == "OFF"),
        )
    out.rows[tsv] = len(out.texts)
    out.rows[val_text] = len(val_lines)
    out.extra = {
        "split_rule": f"val = OLID rows whose tweet is in {val_text}",
        "source_rows": total,
        "val_rows": matched,
        "val_tweets": len(val_lines),
        "val_tweets_matched": sum(1 for key in val_lines if key in olid_keys),
    }
    return out


# --- HatEval ------------------------------------------------------------------------------------

_LABEL_TAIL = re.compile(r"\?,[01],[01],[01],*$")


def _load_hateval(spec: DatasetSpec, split: str, files: Files) -> _Rows:
    (relpath,) = files
    # UTF-8 with BOM, CRLF, trailing empty columns; the train file also holds 77 broken lines
    # (a record pasted into the second column of an empty one) that duplicate real records.
    reader = csv.reader(io.StringIO(_decode(files[relpath], relpath, "utf-8-sig"), newline=""))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:5]] != ["id", "text", "HS", "TR", "AG"]:
        raise DatasetError(f"{relpath}: unexpected header {header!r}")
    out = _Rows()
    skipped: list[int] = []
    start = reader.line_num + 1
    for record in reader:
        line, start = start, reader.line_num + 1
        if not record:
            continue
        if (
            len(record) < 5
            or not record[0].strip().isdigit()
            or record[2].strip() not in ("0", "1")
        ):
            skipped.append(line)
            continue
        text, hs, tr = record[1], int(record[2]), record[3].strip()
        # Mis-encoded tweets lost their closing quote, pulling "?,HS,TR,AG" into the text.
        text = _LABEL_TAIL.sub("?", text)
        if hs == 1:
            harassment = 1 if tr == "1" else 0 if tr == "0" else MISSING
        else:
            harassment = 0
        out.add(text, harassment=harassment, hate=hs, offensive=1 if hs == 1 else MISSING)
    out.rows[relpath] = len(out.texts)
    out.extra = {"skipped_lines": len(skipped), "first_skipped_lines": skipped[:10]}
    return out


# --- TweetEval ----------------------------------------------------------------------------------


def _load_tweeteval(head: str) -> Callable[[DatasetSpec, str, Files], _Rows]:
    def load(spec: DatasetSpec, split: str, files: Files) -> _Rows:
        text_path, label_path = (f.relpath for f in spec.files(split))
        texts = _lines(files[text_path], text_path)
        labels = _lines(files[label_path], label_path)
        if len(texts) != len(labels):
            raise DatasetError(
                f"{spec.name} {split}: {text_path} has {len(texts)} lines but {label_path} has "
                f"{len(labels)}; the files are line-aligned and must have the same count"
            )
        out = _Rows()
        for i, (text, label) in enumerate(zip(texts, labels), start=1):
            value = _int_label(label, label_path, i)
            out.add(
                text,
                harassment=MISSING,
                hate=value if head == "hate" else MISSING,
                offensive=value if head == "offensive" else MISSING,
            )
        out.rows[text_path] = out.rows[label_path] = len(texts)
        return out

    return load


LOADERS: dict[str, Callable[[DatasetSpec, str, Files], _Rows]] = {
    "davidson": _load_davidson,
    "olid": _load_olid,
    "hateval": _load_hateval,
    "tweeteval-offensive": _load_tweeteval("offensive"),
    "tweeteval-hate": _load_tweeteval("hate"),
}


def load_dataset(
    name: str,
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    registry: Mapping[str, DatasetSpec] | None = None,
) -> LabelledSet:
    """Load one split of a public dataset, verifying the SHA-256 of every file it reads.

    `registry` replaces DATASETS (e.g. `{"olid": DATASETS["olid"].rehashed(hashes)}` over a
    fixture data dir); the loader is chosen by the spec's `loader` (default: its name).
    """
    spec = get_spec(name, registry)
    canonical = spec.canonical_split(split)
    loader = LOADERS.get(spec.loader or spec.name)
    if loader is None:
        raise DatasetError(f"{name}: no loader {spec.loader or spec.name!r}")
    root: Path = resolve_data_dir(data_dir)
    files: Files = {}
    hashes: dict[str, str] = {}
    for remote in spec.files(canonical):
        if remote.relpath not in files:
            files[remote.relpath] = read_verified(name, remote, root, canonical)
            hashes[remote.relpath] = remote.sha256 or ""
    rows = loader(spec, canonical, files)
    labels = {head: np.asarray(values, dtype=np.int8) for head, values in rows.labels.items()}
    meta = {
        "dataset": name,
        "split": canonical,
        "files": [{"path": p, "sha256": hashes[p], "rows": rows.rows.get(p, 0)} for p in files],
        **rows.extra,
    }
    return LabelledSet(name=f"{name}:{canonical}", texts=rows.texts, labels=labels, meta=meta)
