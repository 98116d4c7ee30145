"""One reader per export format; each yields `Message`s lazily, in input order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors_log import ErrorSink
from ..messages import Message
from .base import ByteProgress, ReadContext, ReaderOptions, has_undecodable
from .detect import FORMATS, detect_format
from .discord import read_discord
from .generic import parse_jsonl, read_csv, read_jsonl, read_parquet, read_text
from .slack import read_slack
from .telegram import read_telegram
from .whatsapp import read_whatsapp

Reader = Callable[[Path, ReadContext], Iterator[Message]]

READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "text": read_text,
    "slack": read_slack,
    "discord": read_discord,
    "telegram": read_telegram,
    "whatsapp": read_whatsapp,
}

__all__ = [
    "FORMATS",
    "READERS",
    "ByteProgress",
    "ReadContext",
    "ReaderOptions",
    "detect_format",
    "parse_jsonl",
    "read_messages",
    "writable_messages",
]


def invalid_field(m: Message) -> str | None:
    """The first field of `m` that cannot be written as UTF-8 (a lone surrogate, e.g. from a JSON
    "\\ud800" escape), or None."""
    fields = (m.text, m.id, m.channel, m.author, m.timestamp, *m.targets)
    joined = "".join(fields)
    if joined.isascii():  # the usual case, in one C call
        return None
    try:  # emoji and other text: one encode (a surrogate stays lone when joined to another)
        joined.encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    names = ("text", "id", "channel", "author", "timestamp")
    for name, value in zip(names, fields):
        if has_undecodable(value):
            return name
    return "targets" if any(map(has_undecodable, m.targets)) else None


def writable_messages(messages: Iterable[Message], errors: ErrorSink) -> Iterator[Message]:
    """`messages` without those that could not be written (invalid Unicode), which are reported
    to `errors` as bad input."""
    for m in messages:
        bad = invalid_field(m)
        if bad is not None:
            errors.error(m.source, m.line, f"{bad}: invalid Unicode (lone surrogate)")
            continue
        yield m


def read_messages(inputs: list[tuple[Path, str]], ctx: ReadContext) -> Iterator[Message]:
    """Messages of every (path, format) input, in order; a message that could not be written
    (invalid Unicode) is reported as bad input and skipped."""
    for path, fmt in inputs:
        yield from writable_messages(READERS[fmt](path, ctx), ctx.errors)
        ctx.progress.finish()
