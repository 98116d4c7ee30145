"""One reader per export format; each yields `Message`s lazily, in input order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ..messages import Message
from .base import ByteProgress, ReadContext, ReaderOptions
from .detect import FORMATS, detect_format
from .discord import read_discord
from .generic import read_csv, read_jsonl, read_parquet, read_text
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
    "read_messages",
]


def read_messages(inputs: list[tuple[Path, str]], ctx: ReadContext) -> Iterator[Message]:
    """Messages of every (path, format) input, in order."""
    for path, fmt in inputs:
        yield from READERS[fmt](path, ctx)
        ctx.progress.finish()
