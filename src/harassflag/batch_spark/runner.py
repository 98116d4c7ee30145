"""A Spark batch run: read → classify → count → errors out → score (mapInArrow) → Parquet out.

Passes over the input: one cheap JVM-side aggregate (rows per file split and per status, which
gives exact line numbers and every count), one write of the bad rows (only if there are any), and
the scoring pass. The model is shipped with `SparkContext.addFile` and verified on each executor.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..batch.errors_log import StrictInputError
from ..batch.readers.base import ReaderOptions
from ..batch.writer import columns
from .errors import SparkOutputError
from .inputs import HEADER_LINES, local_path, read_classified, resolve_inputs, to_uri
from .session import spark_session

PARTITION_KEYS = ("channel", "date")


@dataclass
class SparkRunStats:
    """What a Spark run did (the local engine's summary figures, plus Spark's)."""

    out: str
    errors_out: str | None
    formats: list[tuple[str, str]]
    read: int
    scored: int
    flagged: int
    written: int
    errors: int
    skipped: dict[str, int]
    seconds: float
    score_seconds: float
    partitions: int
    model_loads: int
    arrow_batches: int
    channel_flagged: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Top channels by flagged messages: channel -> (flagged, total)."""
    author_flagged: dict[str, int] = field(default_factory=dict)
    first_errors: list[tuple[str, int, str]] = field(default_factory=list)


def errors_location(out: str) -> str:
    """Where the bad rows of a run writing `out` go (a folder of JSON Lines files)."""
    return out.rstrip("/") + ".errors"


def _exists(spark: Any, location: str) -> bool:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(to_uri(location))
    return bool(path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(path))


def _delete(spark: Any, location: str) -> None:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(to_uri(location))
    path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)


def _line_offsets(rows: list[Any], header_lines: dict[str, int]) -> list[tuple[str, int, int]]:
    """(file, split start, base) so that line = base + row id, from rows counted per split."""
    per_split: dict[tuple[str, int], list[int]] = {}
    for r in rows:
        key = (r["_file"], r["_block"])
        n, lo = per_split.get(key, [0, r["min_rid"]])
        per_split[key] = [n + r["n"], min(lo, r["min_rid"])]
    by_file: dict[str, list[int]] = defaultdict(list)
    for f, b in per_split:
        by_file[f].append(b)
    out = []
    for f, blocks in by_file.items():
        line = 1 + header_lines.get(f, 0)
        for b in sorted(blocks):
            n, lo = per_split[(f, b)]
            out.append((f, b, line - lo))
            line += n
    return out


def _source_map(files: set[str], inputs: list[Any]) -> dict[str, str]:
    """Spark's file URIs -> the path as the user gave it (what the local engine writes)."""
    given = {}
    for i in inputs:
        given[local_path(i.uri).rstrip("/")] = i.given
    out = {}
    for f in files:
        p = local_path(f)
        out[f] = given.get(p, p)
    return out


