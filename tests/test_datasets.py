"""Dataset registry, verified reads, downloads from a real local HTTP server, loaders, own files."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harassflag.datasets import (
    DATASETS,
    BadRow,
    dataset_files,
    fetch_dataset,
    load_dataset,
    load_labelled_file,
    resolve_data_dir,
    tweet_key,
    verify_datasets,
)
from harassflag.errors import BadInputError, ChecksumError, DatasetError, DownloadError
from harassflag.heads import MISSING

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if not MIRROR.is_dir():
    MIRROR = Path("/work/shared/datasets")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fixture_registry(root: Path = FIXTURES) -> dict:
    """The real registry with the hashes of the fixture files (so every read is still verified)."""
    hashes = {p.relative_to(root).as_posix(): _sha256(p) for p in root.rglob("*") if p.is_file()}
    return {name: spec.rehashed(hashes) for name, spec in DATASETS.items()}


def labels(ls, head: str) -> list[int]:
    return [int(v) for v in ls.labels[head]]


# --- registry -----------------------------------------------------------------------------------


def test_registry_names_urls_and_hashes() -> None:
    assert set(DATASETS) == {"davidson", "olid", "hateval", "tweeteval-offensive", "tweeteval-hate"}
    (dav,) = dataset_files("davidson", "train")
    assert dav.relpath == "davidson/labeled_data.csv"
    assert dav.url.startswith("https://raw.githubusercontent.com/t-davidson/")
    assert dav.sha256 == "fcb8bc7c68120ae4af04a5b9acd58585513ede11e1548ebf36a5c2040b6f6281"
    text, lab = dataset_files("tweeteval-hate", "test")
    assert (
        text.url
        == "https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets/hate/test_text.txt"
    )
    assert lab.sha256 == "c14adca6b3627616a835c5ccea8a1cceb0235cd79417257f093eb0e16a69c62f"
    assert dataset_files("hateval", "val") == dataset_files("hateval", "dev")
    assert dataset_files("hateval", "test")[0].sha256 is None  # none published
    for spec in DATASETS.values():
        for remote in spec.all_files():
            assert remote.url.startswith("https://")
            assert remote.sha256 is None or len(remote.sha256) == 64


def test_unknown_dataset_and_split() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        load_dataset("nope", "train", FIXTURES)
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        load_dataset("davidson", "dev", FIXTURES)


def test_resolve_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HARASSFLAG_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == tmp_path / "data"
    monkeypatch.setenv("HARASSFLAG_DATA_DIR", str(tmp_path / "mirror"))
    assert resolve_data_dir() == tmp_path / "mirror"
    assert resolve_data_dir(tmp_path / "x") == tmp_path / "x"


# --- loaders on fixtures ------------------------------------------------------------------------


def test_davidson_fixture_split_quirks_and_labels() -> None:
    reg = fixture_registry()
    train = load_dataset("davidson", "train", FIXTURES, registry=reg)
    val = load_dataset("davidson", "val", FIXTURES, registry=reg)
    assert len(train) + len(val) == 20 and len(val) == 3  # one row of each class
    assert set(train.texts).isdisjoint(val.texts)
    again = load_dataset("davidson", "val", FIXTURES, registry=reg)
    assert again.texts == val.texts  # seeded: deterministic
    both = train.texts + val.texts
    assert "RT @someone: first line\nsecond line of the same tweet" in both  # multi-line field
    assert any("&amp;" in t and "&#8220;" in t for t in both)  # entities kept raw for the model
    assert not any(t.isdigit() for t in both)  # the unnamed index column is not the text
    assert sorted(labels(val, "hate")) == [0, 0, 1]
    assert sorted(labels(val, "offensive")) == [0, 1, 1]
    assert set(labels(train, "harassment")) == {MISSING}
    assert val.name == "davidson:val"
    assert val.meta["files"][0]["path"] == "davidson/labeled_data.csv"
    assert val.meta["files"][0]["sha256"] == _sha256(FIXTURES / "davidson/labeled_data.csv")
    assert val.meta["files"][0]["rows"] == 3


def test_olid_fixture_unescaped_quotes_and_val_matching() -> None:
    reg = fixture_registry()
    train = load_dataset("olid", "train", FIXTURES, registry=reg)
    val = load_dataset("olid", "val", FIXTURES, registry=reg)
    assert len(train) == 4 and len(val) == 2  # quotes did not merge rows
    assert train.texts[0] == '@USER you are "such an idiot'
    assert labels(train, "harassment") == [1, MISSING, 0, 0]  # IND, GRP, UNT, OTH
    assert labels(train, "hate") == [0, 1, 0, 0]
    assert labels(train, "offensive") == [1, 1, 1, 1]
    assert labels(val, "offensive") == [0, 0] and labels(val, "harassment") == [0, 0]
    assert val.meta["val_tweets"] == 2 and val.meta["val_tweets_matched"] == 2
    assert [f["path"] for f in val.meta["files"]] == [
        "olid/olid-training-v1.0.tsv",
        "tweeteval/offensive/val_text.txt",
    ]


def test_tweet_key_matches_olid_and_tweeteval_forms() -> None:
    assert tweet_key('"@USER said ""no"" URL"') == tweet_key('@user said ""no""  ')
    assert tweet_key("@USER  a   b URL") == tweet_key("@user a b")
    assert tweet_key("a URLs b") != tweet_key("a b")


def test_hateval_fixture_bom_crlf_trailing_columns() -> None:
    reg = fixture_registry()
    train = load_dataset("hateval", "train", FIXTURES, registry=reg)
    assert len(train) == 4  # the broken line (a record inside the 2nd column) is skipped
    assert train.meta["skipped_lines"] == 1 and train.meta["first_skipped_lines"] == [5]
    assert train.texts[1] == "Go back where you came from, all of you"
    assert not any(t.endswith("\r") or "\ufeff" in t for t in train.texts)
    assert labels(train, "hate") == [1, 1, 0, 0]
    assert labels(train, "harassment") == [1, 0, 0, 0]  # HS=1 and TR=1
    assert labels(train, "offensive") == [1, 1, MISSING, MISSING]
    dev = load_dataset("hateval", "val", FIXTURES, registry=reg)
    assert dev.name == "hateval:dev" and len(dev) == 2
    assert labels(dev, "harassment") == [1, 0]


def test_hateval_test_split_has_no_hash() -> None:
    with pytest.raises(DatasetError, match="no registered SHA-256"):
        load_dataset("hateval", "test", FIXTURES, registry=fixture_registry())


def test_tweeteval_fixture_and_mismatched_line_counts_refused() -> None:
    reg = fixture_registry()
    off = load_dataset("tweeteval-offensive", "train", FIXTURES, registry=reg)
    assert off.texts == ["@user you are an idiot ", "lovely day ", "what the hell "]
    assert labels(off, "offensive") == [1, 0, 1]
    assert set(labels(off, "hate")) == {MISSING} and set(labels(off, "harassment")) == {MISSING}
    with pytest.raises(DatasetError) as err:
        load_dataset("tweeteval-hate", "train", FIXTURES, registry=reg)
    msg = str(err.value)
    assert "tweeteval/hate/train_text.txt has 3 lines" in msg
    assert "tweeteval/hate/train_labels.txt has 2" in msg


def test_missing_file_says_how_to_fetch() -> None:
    with pytest.raises(
        DatasetError, match=r"absent .*harassflag data fetch tweeteval-offensive --split test"
    ):
        load_dataset("tweeteval-offensive", "test", FIXTURES, registry=fixture_registry())


def test_checksum_verified_on_every_read_even_with_cache(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "d")
    root = tmp_path / "d"
    reg = fixture_registry(FIXTURES)
    assert len(load_dataset("hateval", "dev", root, registry=reg)) == 2
    path = root / "hateval/hateval2019_en_dev.csv"
    data = bytearray(path.read_bytes())
    data[-3] = ord("1") if data[-3] == ord("0") else ord("0")  # same size, other content
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ChecksumError) as err:
        load_dataset("hateval", "dev", root, registry=reg)
    assert "hateval/hateval2019_en_dev.csv" in str(err.value)
    assert reg["hateval"].files("dev")[0].sha256 in str(err.value)
    assert _sha256(path) in str(err.value)
    statuses = {r.relpath: r.status for r in verify_datasets(root, registry=reg)}
    assert statuses["hateval/hateval2019_en_dev.csv"] == "mismatch"
    assert statuses["hateval/hateval2019_en_train.csv"] == "ok"
    assert statuses["davidson/labeled_data.csv"] == "ok"
    assert statuses["tweeteval/hate/val_text.txt"] == "missing"


# --- downloads against a real local HTTP server --------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, directory=str(FIXTURES), **kwargs)

    def do_GET(self) -> None:
        if self.path.startswith("/short/"):
            body = (FIXTURES / self.path[len("/short/") :]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 500))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True  # the connection drops before Content-Length is reached
            return
        super().do_GET()

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_fetch_downloads_verifies_and_is_idempotent(server: str, tmp_path: Path) -> None:
    reg = {n: s.rebased(server) for n, s in fixture_registry().items()}
    paths = fetch_dataset("hateval", tmp_path, progress=False, registry=reg)
    assert sorted(p.name for p in paths) == ["hateval2019_en_dev.csv", "hateval2019_en_train.csv"]
    assert _files_under(tmp_path) == sorted(paths)  # no temporary file left
    assert (tmp_path / "hateval/hateval2019_en_train.csv").read_bytes() == (
        FIXTURES / "hateval/hateval2019_en_train.csv"
    ).read_bytes()
    assert len(load_dataset("hateval", "train", tmp_path, registry=reg)) == 4
    mtime = paths[0].stat().st_mtime_ns
    fetch_dataset("hateval", tmp_path, progress=False, registry=reg)
    assert paths[0].stat().st_mtime_ns == mtime  # present and verified: no download


def test_fetch_replaces_a_damaged_file(server: str, tmp_path: Path) -> None:
    reg = {n: s.rebased(server) for n, s in fixture_registry().items()}
    target = tmp_path / "davidson/labeled_data.csv"
    target.parent.mkdir(parents=True)
    target.write_text("damaged")
    fetch_dataset("davidson", tmp_path, progress=False, registry=reg)
    assert target.read_bytes() == (FIXTURES / "davidson/labeled_data.csv").read_bytes()


def test_fetch_checksum_mismatch_leaves_nothing(server: str, tmp_path: Path) -> None:
    wrong = "0" * 64
    spec = DATASETS["davidson"].rehashed({"davidson/labeled_data.csv": wrong}).rebased(server)
    with pytest.raises(ChecksumError) as err:
        fetch_dataset("davidson", tmp_path, progress=False, registry={"davidson": spec})
    msg = str(err.value)
    assert "davidson/labeled_data.csv" in msg and wrong in msg
    assert _sha256(FIXTURES / "davidson/labeled_data.csv") in msg
    assert _files_under(tmp_path) == []


def test_fetch_interrupted_download_leaves_nothing(server: str, tmp_path: Path) -> None:
    reg = {n: s.rebased(server + "/short") for n, s in fixture_registry().items()}
    with pytest.raises(DownloadError) as err:
        fetch_dataset("hateval", tmp_path, splits=["dev"], progress=False, registry=reg)
    msg = str(err.value)
    assert "hateval/hateval2019_en_dev.csv" in msg and "interrupted" in msg
    assert _files_under(tmp_path) == []


def test_fetch_http_error_and_unsafe_url(server: str, tmp_path: Path) -> None:
    reg = {n: s.rebased(server + "/nothing-here") for n, s in fixture_registry().items()}
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_dataset("davidson", tmp_path, progress=False, registry=reg)
    reg = {n: s.rebased("http://example.com/") for n, s in fixture_registry().items()}
    with pytest.raises(DownloadError, match="only HTTPS"):
        fetch_dataset("davidson", tmp_path, progress=False, registry=reg)
    with pytest.raises(DatasetError, match="no registered SHA-256"):
        fetch_dataset("hateval", tmp_path, splits=["test"], progress=False)
    assert _files_under(tmp_path) == []


# --- the real mirror ----------------------------------------------------------------------------

MIRRORED = [
    ("davidson", "train", 22305),
    ("davidson", "val", 2478),
    ("olid", "train", 11906),
    ("olid", "val", 1334),
    ("hateval", "train", 8999),  # 9,000 tweets; one record's labels are lost in the file itself
    ("hateval", "dev", 1000),
    ("tweeteval-offensive", "train", 11916),
    ("tweeteval-offensive", "val", 1324),
    ("tweeteval-hate", "train", 9000),
    ("tweeteval-hate", "val", 1000),
]


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local mirror of the public datasets")
@pytest.mark.parametrize(("name", "split", "rows"), MIRRORED)
def test_mirror_splits_load_with_expected_rows(name: str, split: str, rows: int) -> None:
    ls = load_dataset(name, split, MIRROR)
    assert len(ls) == rows
    assert all(isinstance(t, str) for t in ls.texts)
    # TweetEval hate has 7 (train) + 1 (val) empty tweets: kept, so lines stay aligned.
    assert sum(not t.strip() for t in ls.texts) <= 7
    assert set(ls.heads_present()) == set(DATASETS[name].heads)
    for f in ls.meta["files"]:
        assert f["sha256"] == next(
            r.sha256 for r in dataset_files(name, split) if r.relpath == f["path"]
        )


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local mirror of the public datasets")
def test_mirror_totals_and_olid_val_matching() -> None:
    dav = [load_dataset("davidson", s, MIRROR) for s in ("train", "val")]
    assert sum(map(len, dav)) == 24783
    train, val = (load_dataset("olid", s, MIRROR) for s in ("train", "val"))
    assert len(train) + len(val) == 13240
    assert val.meta["val_tweets"] == 1324 and val.meta["val_tweets_matched"] == 1324
    assert len(val) == val.meta["val_rows"]
    keys = {tweet_key(t) for t in val.texts}
    assert not keys & {tweet_key(t) for t in train.texts}  # no leakage into TweetEval val


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local mirror of the public datasets")
def test_verify_mirror() -> None:
    results = verify_datasets(MIRROR)
    assert {r.status for r in results} == {"ok", "missing"}
    assert {r.relpath for r in results if r.status == "missing"} == {
        f"tweeteval/{t}/test_{k}.txt" for t in ("offensive", "hate") for k in ("text", "labels")
    }


# --- own labelled files -------------------------------------------------------------------------


def test_csv_bad_rows_with_physical_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "own.csv"
    path.write_text(
        "text,label\n"  # 1
        '"two\nlines",1\n'  # 2-3
        ",0\n"  # 4: no text
        "fine,maybe\n"  # 5: unknown label
        "too,many,fields\n"  # 6
        "ok,\n"  # 7: empty label -> MISSING
        "\n"  # 8: blank
        "yes,true\n",  # 9
        encoding="utf-8",
    )
    ls, bad = load_labelled_file(path, label_column="label")
    assert ls.texts == ["two\nlines", "ok", "yes"]
    assert labels(ls, "harassment") == [1, MISSING, 1]
    assert set(labels(ls, "hate")) == {MISSING}
    assert [(b.line, b.reason.split(" ")[0]) for b in bad] == [
        (4, "no"),
        (5, "'label':"),
        (6, "expected"),
    ]
    assert all(isinstance(b, BadRow) and b.path == str(path) for b in bad)
    assert ls.meta["bad_rows"] == 3 and ls.meta["files"][0]["rows"] == 3
    with pytest.raises(BadInputError, match=r"own\.csv:4: no text"):
        load_labelled_file(path, label_column="label", strict=True)


def test_jsonl_head_columns_and_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "own.jsonl"
    lines = [
        json.dumps({"msg": "you idiot", "is_hate": 0, "is_harass": True}),
        "{not json",
        "[1, 2]",
        "",
        json.dumps({"msg": "those people", "is_hate": "1", "is_harass": None}),
        json.dumps({"msg": 42, "is_hate": 0}),
        json.dumps({"msg": "x", "is_hate": 2}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ls, bad = load_labelled_file(
        path,
        text_column="msg",
        head_columns={"hate": "is_hate", "harassment": "is_harass"},
        name="mine",
    )
    assert ls.name == "mine" and ls.texts == ["you idiot", "those people"]
    assert labels(ls, "harassment") == [1, MISSING] and labels(ls, "hate") == [0, 1]
    assert [b.line for b in bad] == [2, 3, 6, 7]
    assert "malformed JSON" in bad[0].reason and "not a JSON object" in bad[1].reason
    with pytest.raises(BadInputError, match=r"own\.jsonl:2: malformed JSON"):
        load_labelled_file(path, text_column="msg", head_columns={"hate": "is_hate"}, strict=True)


def test_parquet_and_default_label_columns(tmp_path: Path) -> None:
    path = tmp_path / "own.parquet"
    table = pa.table(
        {
            "text": ["a", "", "c", "d"],
            "harassment": [1, 0, None, 0],
            "hate": [0.0, 1.0, 1.0, float("nan")],
        }
    )
    pq.write_table(table, path)
    ls, bad = load_labelled_file(path)  # columns named after heads are picked up
    assert ls.texts == ["a", "c", "d"]
    assert labels(ls, "harassment") == [1, MISSING, 0]
    assert labels(ls, "hate") == [0, 1, MISSING]
    assert [(b.line, b.reason) for b in bad] == [(2, "no text in 'text'")]
    assert ls.labels["offensive"].dtype == np.int8


def test_own_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\n,1\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="no usable row"):
        load_labelled_file(path, label_column="label")
    with pytest.raises(BadInputError, match="'lab' not found"):
        load_labelled_file(path, label_column="lab")
    with pytest.raises(BadInputError, match="unknown file type"):
        load_labelled_file(_touch(tmp_path / "x.txt"))
    with pytest.raises(BadInputError, match="no label column"):
        load_labelled_file(_write(tmp_path / "n.csv", "text,other\nhi,1\n"))


def _touch(path: Path) -> Path:
    path.write_text("x")
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
