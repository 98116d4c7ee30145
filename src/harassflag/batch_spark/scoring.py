"""Executor side: load the verified model once per Python worker, score Arrow batches.

Rows are shaped by the local engine's own `score_chunk` (scores, flag, explanations) and typed by
its own Parquet schema, so both engines produce the same columns and values by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..batch.messages import Message
from ..batch.scoring import ScoreOptions, score_chunk
from ..batch.writer import parquet_schema
from ..errors import ModelIntegrityError

_MODELS: dict[str, Any] = {}
"""Verified models by SHA-256, kept for the life of the Python worker (Spark reuses workers)."""


def spark_schema(cols: list[str]) -> Any:
    """The Spark schema matching `batch.writer.parquet_schema(cols)`."""
    from pyspark.sql import types as T

    fields = []
    for c in cols:
        if c.startswith("score_"):
            dtype: Any = T.DoubleType()
        elif c == "flagged":
            dtype = T.BooleanType()
        elif c == "line":
            dtype = T.LongType()
        elif c == "explanation":
            dtype = T.ArrayType(
                T.StructType(
                    [T.StructField("term", T.StringType()), T.StructField("weight", T.DoubleType())]
                )
            )
        elif c == "targets":
            dtype = T.ArrayType(T.StringType())
        else:
            dtype = T.StringType()
        fields.append(T.StructField(c, dtype))
    return T.StructType(fields)


def executor_model(shipped_name: str, sha256: str, loads: Any = None) -> Any:
    """The model shipped with SparkContext.addFile, SHA-256-checked before unpickling, cached."""
    model = _MODELS.get(sha256)
    if model is not None:
        return model
    from pyspark import SparkFiles

    from ..artifact import load_model

    model = load_model(SparkFiles.get(shipped_name))  # verifies the file against its manifest
    if model.sha256 != sha256:
        raise ModelIntegrityError(
            f"the model on this executor ({model.sha256[:16]}) is not the driver's ({sha256[:16]})"
        )
    _MODELS[sha256] = model
    if loads is not None:
        loads.add(1)
    return model


@dataclass(frozen=True)
class BatchScorer:
    """The `mapInArrow` function: Arrow batches of messages in, Arrow batches of output rows out."""

    shipped_name: str
    sha256: str
    cols: tuple[str, ...]
    no_text: bool = False
    only_flagged: bool = False
    explain_top: int = 5
    loads: Any = None
    """Optional accumulator counting model loads (one per Python worker)."""
    batches: Any = None
    """Optional accumulator counting scored Arrow batches."""

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        model = executor_model(self.shipped_name, self.sha256, self.loads)
        cols = list(self.cols)
        schema = parquet_schema(cols)
        opts = ScoreOptions("parquet", self.cols, self.no_text, self.only_flagged, self.explain_top)
        for batch in batches:
            d = batch.to_pydict()
            messages = [
                Message(i, c, a, t, x, s, ln)
                for i, c, a, t, x, s, ln in zip(
                    d["id"],
                    d["channel"],
                    d["author"],
                    d["timestamp"],
                    d["text"],
                    d["source"],
                    d["line"],
                )
            ]
            if not messages:
                continue
            payload, _stats = score_chunk(model, messages, opts, 0)
            if self.batches is not None:
                self.batches.add(1)
            if not payload[cols[0]]:
                continue
            yield from pa.Table.from_pydict(payload, schema=schema).to_batches()
