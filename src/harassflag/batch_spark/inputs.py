"""Reading JSONL, CSV and Parquet with Spark into one classified table of candidate messages.

Every input row becomes one record with a status: `ok` (a message to score), `error` (a bad row,
with the same reasons as the local engine), `skip` (empty text) or `blank` (a blank JSONL line,
ignored like the local engine does). Rows carry their file, the byte offset of their split and a
per-partition row id, from which the runner rebuilds exact line numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..batch.readers.base import (
    AUTHOR_NAMES,
    CHANNEL_NAMES,
    ID_NAMES,
    TEXT_NAMES,
    TIME_NAMES,
    ReaderOptions,
    pick_field,
)
from .errors import SparkInputError

SPARK_FORMATS = ("jsonl", "csv", "parquet")
CORRUPT = "_corrupt_record"
HEADER_LINES = {"jsonl": 0, "csv": 1, "parquet": 0}
"""Lines before the first record of a file (the CSV header)."""

# Python's str.strip() whitespace (str.isspace), as a Java regex: empty text is skipped, not scored.
_PY_SPACE = r"[\t\n\x0B\f\r\x1C-\x1F \x{85}\x{A0}\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
EMPTY_TEXT = rf"^{_PY_SPACE}*\z"
# bytes.strip() whitespace: a JSONL line made of these is blank (ignored, not counted).
BLANK_LINE = r"^[\t\n\x0B\f\r ]*\z"
_EXT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class SparkInput:
    """One input as the user gave it, the URI Spark reads, and its format."""

    given: str
    uri: str
    fmt: str


def to_uri(path: str) -> str:
    """A URI Spark understands: local paths become absolute file: URIs; URIs pass unchanged."""
    if "://" in path or path.startswith("file:"):
        return path
    return Path(path).resolve().as_uri()


def local_path(uri: str) -> str:
    """The local path of a file: URI (as Spark reports it); other URIs unchanged."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


def _format_of_name(name: str) -> str | None:
    name = name.lower().removesuffix(".gz")
    for ext, fmt in _EXT.items():
        if name.endswith(ext):
            return fmt
    return None


def _detect(path: str) -> str:
    p = Path(path)
    if "://" in path and not path.startswith("file:"):
        fmt = _format_of_name(path.rstrip("/"))
        if fmt is None:
            raise SparkInputError(f"{path}: cannot tell the format from the name; pass --format")
        return fmt
    if p.is_dir():
        names = sorted(
            f.name for f in p.rglob("*") if f.is_file() and not f.name.startswith(("_", "."))
        )
        fmts = {_format_of_name(n) for n in names} - {None}
        if len(fmts) != 1:
            raise SparkInputError(
                f"{path}: a folder of {'mixed' if fmts else 'unrecognised'} files; pass --format"
            )
        return fmts.pop()  # type: ignore[return-value]
    from ..batch.readers import detect_format

    fmt = detect_format(p)
    if fmt not in SPARK_FORMATS:
        raise SparkInputError(
            f"{path}: detected {fmt}; the Spark engine reads {', '.join(SPARK_FORMATS)} "
            "(score chat exports with the local engine)"
        )
    return fmt


def resolve_inputs(inputs: Sequence[str | os.PathLike[str]], fmt: str = "auto") -> list[SparkInput]:
    """Each input with its Spark URI and format (auto: from content, or from the name for URIs)."""
    if fmt not in ("auto", *SPARK_FORMATS):
        raise SparkInputError(f"the Spark engine reads {', '.join(SPARK_FORMATS)}, not {fmt}")
    out = []
    for item in inputs:
        given = str(item)
        if "://" not in given and not Path(given).exists():
            raise SparkInputError(f"{given}: no such file or folder")
        out.append(SparkInput(given, to_uri(given), _detect(given) if fmt == "auto" else fmt))
    return out


