"""Benchmark the Spark engine: local engine `--jobs 2` vs Spark `local[2]`, plus per-task figures.

    python bench/spark.py --model models/default --n 1000000

Generates N synthetic chat messages (JSONL, same generator as bench/batch.py), runs the local
engine through its CLI in a child process, then the Spark engine in this process with the Spark
UI on a loopback port, and reads per-task figures of the scoring stage from Spark's REST API
(records per task, task time) so a user can size a cluster. Not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _generator():
    spec = importlib.util.spec_from_file_location("bench_batch", HERE / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.generate


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:  # loopback only: the driver's own UI
        return json.load(r)


def run_local(inp: Path, out: Path, model: str, jobs: int) -> float:
    """Seconds for `harassflag batch INPUT --jobs N` in a child process."""
    cmd = [
        sys.executable,
        "-c",
        "from harassflag.cli import main; main()",
        "batch",
        str(inp),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--model",
        model,
        "--progress",
        "none",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def task_figures(ui: str, app_id: str) -> dict:
    """Tasks of the scoring stage (the one running the Python scorer): count, records, seconds."""
    stages = _get(f"{ui}/api/v1/applications/{app_id}/stages?status=complete")
    best = max(stages, key=lambda s: s.get("executorRunTime", 0))
    tasks = _get(
        f"{ui}/api/v1/applications/{app_id}/stages/{best['stageId']}/{best['attemptId']}/taskList?length=100000"
    )
    records = [t["taskMetrics"]["inputMetrics"]["recordsRead"] for t in tasks]
    seconds = [t["duration"] / 1000 for t in tasks]
    return {
        "stage": best["stageId"],
        "name": best.get("name", ""),
        "tasks": len(tasks),
        "records": records,
        "seconds": seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="messages to generate")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs of the local engine")
    ap.add_argument(
        "--batch", type=int, default=5000, help="spark.sql.execution.arrow.maxRecordsPerBatch"
    )
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hf-spark-bench-"))
    inp = work / "messages.jsonl"
    t0 = time.perf_counter()
    _generator()(inp, args.n)
    print(
        f"generated {args.n:,} messages ({inp.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s"
    )

    local_s = run_local(inp, work / "local.parquet", args.model, args.jobs)
    print(f"local engine --jobs {args.jobs}: {local_s:.1f} s, {args.n / local_s:,.0f} msg/s")

    from pyspark.sql import SparkSession

    from harassflag.batch_spark import run_spark_batch

    port = _free_port()
    t0 = time.perf_counter()
    spark = (
        SparkSession.builder.master(args.master)
        .appName("harassflag-bench")
        .config("spark.ui.port", str(port))
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch))
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    start_s = time.perf_counter() - t0
    stats = run_spark_batch(
        [str(inp)],
        work / "spark.parquet",
        spark=spark,
        model_path=args.model,
        stream=sys.stderr,
    )
    ui = spark.sparkContext.uiWebUrl or f"http://127.0.0.1:{port}"
    figures = task_figures(ui, spark.sparkContext.applicationId)
    spark.stop()

    run_s = stats.seconds
    print(
        f"spark {args.master}: session start {start_s:.1f} s; run {run_s:.1f} s "
        f"({args.n / run_s:,.0f} msg/s), of which scoring+write stage {stats.score_seconds:.1f} s "
        f"({args.n / stats.score_seconds:,.0f} msg/s)"
    )
    print(
        f"ratio spark/local throughput: {local_s / run_s:.2f} (run), "
        f"{local_s / (run_s + start_s):.2f} (incl. session start)"
    )
    rec, sec = figures["records"], figures["seconds"]
    per_core = sum(rec) / sum(sec) if sum(sec) else 0.0
    print(
        f"scoring stage {figures['stage']}: {figures['tasks']} tasks; records/task min {min(rec):,} "
        f"median {statistics.median(rec):,.0f} max {max(rec):,}; seconds/task min {min(sec):.1f} "
        f"median {statistics.median(sec):.1f} max {max(sec):.1f}"
    )
    print(
        f"per task-slot rate: {per_core:,.0f} msg/s; model loads {stats.model_loads}, "
        f"Arrow batches {stats.arrow_batches}"
    )
    for cores in (16, 64, 256):
        print(
            f"  sizing: 100M messages on {cores} task slots ~ {1e8 / (per_core * cores) / 60:.0f} min "
            "(scoring stage only, same per-slot speed as here)"
        )
    print(f"(work files in {work})")


if __name__ == "__main__":
    main()
