"""End-to-end batch runs with the real tiny model: scores, order, jobs, outputs, bad input."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from harassflag import load_model
from harassflag.cli import main

FIX = Path(__file__).parent / "fixtures" / "batch"

WORDS = [
    "you",
    "are",
    "a",
    "great",
    "friend",
    "thanks",
    "for",
    "the",
    "help",
    "idiot",
    "loser",
    "stupid",
    "worthless",
    "see",
    "tomorrow",
    "sam",
    "kim",
]


def make_jsonl(path: Path, n: int, bad_every: int = 0, seed: int = 1) -> list[str]:
    """n synthetic messages (and a malformed line every `bad_every` lines); returns the texts."""
    rng = random.Random(seed)
    texts = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            if bad_every and i % bad_every == bad_every - 1:
                f.write('{"id": "broken", "text": \n')
                continue
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + f" #{i}"
            texts.append(text)
            rec = {
                "id": f"m{i}",
                "channel": f"c{i % 7}",
                "author": f"u{i % 13}",
                "timestamp": f"2024-01-{1 + i % 28:02d}T00:00:00Z",
                "text": text,
            }
            f.write(json.dumps(rec) + "\n")
    return texts


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    try:
        main(["batch", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_scores_equal_model_score_and_order_kept(
    tmp_path: Path, tiny_model_dir: Path, capsys
) -> None:
    src = tmp_path / "in.jsonl"
    texts = make_jsonl(src, 500)
    out = tmp_path / "out.jsonl"
    code, err = run_cli(
        [str(src), "--out", str(out), "--model", str(tiny_model_dir), "--chunk-size", "64"], capsys
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == texts
    assert [r["id"] for r in rows] == [f"m{i}" for i in range(500)]
    model = load_model(tiny_model_dir)
    expected = model.score(texts)
    for r, s in zip(rows, expected):
        assert {h: r[f"score_{h}"] for h in s.scores} == s.scores  # exactly the same floats
        assert r["flagged"] == s.flagged
    flagged = [r for r in rows if r["flagged"]]
    assert flagged and all(
        r["explanation"] and {"term", "weight"} <= set(r["explanation"][0]) for r in flagged
    )
    assert all(r["explanation"] == [] for r in rows if not r["flagged"])
    assert "detected jsonl" in err and "read 500 messages" in err
    assert not list(tmp_path.glob("out.jsonl.*")), "intermediate files left behind"


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_jobs_2_output_identical_to_jobs_1(
    tmp_path: Path, tiny_model_dir: Path, capsys, ext: str
) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 3000, bad_every=97)
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}.{ext}"
        code, err = run_cli(
            [
                str(src),
                "--out",
                str(out),
                "--model",
                str(tiny_model_dir),
                "--jobs",
                str(jobs),
                "--chunk-size",
                "150",
            ],
            capsys,
        )
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert (tmp_path / f"out1.{ext}.errors.jsonl").read_bytes() == (
        tmp_path / f"out2.{ext}.errors.jsonl"
    ).read_bytes()


def test_csv_and_parquet_outputs(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    import pyarrow.parquet as pq

    src = FIX / "messages.csv"
    for ext in ("csv", "parquet"):
        out = tmp_path / f"o.{ext}"
        code, err = run_cli([str(src), "--out", str(out), "--model", str(tiny_model_dir)], capsys)
        assert code == 0, err
    with open(tmp_path / "o.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["c1", "c2", "c4"]
    assert rows[1]["text"] == 'first line\nsecond line, with a comma\nthird line "quoted"'
    assert set(rows[0]) >= {
        "id",
        "channel",
        "author",
        "timestamp",
        "text",
        "score_harassment",
        "score_hate",
        "score_offensive",
        "flagged",
        "explanation",
    }
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.column("id").to_pylist() == ["c1", "c2", "c4"]
    assert [float(r["score_harassment"]) for r in rows] == table.column(
        "score_harassment"
    ).to_pylist()
    assert table.schema.field("explanation").type.value_type.names == ["term", "weight"]


def test_no_text_removes_text_everywhere(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    inputs = [
        FIX / n
        for n in (
            "slack",
            "discord.json",
            "telegram_chat.json",
            "whatsapp_android.txt",
            "messages.jsonl",
            "messages.csv",
        )
    ]
    texts = []
    for ext in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"o.{ext}"
        report = tmp_path / f"r-{ext}.html"
        code, err = run_cli(
            [
                *map(str, inputs),
                "--out",
                str(out),
                "--model",
                str(tiny_model_dir),
                "--no-text",
                "--report",
                str(report),
            ],
            capsys,
        )
        assert code == 0, err
        texts.append(out.read_bytes())
        texts.append(report.read_bytes())
        texts.append((tmp_path / f"o.{ext}.errors.jsonl").read_bytes())
        texts.append(err.encode())
    blob = b"\n".join(texts)
    for secret in (
        "worthless idiot",
        "nobody cares",
        "bring snacks",
        "glad to be here",
        "thanks, that fixed it",
        "see you tomorrow",
        "stupid idiot",
    ):
        assert secret.encode() not in blob, secret
    header = (tmp_path / "o.csv").read_text().splitlines()[0]
    assert "text" not in header.split(",")
    import pyarrow.parquet as pq

    assert "text" not in pq.read_schema(tmp_path / "o.parquet").names
    assert all(
        "text" not in json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()
    )


def test_bad_input_is_counted_and_listed(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 300, bad_every=20)  # 15 malformed lines
    out = tmp_path / "o.jsonl"
    code, err = run_cli([str(src), "--out", str(out), "--model", str(tiny_model_dir)], capsys)
    assert code == 0
    shown = [
        line
        for line in err.splitlines()
        if line.startswith("bad input: ") and "malformed JSON" in line
    ]
    assert len(shown) == 10  # the first ten only
    assert "in.jsonl:20:" in shown[0]
    listed = [
        json.loads(line) for line in (tmp_path / "o.jsonl.errors.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in listed] == list(range(20, 301, 20))
    assert "15 rows skipped" in err
    assert len(out.read_text().splitlines()) == 285


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_lone_surrogate_is_bad_input_not_a_traceback(
    tmp_path: Path, tiny_model_dir: Path, capsys, ext: str
) -> None:
    # JSON may escape a lone surrogate ("\\ud800"): valid JSON, but not writable as UTF-8.
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": "a", "text": "you idiot"}\n'
        '{"id": "b", "text": "bad \\ud800 text"}\n'
        '{"id": "c", "text": "fine", "author": "x\\udc80"}\n'
        '{"id": "d", "text": "caf\\u00e9 \\ud83d\\ude00 ok"}\n',
        encoding="utf-8",
    )
    out = tmp_path / f"o.{ext}"
    code, err = run_cli([str(src), "--out", str(out), "--model", str(tiny_model_dir)], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    assert (
        "in.jsonl:2: text: invalid Unicode" in err and "in.jsonl:3: author: invalid Unicode" in err
    )
    listed = [
        json.loads(line) for line in out.with_name(f"o.{ext}.errors.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in listed] == [2, 3]
    if ext == "parquet":
        import pyarrow.parquet as pq

        ids = pq.read_table(out).column("id").to_pylist()
    elif ext == "csv":
        with open(out, newline="", encoding="utf-8") as f:
            ids = [r["id"] for r in csv.DictReader(f)]
    else:
        ids = [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert ids == ["a", "d"]  # a valid surrogate pair (an emoji) is kept


def test_strict_stops_at_a_lone_surrogate(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "ok"}\n{"id": "b", "text": "\\ud800"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    code, err = run_cli(
        [str(src), "--out", str(out), "--model", str(tiny_model_dir), "--strict"], capsys
    )
    assert code == 4
    assert "in.jsonl:2: text: invalid Unicode" in err and "Traceback" not in err
    assert not out.exists()


def test_strict_exits_non_zero_with_a_message(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    out = tmp_path / "o.jsonl"
    code, err = run_cli(
        [
            str(FIX / "messages.jsonl"),
            "--out",
            str(out),
            "--model",
            str(tiny_model_dir),
            "--strict",
        ],
        capsys,
    )
    assert code == 4
    assert "messages.jsonl:2: malformed JSON" in err and "--strict" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_every_format_in_one_run_with_report(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    names = [
        "slack",
        "discord.json",
        "telegram_chat.json",
        "telegram_full.json",
        "whatsapp_android.txt",
        "whatsapp_ios.txt",
        "plain.txt",
    ]
    out = tmp_path / "all.jsonl"
    report = tmp_path / "report.html"
    code, err = run_cli(
        [
            *(str(FIX / n) for n in names),
            "--out",
            str(out),
            "--model",
            str(tiny_model_dir),
            "--report",
            str(report),
        ],
        capsys,
    )
    assert code == 0, err
    for fmt in ("slack", "discord", "telegram", "whatsapp", "text"):
        assert f"detected {fmt}" in err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 7 + 3 + 3 + 2 + 4 + 4 + 3
    page = report.read_text()
    for section in (
        "Flagged rate per channel",
        "Authors with the most flagged messages",
        "Who is targeted most",
        "Flagged messages over time",
        "Top flagged messages",
    ):
        assert section in page
    assert "<svg" in page and "<mark>" in page
    assert "http" not in page.split("<body>")[0].replace("http://www.w3.org", "")  # self-contained


def test_only_flagged(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 400)
    full, only = tmp_path / "full.jsonl", tmp_path / "only.jsonl"
    run_cli([str(src), "--out", str(full), "--model", str(tiny_model_dir)], capsys)
    run_cli(
        [str(src), "--out", str(only), "--model", str(tiny_model_dir), "--only-flagged"], capsys
    )
    flagged = [line for line in full.read_text().splitlines() if json.loads(line)["flagged"]]
    assert flagged and only.read_text().splitlines() == flagged


def test_unknown_output_extension(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    code, err = run_cli(
        [str(FIX / "plain.txt"), "--out", str(tmp_path / "o.xlsx"), "--model", str(tiny_model_dir)],
        capsys,
    )
    assert code == 2 and "use .jsonl, .csv or .parquet" in err


def test_queue_pushes_flagged_messages_once(
    tmp_path: Path, tiny_model_dir: Path, capsys, monkeypatch
) -> None:
    from harassflag.review import ReviewQueue

    db = f"sqlite:///{tmp_path / 'review.db'}"
    monkeypatch.setenv("HARASSFLAG_DATABASE_URL", db)
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 300)
    out = tmp_path / "o.jsonl"
    for _ in range(2):  # a second run (like a resume) must not duplicate items
        code, err = run_cli(
            [str(src), "--out", str(out), "--model", str(tiny_model_dir), "--queue"], capsys
        )
        assert code == 0, err
    flagged = sum(json.loads(line)["flagged"] for line in out.read_text().splitlines())
    queue = ReviewQueue(db)
    try:
        assert flagged > 0 and queue.count() == flagged
    finally:
        queue.close()
