"""What every reader shares: options, transparent gzip, byte progress."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors_log import ErrorSink

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class ReaderOptions:
    """Column/field names for generic formats (None: guess from common names)."""

    text_field: str | None = None
    id_field: str | None = None
    author_field: str | None = None
    channel_field: str | None = None
    time_field: str | None = None


TEXT_NAMES = ("text", "content", "message", "body", "comment", "comment_text")
ID_NAMES = ("id", "message_id", "msg_id", "uuid")
AUTHOR_NAMES = ("author", "user", "username", "user_name", "from", "sender", "name")
CHANNEL_NAMES = ("channel", "conversation", "chat", "room", "thread", "channel_name")
TIME_NAMES = ("timestamp", "time", "date", "datetime", "created_at", "ts", "sent_at")


def pick_field(
    names: list[str] | tuple[str, ...], wanted: str | None, candidates: tuple[str, ...]
) -> str | None:
    """The field to use: the one asked for, else the first common name present (case-insensitive)."""
    if wanted is not None:
        return wanted if wanted in names else None
    lowered = {n.lower(): n for n in names}
    for c in candidates:
        if c in lowered:
            return lowered[c]
    return None


class ByteProgress:
    """How many input bytes (on disk) have been consumed so far, across files."""

    def __init__(self) -> None:
        self.done = 0
        self._raw: BinaryIO | None = None

    def start(self, raw: BinaryIO) -> None:
        """Track `raw` (the on-disk file object) as the file being read."""
        self.finish()
        self._raw = raw

    def finish(self) -> None:
        """Count the current file as fully read."""
        if self._raw is not None:
            try:
                self._raw.seek(0, io.SEEK_END)
                self.done += self._raw.tell()
            except (OSError, ValueError):
                pass
            self._raw = None

    def position(self) -> int:
        """Bytes consumed so far."""
        if self._raw is None:
            return self.done
        try:
            return self.done + self._raw.tell()
        except (OSError, ValueError):
            return self.done


def open_binary(path: Path, progress: ByteProgress | None = None) -> BinaryIO:
    """Open `path` for reading bytes, decompressing gzip transparently (by magic bytes)."""
    raw = open(path, "rb")  # noqa: SIM115 (long-lived handle, closed by its owner)
    if progress is not None:
        progress.start(raw)
    head = raw.read(2)
    raw.seek(0)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def read_head(path: Path, size: int = 65536) -> bytes:
    """The first `size` bytes of `path`, decompressed if gzip."""
    with open_binary(path) as f:
        try:
            return f.read(size)
        except (OSError, EOFError):
            return b""


def has_undecodable(value: str) -> bool:
    """True if `value` carries bytes that were not valid UTF-8 (surrogate escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass
class ReadContext:
    """What a reader needs besides its path: field options, error log, progress."""

    options: ReaderOptions
    errors: ErrorSink
    progress: ByteProgress
    chunk_rows: int = 2000


def text_stream(binary: BinaryIO) -> io.TextIOWrapper:
    """UTF-8 text over `binary`; undecodable bytes are kept as surrogates so rows can be rejected."""
    return io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="")


def as_str(value: object) -> str:
    """A field value as text ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value)
