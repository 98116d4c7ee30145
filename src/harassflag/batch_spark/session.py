"""Getting a SparkSession: reuse the one spark-submit made, or start a local one."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .errors import SparkUnavailableError

DEFAULT_CONF: dict[str, str] = {
    # Arrow batches sent to each Python worker: one scoring call per batch.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "5000",
    "spark.sql.session.timeZone": "UTC",
    # Read partition values (channel, date) back as strings, as written.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


def require_pyspark() -> Any:
    """The pyspark module, or a clear error naming the extra to install."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailableError(
            "the Spark engine needs pyspark: pip install 'harassflag[spark]' (and Java 17+)"
        ) from None
    return pyspark


def spark_session(
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    app_name: str = "harassflag-batch",
) -> Any:
    """The active SparkSession (spark-submit) or a new one on `master` (default local[*])."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        for key, value in (conf or {}).items():
            # static confs cannot change on a running session: spark-submit's values stand
            with contextlib.suppress(Exception):
                active.conf.set(key, value)
        return active
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    elif active is None:
        builder = builder.master("local[*]")
    for key, value in {**DEFAULT_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 (Java missing or broken: JVM start-up errors are untyped)
        raise SparkUnavailableError(f"cannot start Spark (is Java 17+ installed?): {exc}") from None
