"""Errors of the Spark engine (typed; the CLI turns them into messages and exit codes)."""

from __future__ import annotations

from ..errors import HarassflagError


class SparkUnavailableError(HarassflagError):
    """pyspark (or Java) is missing: the Spark engine cannot start."""

    exit_code = 2


class SparkInputError(HarassflagError):
    """An input cannot be read by the Spark engine (format, missing column, unreachable path)."""

    exit_code = 4


class SparkOutputError(HarassflagError):
    """The output location cannot be used (exists without --overwrite, not .parquet)."""

    exit_code = 2
