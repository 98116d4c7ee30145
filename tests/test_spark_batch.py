"""The Spark engine against the local engine, on real files, with Spark in local[2] mode.

One SparkSession for the module; tiny splits (maxPartitionBytes) so that JSONL files are read as
several splits and line numbers must be rebuilt across them; small Arrow batches so that one Python
worker scores many batches with one model load.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from harassflag.batch.errors_log import StrictInputError
from harassflag.batch.runner import BatchConfig, run_batch
from harassflag.batch_spark import run_spark_batch
from harassflag.batch_spark.command import batch_spark
from harassflag.batch_spark.errors import SparkInputError

NAMES = ["sam", "alex", "jo", "kim"]
PHRASES = [
    "you are a worthless idiot",
    "see you tomorrow at lunch",
    "i know where you live, watch your back",
    "all foreigners are stupid and should leave",
    "holy shit that was a fun game",
    "thanks for the help with the release",
]


def _text(i: int) -> str:
    if i % 17 == 0:  # long enough to be scored as several windows
        return " ".join(f"{PHRASES[(i + k) % len(PHRASES)]} {NAMES[k % 4]}" for k in range(20))
    return f"{NAMES[i % 4]} {PHRASES[i % len(PHRASES)]} #{i}"


def _record(i: int) -> dict:
    return {
        "id": f"m{i}",
        "text": _text(i),
        "channel": f"chan-{i % 3}",
        "author": NAMES[(i + 1) % 4],
        "timestamp": f"2024-03-{1 + i % 5:02d}T10:{i % 60:02d}:00Z",
    }


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("harassflag-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.files.maxPartitionBytes", "4096")
        .config("spark.sql.files.openCostInBytes", "1024")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """JSONL, CSV and Parquet inputs with bad rows of every kind the engines must account for."""
    d = tmp_path_factory.mktemp("spark-in")
    lines = []
    for i in range(120):
        lines.append(json.dumps(_record(i)))
        if i == 10:
            lines.append('{"id": "broken", "text": "unterminated')  # malformed JSON
        if i == 20:
            lines.append("")  # blank: ignored by both engines
        if i == 30:
            lines.append(json.dumps({"id": "no-text", "channel": "x"}))  # missing text
        if i == 40:
            lines.append(json.dumps({"id": "empty", "text": "   "}))  # empty: skipped
        if i == 50:
            lines.append("[1, 2, 3]")  # not an object
        if i == 60:
            lines.append(json.dumps(_record(1000)) + " trailing")  # extra data
    jsonl = d / "export.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")

    csv_lines = ["id,channel,author,timestamp,text"]
    for i in range(200, 240):
        r = _record(i)
        text = r["text"].replace('"', '""')
        csv_lines.append(f'{r["id"]},{r["channel"]},{r["author"]},{r["timestamp"]},"{text}"')
        if i == 210:
            csv_lines.append("m-bad,chan-0,sam,2024-03-01,too,many,fields")
        if i == 220:
            csv_lines.append("m-short,chan-1")
        if i == 230:
            csv_lines.append('m-quoted,chan-2,jo,2024-03-02,"he said ""you idiot"" to me"')
    csv = d / "export.csv"
    csv.write_text("\n".join(csv_lines) + "\n", encoding="utf-8")

    rows = [_record(i) for i in range(300, 360)]
    rows[5]["text"] = None  # missing text
    rows[9]["text"] = ""  # skipped
    parquet = d / "export.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=16)
    return {"jsonl": jsonl, "csv": csv, "parquet": parquet}


@pytest.fixture(scope="module")
def local_run(inputs, tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("local-out") / "scores.parquet"
    config = BatchConfig(inputs=list(inputs.values()), out=out, progress="none")
    summary = run_batch(config, model_dir=str(tiny_model_dir), stream=io.StringIO())
    errors = [
        json.loads(x) for x in out.with_name(out.name + ".errors.jsonl").read_text().splitlines()
    ]
    return summary, pq.read_table(out).to_pylist(), errors


@pytest.fixture(scope="module")
def spark_run(spark, inputs, tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("spark-out") / "scores.parquet"
    stats = run_spark_batch(
        [str(p) for p in inputs.values()],
        out,
        spark=spark,
        model_path=tiny_model_dir,
        stream=io.StringIO(),
    )
    errors = []
    for part in sorted(Path(stats.errors_out).glob("part-*.json")):
        errors += [json.loads(x) for x in part.read_text().splitlines()]
    return stats, pq.read_table(out).to_pylist(), errors


def test_scores_flags_and_explanations_match_the_local_engine(local_run, spark_run):
    _, local_rows, _ = local_run
    _, spark_rows, _ = spark_run
    local = {(r["source"], r["id"]): r for r in local_rows}
    got = {(r["source"], r["id"]): r for r in spark_rows}
    assert len(got) == len(spark_rows) == len(local_rows) == len(local) > 200
    assert set(got) == set(local)
    heads = [c for c in local_rows[0] if c.startswith("score_")]
    assert heads == ["score_harassment", "score_hate", "score_offensive"]
    flagged = 0
    for key, want in local.items():
        row = got[key]
        for h in heads:
            assert abs(row[h] - want[h]) <= 1e-9, (key, h)
        assert row["flagged"] == want["flagged"], key
        assert row["explanation"] == want["explanation"], key
        for col in ("channel", "author", "timestamp", "text", "targets"):
            assert row[col] == want[col], (key, col)
        flagged += row["flagged"]
    assert 0 < flagged < len(local)


def test_output_schema_is_the_local_engines(local_run, spark_run, tmp_path):
    _, local_rows, _ = local_run
    _, spark_rows, _ = spark_run
    assert list(spark_rows[0]) == list(local_rows[0])


def test_line_numbers_match_for_jsonl_and_parquet(local_run, spark_run, inputs):
    local = {(r["source"], r["id"]): r["line"] for r in local_run[1]}
    for r in spark_run[1]:
        if not r["source"].endswith(".csv"):
            assert r["line"] == local[(r["source"], r["id"])], r["id"]
    assert any(r["line"] > 100 for r in spark_run[1] if r["source"].endswith(".jsonl"))


def test_bad_rows_are_counted_and_listed_like_the_local_engine(local_run, spark_run, inputs):
    summary, _, local_errors = local_run
    stats, _, spark_errors = spark_run
    assert stats.errors == summary.errors == len(spark_errors) == 7
    assert stats.skipped == summary.skipped == {"empty text": 2}
    assert stats.scored == summary.scored and stats.written == summary.written
    assert stats.flagged == summary.flagged
    key = lambda e: (e["source"], e["line"])
    not_csv = lambda e: not e["source"].endswith(".csv")
    assert sorted(map(key, filter(not_csv, spark_errors))) == sorted(
        map(key, filter(not_csv, local_errors))
    )
    reasons = {e["reason"] for e in spark_errors}
    assert "malformed JSON" in reasons and "missing text field 'text'" in reasons
    assert "expected a JSON object" in reasons
    assert "malformed JSON: extra data after the object" in reasons
    assert sum(e["source"].endswith(".csv") for e in spark_errors) == 2
    assert all(set(e) == {"source", "line", "reason"} for e in spark_errors)  # never the text


def test_model_is_loaded_once_per_python_worker(spark_run):
    stats = spark_run[0]
    assert 1 <= stats.model_loads <= 2  # local[2]: at most two Python workers
    assert stats.arrow_batches > 4 * stats.model_loads  # many batches, one load per worker


def test_partition_by_channel_and_only_flagged(spark, inputs, tiny_model_dir, tmp_path, local_run):
    out = tmp_path / "by-channel"
    stats = run_spark_batch(
        [str(inputs["parquet"])],
        out,
        spark=spark,
        model_path=tiny_model_dir,
        partition_by="channel",
        only_flagged=True,
        no_text=True,
        stream=io.StringIO(),
    )
    assert sorted(p.name for p in out.glob("channel=*")) == [
        "channel=chan-0",
        "channel=chan-1",
        "channel=chan-2",
    ]
    rows = spark.read.parquet(str(out)).collect()
    assert len(rows) == stats.written == stats.flagged > 0
    assert all(r["flagged"] for r in rows)
    assert "text" not in rows[0].asDict()
    want = {
        r["id"]: r["score_harassment"] for r in local_run[1] if r["source"].endswith(".parquet")
    }
    assert all(abs(r["score_harassment"] - want[r["id"]]) <= 1e-9 for r in rows)
    assert stats.errors == 1 and Path(stats.errors_out).is_dir()


def test_partition_by_date(spark, inputs, tiny_model_dir, tmp_path):
    out = tmp_path / "by-date"
    run_spark_batch(
        [str(inputs["parquet"])],
        out,
        spark=spark,
        model_path=tiny_model_dir,
        partition_by="date",
        explain_top=0,
        stream=io.StringIO(),
    )
    assert sorted(p.name for p in out.glob("date=*")) == [f"date=2024-03-0{d}" for d in range(1, 6)]


def test_strict_stops_at_the_first_bad_row_and_writes_nothing(
    spark, inputs, tiny_model_dir, tmp_path
):
    out = tmp_path / "strict"
    with pytest.raises(StrictInputError, match=r"export\.jsonl:12: malformed JSON"):
        run_spark_batch(
            [str(inputs["jsonl"])],
            out,
            spark=spark,
            model_path=tiny_model_dir,
            strict=True,
            stream=io.StringIO(),
        )
    assert not out.exists()


def test_existing_output_is_not_overwritten_without_the_flag(
    spark, inputs, tiny_model_dir, tmp_path
):
    from harassflag.batch_spark.errors import SparkOutputError

    out = tmp_path / "exists"
    out.mkdir()
    with pytest.raises(SparkOutputError, match="--overwrite"):
        run_spark_batch([str(inputs["csv"])], out, spark=spark, model_path=tiny_model_dir)


def test_csv_without_a_text_column_is_a_clear_error(spark, tiny_model_dir, tmp_path):
    bad = tmp_path / "notext.csv"
    bad.write_text("id,body_html\n1,hi\n")
    with pytest.raises(SparkInputError, match="no text column"):
        run_spark_batch(
            [str(bad)],
            tmp_path / "o",
            spark=spark,
            model_path=tiny_model_dir,
            fmt="csv",
            text_field="message",
            stream=io.StringIO(),
        )


def test_tampered_model_is_refused_on_the_executor(spark, tiny_model_dir, tmp_path):
    """The executor checks the shipped file's SHA-256 before unpickling it."""
    from harassflag.batch.writer import columns
    from harassflag.batch_spark.scoring import BatchScorer, spark_schema
    from harassflag.heads import HEADS

    tampered = tmp_path / "tampered-model"
    shutil.copytree(tiny_model_dir, tampered)
    with open(tampered / "model.joblib", "ab") as f:
        f.write(b"\0")
    spark.sparkContext.addFile(str(tampered), recursive=True)
    sha = json.loads((tiny_model_dir / "manifest.json").read_text())["sha256"]
    cols = columns(HEADS, False)
    df = spark.createDataFrame(
        [("1", "", "", "", "hello", "x", 1)],
        "id string, channel string, author string, timestamp string, text string, source string, line long",
    )
    scorer = BatchScorer("tampered-model", sha + "-other", tuple(cols))
    with pytest.raises(Exception, match="ModelIntegrityError"):
        df.mapInArrow(scorer, spark_schema(cols)).collect()
    assert sha  # the real model's hash is untouched


def test_command_runs_and_reports(spark, inputs, tiny_model_dir, tmp_path):
    from click.testing import CliRunner

    out = tmp_path / "cli-out"
    result = CliRunner().invoke(
        batch_spark,
        [
            str(inputs["csv"]),
            "--out",
            str(out),
            "--master",
            "local[2]",
            "--model",
            str(tiny_model_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "read 41 messages; scored 41" in result.output
    assert "bad input: 2 rows skipped" in result.output
    assert "model loaded" in result.output
    missing = CliRunner().invoke(
        batch_spark,
        [
            str(tmp_path / "nope.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tiny_model_dir),
        ],
    )
    assert missing.exit_code != 0 and "no such file" in str(missing.exception or missing.output)