def _fields(names: list[str], o: ReaderOptions) -> tuple[str | None, ...]:
    return (
        pick_field(names, o.text_field, TEXT_NAMES),
        pick_field(names, o.id_field, ID_NAMES),
        pick_field(names, o.author_field, AUTHOR_NAMES),
        pick_field(names, o.channel_field, CHANNEL_NAMES),
        pick_field(names, o.time_field, TIME_NAMES),
    )


def _sample_json_keys(spark: Any, uris: list[str], rows: int = 200) -> list[str]:
    keys: dict[str, None] = {}
    for row in spark.read.option("lineSep", "\n").text(uris).limit(rows).collect():
        try:
            obj = json.loads(row.value)
        except (ValueError, TypeError):
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    return list(keys)


def _common(df: Any, F: Any) -> Any:
    return df.select(
        "*",
        F.col("_metadata.file_path").alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_rid"),
    )


def _finish(df: Any, F: Any, fields: tuple[str | None, ...], getter: Any, row: Any) -> Any:
    """Project to the normalised columns; an absent optional field is '' (id: the line)."""
    _text_f, id_f, author_f, channel_f, time_f = fields

    def opt(name: str | None) -> Any:
        return F.coalesce(getter(name).cast("string"), F.lit("")) if name else F.lit("")

    return df.select(
        "_file",
        "_block",
        "_rid",
        row.alias("_row"),
        (
            F.coalesce(getter(id_f).cast("string"), F.lit(""))
            if id_f
            else F.lit(None).cast("string")
        ).alias("id"),
        opt(channel_f).alias("channel"),
        opt(author_f).alias("author"),
        opt(time_f).alias("timestamp"),
        F.col("_text").alias("text"),
        "_status",
        "_reason",
    )


def read_jsonl(spark: Any, uris: list[str], options: ReaderOptions) -> Any:
    """JSON Lines via Spark's text source + from_json (PERMISSIVE, corrupt-record column)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    fields = _fields(_sample_json_keys(spark, uris), options)
    text_f = fields[0] or options.text_field or "text"
    fields = (text_f, *fields[1:])
    names = list(dict.fromkeys(f for f in fields if f))
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in names] + [T.StructField(CORRUPT, T.StringType())]
    )
    parse = {
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": CORRUPT,
        "allowSingleQuotes": "false",
    }
    raw = _common(spark.read.option("lineSep", "\n").text(uris), F)
    df = raw.withColumn("_j", F.from_json("value", schema, parse))
    text = F.col("_j").getField(text_f)
    value = F.col("value")
    status = (
        F.when(value.rlike(BLANK_LINE), "blank")
        .when(F.encode(value, "UTF-8") != value.cast("binary"), "error")
        .when(F.col("_j").getField(CORRUPT).isNotNull(), "error")
        .when(~value.rlike(r"\}[\t\n\r ]*\z"), "error")
        .when(text.isNull(), "error")
        .when(text.rlike(EMPTY_TEXT), "skip")
        .otherwise("ok")
    )
    reason = (
        F.when(value.rlike(BLANK_LINE), None)
        .when(F.encode(value, "UTF-8") != value.cast("binary"), "undecodable bytes (not UTF-8)")
        .when(
            F.col("_j").getField(CORRUPT).isNotNull(),
            F.when(F.ltrim(value).startswith("{"), "malformed JSON").otherwise(
                "expected a JSON object"
            ),
        )
        .when(~value.rlike(r"\}[\t\n\r ]*\z"), "malformed JSON: extra data after the object")
        .when(text.isNull(), f"missing text field {text_f!r}")
        .when(text.rlike(EMPTY_TEXT), "empty text")
    )
    df = df.select("*", text.alias("_text"), status.alias("_status"), reason.alias("_reason"))
    return _finish(df, F, fields, lambda n: F.col("_j").getField(n), F.lit(None).cast("long"))


def _csv_options(**extra: str) -> dict[str, str]:
    # RFC 4180 quoting like Python's csv module: "" escapes a quote; quoted fields span lines.
    return {"multiLine": "true", "escape": '"', "quote": '"', "encoding": "UTF-8", **extra}


def read_csv(spark: Any, uris: list[str], options: ReaderOptions) -> Any:
    """CSV with a header, via Spark's CSV source (PERMISSIVE: wrong field counts are kept as bad)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    first = spark.read.options(**_csv_options(header="false")).csv(uris[0]).limit(1).collect()
    if not first:
        return None
    header = ["" if v is None else str(v) for v in first[0]]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    fields = _fields(header, options)
    if fields[0] is None:
        wanted = options.text_field or "/".join(TEXT_NAMES[:4])
        raise SparkInputError(
            f"{uris[0]}: no text column {wanted!r} in the header; pass --text-field NAME"
        )
    pos = {name: i for i, name in reversed(list(enumerate(header)))}
    # The header's own names when Spark can use them (no warnings, no clash); else positional.
    lowered = [h.lower() for h in header]
    usable = len(set(lowered)) == len(header) and all(h and h != CORRUPT.lower() for h in lowered)
    names = header if usable else [f"_c{i}" for i in range(len(header))]
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in names] + [T.StructField(CORRUPT, T.StringType())]
    )
    reader = spark.read.schema(schema).options(
        **_csv_options(header="true", mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT)
    )
    df = _common(reader.csv(uris), F)

    def col(name: str) -> Any:
        return F.col(f"`{names[pos[name]].replace('`', '``')}`")

    text = F.coalesce(col(fields[0]), F.lit(""))
    bad = F.col(CORRUPT).isNotNull()
    status = F.when(bad, "error").when(text.rlike(EMPTY_TEXT), "skip").otherwise("ok")
    reason = F.when(bad, f"CSV row does not have the header's {len(header)} fields").when(
        text.rlike(EMPTY_TEXT), "empty text"
    )
    df = df.select("*", text.alias("_text"), status.alias("_status"), reason.alias("_reason"))
    return _finish(df, F, fields, col, F.lit(None).cast("long"))


