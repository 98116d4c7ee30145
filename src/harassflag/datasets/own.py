"""Your own labelled data: CSV, TSV, JSONL or Parquet files with a text column and label column(s)."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import BadInputError
from ..heads import HEADS, MISSING, LabelledSet
from .store import file_sha256

_CSV_FIELD_LIMIT = 1 << 24  # a chat message can be long; the csv default (128 KiB) is too small


class BadRow(NamedTuple):
    """A row that was skipped: file, 1-based line (CSV: where the record starts) and why."""

    path: str
    line: int
    reason: str


class _Skip(Exception):
    """A row is unusable (turned into a BadRow)."""


_TRUE = {"1", "true", "1.0"}
_FALSE = {"0", "false", "0.0"}


def parse_label(value: Any) -> int:
    """0/1 from 0/1, "0"/"1", true/false; MISSING from empty/None/NaN; _Skip otherwise."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if value in (0, 1):
            return value
    elif isinstance(value, float):
        if math.isnan(value):
            return MISSING
        if value in (0.0, 1.0):
            return int(value)
    elif isinstance(value, str):
        token = value.strip().lower()
        if token == "":
            return MISSING
        if token in _TRUE:
            return 1
        if token in _FALSE:
            return 0
    raise _Skip(f"unknown label value {value!r}")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return suffix[1:]
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise BadInputError(
        f"{path}: unknown file type {suffix or '(none)'}; use .csv, .tsv, .jsonl or .parquet"
    )


