"""Batch scoring on Apache Spark: same rows, scores and bad-row accounting as `harassflag batch`.

pyspark is an optional extra (`pip install 'harassflag[spark]'`); it is imported only when a run
starts, so importing this package never needs it.
"""

from .runner import SparkRunStats, run_spark_batch

__all__ = ["SparkRunStats", "run_spark_batch"]