def read_parquet(spark: Any, uris: list[str], options: ReaderOptions) -> Any:
    """Parquet via Spark; the row number is the file's row index (1-based)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    df = spark.read.parquet(*uris)
    fields = _fields(df.columns, options)
    text_f = fields[0]
    if text_f is None:
        wanted = options.text_field or "text"
        raise SparkInputError(f"{uris[0]}: no text column {wanted!r}; pass --text-field NAME")
    if not isinstance(df.schema[text_f].dataType, T.StringType):
        raise SparkInputError(
            f"{uris[0]}: text column {text_f!r} is {df.schema[text_f].dataType.simpleString()}, not a string"
        )
    df = _common(df, F).withColumn("_row_index", F.col("_metadata.row_index"))
    text = F.col(text_f)
    status = F.when(text.isNull(), "error").when(text.rlike(EMPTY_TEXT), "skip").otherwise("ok")
    reason = F.when(text.isNull(), f"missing text field {text_f!r}").when(
        text.rlike(EMPTY_TEXT), "empty text"
    )
    df = df.select("*", text.alias("_text"), status.alias("_status"), reason.alias("_reason"))
    return _finish(df, F, fields, F.col, (F.col("_row_index") + 1).cast("long"))


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}


def read_classified(
    spark: Any, inputs: list[SparkInput], options: ReaderOptions
) -> list[tuple[str, Any]]:
    """One classified DataFrame per format group: (format, DataFrame)."""
    out = []
    for fmt in SPARK_FORMATS:
        uris = [i.uri for i in inputs if i.fmt == fmt]
        if not uris:
            continue
        if fmt == "csv":  # one header per file: read each CSV file on its own
            for uri in uris:
                df = read_csv(spark, [uri], options)
                if df is not None:
                    out.append((fmt, df))
            continue
        out.append((fmt, READERS[fmt](spark, uris, options)))
    return out