def _csv_records(
    path: Path, delimiter: str, columns: list[str]
) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    """(line, record as dict) per CSV record, or (line, BadRow) for a malformed one."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise BadInputError(f"{path}: empty file (a header row is needed)") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadInputError(f"{path}:1: cannot read the header: {exc}") from None
        header = [h.strip() for h in header]
        absent = [c for c in columns if c not in header]
        if absent:
            raise BadInputError(
                f"{path}: column(s) {', '.join(map(repr, absent))} not found; columns are: {', '.join(header)}"
            )
        start = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise BadInputError(f"{path}: not valid UTF-8 (near line {start})") from None
            except csv.Error as exc:
                line, start = start, reader.line_num + 1
                yield line, BadRow(str(path), line, f"malformed CSV: {exc}")
                continue
            line, start = start, reader.line_num + 1
            if not record:  # a blank line
                continue
            if len(record) != len(header):
                yield (
                    line,
                    BadRow(str(path), line, f"expected {len(header)} fields, found {len(record)}"),
                )
                continue
            yield line, dict(zip(header, record))


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    with path.open("rb") as fh:
        for line, raw in enumerate(fh, start=1):
            if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield line, BadRow(str(path), line, "not valid UTF-8")
                continue
            except json.JSONDecodeError as exc:
                yield (
                    line,
                    BadRow(str(path), line, f"malformed JSON: {exc.msg} at column {exc.colno}"),
                )
                continue
            if not isinstance(obj, dict):
                yield line, BadRow(str(path), line, f"not a JSON object ({type(obj).__name__})")
                continue
            yield line, obj


def _parquet_records(
    path: Path, columns: list[str]
) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(path)
        names = pfile.schema_arrow.names
        absent = [c for c in columns if c not in names]
        if absent:
            raise BadInputError(
                f"{path}: column(s) {', '.join(map(repr, absent))} not found; columns are: {', '.join(names)}"
            )
        table = pfile.read(columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise BadInputError(f"{path}: cannot read Parquet: {exc}") from None
    data = {c: table.column(c).to_pylist() for c in columns}
    for i in range(table.num_rows):
        yield i + 1, {c: data[c][i] for c in columns}


def _head_columns(
    path: Path,
    label_column: str | None,
    head_columns: Mapping[str, str] | None,
    available: list[str] | None,
) -> dict[str, str]:
    if label_column is not None and head_columns:
        raise BadInputError("give either label_column or head_columns, not both")
    if head_columns:
        unknown = sorted(set(head_columns) - set(HEADS))
        if unknown:
            raise BadInputError(f"unknown head(s) {unknown}; heads are: {', '.join(HEADS)}")
        return dict(head_columns)
    if label_column is not None:
        return {"harassment": label_column}
    # Nothing said: columns named after heads, else a `label` column for harassment.
    if available is not None:
        by_name = {h: h for h in HEADS if h in available}
        if by_name:
            return by_name
        if "label" in available:
            return {"harassment": "label"}
    raise BadInputError(
        f"{path}: no label column given; pass label_column (0/1 harassment) or head_columns "
        f"(one column per head: {', '.join(HEADS)})"
    )


def _peek_columns(path: Path, fmt: str) -> list[str] | None:
    """Column names, for picking default label columns (None if they cannot be known upfront)."""
    if fmt in ("csv", "tsv"):
        try:
            with path.open("r", encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh, delimiter="\t" if fmt == "tsv" else ","), [])
        except (csv.Error, UnicodeDecodeError):
            return None
        return [h.strip() for h in header]
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowException, OSError) as exc:
            raise BadInputError(f"{path}: cannot read Parquet: {exc}") from None
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    obj = json.loads(raw.decode("utf-8-sig"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    return None
                return list(obj) if isinstance(obj, dict) else None
    return None


def load_labelled_file(
    path: str | os.PathLike[str],
    text_column: str = "text",
    label_column: str | None = None,
    head_columns: Mapping[str, str] | None = None,
    strict: bool = False,
    name: str | None = None,
) -> tuple[LabelledSet, list[BadRow]]:
    """Read a labelled CSV/TSV/JSONL/Parquet file; bad rows are skipped and returned (or fatal if strict).

    `label_column` is one 0/1 column for the harassment head; `head_columns` maps heads to
    columns (`{"hate": "is_hate"}`). With neither, columns named after heads are used, else a
    `label` column. Labels: 0/1, "0"/"1", true/false; empty means "no label" for that head.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    fmt = _format(path)
    heads = _head_columns(path, label_column, head_columns, _peek_columns(path, fmt))
    columns = [text_column, *dict.fromkeys(heads.values())]
    if fmt in ("csv", "tsv"):
        records = _csv_records(path, "\t" if fmt == "tsv" else ",", columns)
    elif fmt == "jsonl":
        records = _jsonl_records(path)
    else:
        records = _parquet_records(path, columns)

    texts: list[str] = []
    labels: dict[str, list[int]] = {h: [] for h in heads}
    bad: list[BadRow] = []
    for line, record in records:
        if isinstance(record, dict):
            try:
                text = record.get(text_column)
                if text is None or (isinstance(text, str) and not text.strip()):
                    raise _Skip(f"no text in {text_column!r}")
                if not isinstance(text, str):
                    raise _Skip(f"{text_column!r} is not a string ({type(text).__name__})")
                row = {}
                for head, column in heads.items():
                    try:
                        row[head] = parse_label(record.get(column))
                    except _Skip as exc:
                        raise _Skip(f"{column!r}: {exc}") from None
            except _Skip as exc:
                record = BadRow(str(path), line, str(exc))
            else:
                texts.append(text)
                for head, value in row.items():
                    labels[head].append(value)
                continue
        if strict:
            raise BadInputError(f"{record.path}:{record.line}: {record.reason}")
        bad.append(record)

    if not texts:
        detail = "; ".join(f"line {b.line}: {b.reason}" for b in bad[:3])
        raise BadInputError(
            f"{path}: no usable row" + (f" ({len(bad)} bad rows; {detail})" if bad else "")
        )
    label_name = name or path.name
    labelled = LabelledSet(
        name=label_name,
        texts=texts,
        labels={h: np.asarray(v, dtype=np.int8) for h, v in labels.items()},
        meta={
            "dataset": label_name,
            "split": None,
            "files": [{"path": str(path), "sha256": file_sha256(path), "rows": len(texts)}],
            "columns": {"text": text_column, **heads},
            "bad_rows": len(bad),
        },
    )
    return labelled, bad