def run_spark_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    master: str | None = None,
    partition_by: str | None = None,
    fmt: str = "auto",
    text_field: str | None = None,
    id_field: str | None = None,
    author_field: str | None = None,
    channel_field: str | None = None,
    time_field: str | None = None,
    model_path: str | os.PathLike[str] | None = None,
    strict: bool = False,
    only_flagged: bool = False,
    no_text: bool = False,
    explain_top: int = 5,
    overwrite: bool = False,
    conf: Mapping[str, str] | None = None,
    spark: Any = None,
    show_errors: int = 10,
    stream: TextIO | None = None,
) -> SparkRunStats:
    """Score JSONL/CSV/Parquet inputs on Spark into a Parquet dataset at `out`."""
    from ..artifact import default_model_path, load_model
    from ..heads import HEADS

    stream = stream if stream is not None else sys.stderr
    started = time.perf_counter()
    if partition_by is not None and partition_by not in PARTITION_KEYS:
        raise SparkOutputError(
            f"--partition-by takes {' or '.join(PARTITION_KEYS)}, not {partition_by!r}"
        )
    out = str(out)
    err_out = errors_location(out)
    resolved = resolve_inputs(inputs, fmt)
    model_dir = Path(model_path) if model_path is not None else default_model_path()
    model = load_model(model_dir)  # verify on the driver first: a bad model fails before any job
    model_dir = Path(model.path or model_dir)
    cols = columns(HEADS, no_text)
    for i in resolved:
        print(f"{'detected' if fmt == 'auto' else 'reading'} {i.fmt}: {i.given}", file=stream)

    spark = spark or spark_session(master, conf)
    from pyspark.sql import functions as F

    for target in (out, err_out):
        if _exists(spark, target):
            if not overwrite:
                raise SparkOutputError(f"{target} exists; pass --overwrite to replace it")
            _delete(spark, target)
    sc = spark.sparkContext
    sc.addFile(str(model_dir.resolve()), recursive=True)

    options = ReaderOptions(text_field, id_field, author_field, channel_field, time_field)
    groups = read_classified(spark, resolved, options)
    if not groups:
        raise SparkOutputError("no input rows at all")
    header_lines: dict[str, int] = {}
    table = None
    for gfmt, df in groups:
        df = df.withColumn("_fmt", F.lit(gfmt))
        table = df if table is None else table.unionByName(df)
    assert table is not None

    # Pass 1 (JVM only): rows per split and status -> line numbers, counts, source names.
    agg = (
        table.groupBy("_file", "_block", "_fmt", "_status", "_reason")
        .agg(F.count(F.lit(1)).alias("n"), F.min("_rid").alias("min_rid"))
        .collect()
    )
    for r in agg:
        header_lines[r["_file"]] = HEADER_LINES[r["_fmt"]]
    counts: dict[str, int] = defaultdict(int)
    skipped: dict[str, int] = defaultdict(int)
    for r in agg:
        counts[r["_status"]] += r["n"]
        if r["_status"] == "skip":
            skipped[r["_reason"]] += r["n"]
    sources = _source_map({r["_file"] for r in agg}, resolved)
    offsets = spark.createDataFrame(
        [(f, b, base, sources[f]) for f, b, base in _line_offsets(agg, header_lines)],
        "_file string, _block long, _base long, source string",
    )
    lined = table.join(F.broadcast(offsets), ["_file", "_block"]).select(
        "*", F.coalesce("_row", F.col("_base") + F.col("_rid")).alias("line")
    )

    # Bad rows: listed (source, line, reason) in their own output, never silently dropped.
    n_errors = counts.get("error", 0)
    first_errors: list[tuple[str, int, str]] = []
    if n_errors:
        bad = (
            lined.where(F.col("_status") == "error")
            .select("source", "line", F.col("_reason").alias("reason"))
            .orderBy("source", "line")
        )
        first = bad.limit(max(show_errors, 1)).collect()
        first_errors = [(r["source"], int(r["line"]), r["reason"]) for r in first]
        if strict:
            s, ln, why = first_errors[0]
            raise StrictInputError(f"{s}:{ln}: {why} (stopped by --strict)")
        bad.coalesce(1).write.mode("overwrite").json(err_out)
        for s, ln, why in first_errors[:show_errors]:
            print(f"bad input: {s}:{ln}: {why}", file=stream)
        if n_errors > show_errors:
            print(f"bad input: more rows skipped; all are listed in {err_out}", file=stream)

    # Scoring pass: the verified model once per Python worker, one scoring call per Arrow batch.
    from .scoring import BatchScorer, spark_schema

    loads = sc.accumulator(0)
    batches = sc.accumulator(0)
    scorer = BatchScorer(
        model_dir.resolve().name,
        model.sha256,
        tuple(cols),
        no_text,
        only_flagged,
        explain_top,
        loads,
        batches,
    )
    messages = lined.where(F.col("_status") == "ok").select(
        F.coalesce("id", F.col("line").cast("string")).alias("id"),
        "channel",
        "author",
        "timestamp",
        "text",
        "source",
        "line",
    )
    scored = messages.mapInArrow(scorer, spark_schema(cols))
    writer_df = scored
    if partition_by == "date":
        day = F.when(
            F.col("timestamp").rlike(r"^\d{4}-\d{2}-\d{2}"), F.substring("timestamp", 1, 10)
        )
        writer_df = scored.withColumn("date", day)
    partitions = messages.rdd.getNumPartitions()
    t0 = time.perf_counter()
    w = writer_df.write.mode("overwrite")
    if partition_by:
        w = w.partitionBy(partition_by)
    w.parquet(out)
    score_seconds = time.perf_counter() - t0

    # Figures from the output itself (columnar, cheap): flagged, written, top channels and authors.
    result = spark.read.parquet(out)
    totals = result.agg(
        F.count(F.lit(1)).alias("written"), F.sum(F.col("flagged").cast("long")).alias("flagged")
    ).first()
    written = int(totals["written"] or 0)
    flagged = int(totals["flagged"] or 0)
    channel_flagged: dict[str, tuple[int, int]] = {}
    author_flagged: dict[str, int] = {}
    if flagged:
        for r in (
            result.groupBy("channel")
            .agg(F.sum(F.col("flagged").cast("long")).alias("f"), F.count(F.lit(1)).alias("n"))
            .orderBy(F.desc("f"))
            .limit(5)
            .collect()
        ):
            if r["f"]:
                channel_flagged[r["channel"] or ""] = (int(r["f"]), int(r["n"]))
        for r in (
            result.where("flagged")
            .groupBy("author")
            .count()
            .orderBy(F.desc("count"))
            .limit(5)
            .collect()
        ):
            author_flagged[r["author"] or ""] = int(r["count"])

    return SparkRunStats(
        out=out,
        errors_out=err_out if n_errors else None,
        formats=[(i.given, i.fmt) for i in resolved],
        read=counts.get("ok", 0),
        scored=counts.get("ok", 0),
        flagged=flagged,
        written=written,
        errors=n_errors,
        skipped=dict(skipped),
        seconds=time.perf_counter() - started,
        score_seconds=score_seconds,
        partitions=partitions,
        model_loads=int(loads.value),
        arrow_batches=int(batches.value),
        channel_flagged=channel_flagged,
        author_flagged=author_flagged,
        first_errors=first_errors,
    )
