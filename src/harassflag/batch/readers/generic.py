"""Generic inputs: JSON Lines, CSV, Parquet, and plain text (one message per line)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from ..errors_log import InputFileError
from ..messages import Message
from .base import (
    AUTHOR_NAMES,
    CHANNEL_NAMES,
    ID_NAMES,
    TEXT_NAMES,
    TIME_NAMES,
    ReadContext,
    as_str,
    has_undecodable,
    open_binary,
    pick_field,
    text_stream,
)


def _fields(names: list[str], ctx: ReadContext) -> tuple[str | None, ...]:
    o = ctx.options
    return (
        pick_field(names, o.text_field, TEXT_NAMES),
        pick_field(names, o.id_field, ID_NAMES),
        pick_field(names, o.author_field, AUTHOR_NAMES),
        pick_field(names, o.channel_field, CHANNEL_NAMES),
        pick_field(names, o.time_field, TIME_NAMES),
    )


_SAME_IN_BOTH = frozenset({str, int, bool, type(None)})
"""Types of values orjson reads exactly as json does (orjson reads integers beyond 64 bits as
floats, and nested values may hold such numbers)."""


def _parse_line(raw: bytes, source: str, lineno: int, ctx: ReadContext) -> dict | None:
    """A line's JSON object with the standard library's json (None: blank, or bad and logged)."""
    if not raw.strip():
        return None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        ctx.errors.error(source, lineno, f"undecodable bytes (not UTF-8) at byte {exc.start}")
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        ctx.errors.error(source, lineno, f"malformed JSON: {exc.msg} (column {exc.colno})")
        return None
    if not isinstance(obj, dict):
        ctx.errors.error(source, lineno, f"expected a JSON object, got {type(obj).__name__}")
        return None
    return obj


def read_jsonl(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """One JSON object per line; blank lines ignored, bad lines logged and skipped."""
    with open_binary(path, ctx.progress) as f:
        yield from parse_jsonl(f, 1, str(path), ctx)


def parse_jsonl(
    lines: Iterable[bytes], first_line: int, source: str, ctx: ReadContext
) -> Iterator[Message]:
    """`read_jsonl` of raw lines (each with its b"\\n", as a binary file yields them) numbered from
    `first_line`: also what batch workers run on the blocks of lines the parent cuts.

    Lines are parsed with orjson; a line it refuses (blank, bad, or JSON it reads otherwise, such as
    NaN or lone surrogates), or whose fields it may read differently (a float, nested value or huge
    integer), goes through the standard library's json, so results and error messages are json's.
    """
    fields_of: dict[tuple[str, ...], tuple[str | None, ...]] = {}  # exports repeat one key layout
    loads = orjson.loads
    same = _SAME_IN_BOTH
    for lineno, raw in enumerate(lines, start=first_line):
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError:
            obj = None
        exact = type(obj) is not dict
        if exact:  # not an object to orjson: json decides (and words the error)
            obj = _parse_line(raw, source, lineno, ctx)
            if obj is None:
                continue
        keys = tuple(obj)
        found = fields_of.get(keys)
        if found is None:
            if len(fields_of) >= 1024:  # free-form objects: keep the cache bounded
                fields_of.clear()
            found = fields_of[keys] = _fields(list(keys), ctx)
        text_f, id_f, author_f, channel_f, time_f = found
        get = obj.get
        text = get(text_f) if text_f else None
        ident = get(id_f) if id_f else None
        channel = get(channel_f) if channel_f else None
        author = get(author_f) if author_f else None
        stamp = get(time_f) if time_f else None
        kinds = {type(text), type(ident), type(channel), type(author), type(stamp)}
        if not exact and not kinds <= same:
            obj = _parse_line(raw, source, lineno, ctx)  # as json reads it
            if obj is None:
                continue
            text, ident, author, channel, stamp = (obj.get(k) if k else None for k in found)
        if text_f is None or text is None:
            wanted = ctx.options.text_field or "text"
            ctx.errors.error(source, lineno, f"missing text field {wanted!r}")
            continue
        if not isinstance(text, str):
            ctx.errors.error(source, lineno, f"text field {text_f!r} is not a string")
            continue
        if not text.strip():
            ctx.errors.skip("empty text")
            continue
        yield Message(  # positional, and as_str only for values that are not str: cheaper
            (ident if type(ident) is str else as_str(ident)) if id_f else str(lineno),
            (channel if type(channel) is str else as_str(channel)) if channel_f else "",
            (author if type(author) is str else as_str(author)) if author_f else "",
            (stamp if type(stamp) is str else as_str(stamp)) if time_f else "",
            text,
            source,
            lineno,
        )  # (id, channel, author, timestamp, text, source, line)


def read_csv(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """CSV with a header row; quoted fields may span lines."""
    source = str(path)
    csv.field_size_limit(min(sys.maxsize, 1 << 30))
    with open_binary(path, ctx.progress) as binary:
        stream = text_stream(binary)
        reader = csv.reader(stream)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputFileError(f"{source}: cannot read the CSV header: {exc}") from None
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        text_f, id_f, author_f, channel_f, time_f = _fields(header, ctx)
        if text_f is None:
            wanted = ctx.options.text_field or "/".join(TEXT_NAMES[:4])
            raise InputFileError(
                f"{source}: no text column {wanted!r} in the header; pass --text-field NAME"
            )
        index = {name: i for i, name in enumerate(header)}
        ti = index[text_f]
        ii, ai, ci, mi = (index[f] if f else None for f in (id_f, author_f, channel_f, time_f))
        width = len(header)
        last_line = reader.line_num
        while True:
            start = last_line + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                ctx.errors.error(source, start, f"malformed CSV: {exc}")
                last_line = reader.line_num
                continue
            last_line = reader.line_num
            if not row:
                continue
            if len(row) != width:
                ctx.errors.error(
                    source, start, f"CSV row has {len(row)} fields, header has {width}"
                )
                continue
            if any(has_undecodable(v) for v in row):
                ctx.errors.error(source, start, "undecodable bytes (not UTF-8)")
                continue
            text = row[ti]
            if not text.strip():
                ctx.errors.skip("empty text")
                continue
            yield Message(
                id=row[ii] if ii is not None else str(start),
                channel=row[ci] if ci is not None else "",
                author=row[ai] if ai is not None else "",
                timestamp=row[mi] if mi is not None else "",
                text=text,
                source=source,
                line=start,
            )


def read_parquet(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """Parquet, streamed one record batch at a time (never the whole table)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = str(path)
    raw = open(path, "rb")  # noqa: SIM115 (long-lived handle, closed by its owner)
    ctx.progress.start(raw)
    try:
        pf = pq.ParquetFile(raw)
    except (pa.ArrowException, OSError) as exc:
        raw.close()
        raise InputFileError(f"{source}: not a readable Parquet file: {exc}") from None
    with raw:
        names = pf.schema_arrow.names
        text_f, id_f, author_f, channel_f, time_f = _fields(names, ctx)
        if text_f is None:
            wanted = ctx.options.text_field or "text"
            raise InputFileError(f"{source}: no text column {wanted!r}; pass --text-field NAME")
        columns = [c for c in dict.fromkeys((text_f, id_f, author_f, channel_f, time_f)) if c]
        row = 0
        for batch in pf.iter_batches(batch_size=ctx.chunk_rows, columns=columns):
            data = batch.to_pydict()
            texts = data[text_f]
            n = len(texts)
            empty = [""] * n
            ids = data[id_f] if id_f else None
            authors = data[author_f] if author_f else empty
            channels = data[channel_f] if channel_f else empty
            times = data[time_f] if time_f else empty
            for i in range(n):
                row += 1
                text = texts[i]
                if text is None:
                    ctx.errors.error(source, row, f"missing text field {text_f!r}")
                    continue
                if not isinstance(text, str):
                    ctx.errors.error(source, row, f"text field {text_f!r} is not a string")
                    continue
                if not text.strip():
                    ctx.errors.skip("empty text")
                    continue
                yield Message(
                    id=as_str(ids[i]) if ids is not None else str(row),
                    channel=as_str(channels[i]),
                    author=as_str(authors[i]),
                    timestamp=as_str(times[i]),
                    text=text,
                    source=source,
                    line=row,
                )


def read_text(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """Plain text: every non-blank line is one message."""
    source = str(path)
    with open_binary(path, ctx.progress) as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                ctx.errors.error(
                    source, lineno, f"undecodable bytes (not UTF-8) at byte {exc.start}"
                )
                continue
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            yield Message(str(lineno), "", "", "", line, source, lineno)
