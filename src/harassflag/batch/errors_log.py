"""Bad-input accounting: count, show the first few, keep all in a sidecar JSONL file."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Protocol, TextIO

from ..errors import BadInputError


class StrictInputError(BadInputError):
    """A bad input row was met under --strict."""


class InputFileError(BadInputError):
    """An input file cannot be read at all (unknown format, missing text column, ...)."""


class ErrorSink(Protocol):
    """Where readers report bad rows and skipped messages."""

    def error(self, source: str, line: int, reason: str) -> None:
        """Record one bad input row."""

    def skip(self, reason: str) -> None:
        """Count a message skipped on purpose."""


ErrorEvent = tuple[str, int, str] | str
"""A bad row (source, line, reason) or a skipped message's reason, as `ErrorEvents` keeps them."""


class ErrorEvents:
    """Bad rows and skips met in a worker process, in input order, for the batch's ErrorLog to
    `replay` when the worker's chunk is committed (so counts, the sidecar, the lines shown and
    --strict come out as if the batch process had read the rows itself)."""

    def __init__(self) -> None:
        self.events: list[ErrorEvent] = []

    def error(self, source: str, line: int, reason: str) -> None:
        """Keep one bad input row."""
        self.events.append((source, line, reason))

    def skip(self, reason: str) -> None:
        """Keep one message skipped on purpose."""
        self.events.append(reason)


class ErrorLog:
    """Counts bad rows and skipped messages; writes every bad row to `<out>.errors.jsonl`."""

    def __init__(
        self,
        path: Path | None,
        *,
        strict: bool = False,
        show_first: int = 10,
        stream: TextIO | None = None,
        replay: int = 0,
        truncate_to: int | None = None,
    ) -> None:
        self.path = path
        self.strict = strict
        self.show_first = show_first
        self.stream = stream if stream is not None else sys.stderr
        self.count = 0
        self.skipped: Counter[str] = Counter()
        """Messages skipped on purpose (system/service messages, empty text), by reason."""
        self._replay = replay
        """Errors already written by an interrupted run: counted again, not rewritten."""
        self._file = None
        self._synced = -1
        """Sidecar size at the last fsync."""
        if path is not None:
            mode = "r+b" if truncate_to is not None and path.exists() else "wb"
            self._file = open(path, mode)  # noqa: SIM115 (long-lived handle, closed by its owner)
            if truncate_to is not None and mode == "r+b":
                self._file.truncate(truncate_to)
                self._file.seek(truncate_to)

    def error(self, source: str, line: int, reason: str) -> None:
        """Record one bad input row; raise under --strict."""
        self.count += 1
        if self.count <= self._replay:
            return
        if self.strict:
            raise StrictInputError(f"{source}:{line}: {reason} (stopped by --strict)")
        if self.count <= self.show_first:
            print(f"bad input: {source}:{line}: {reason}", file=self.stream)
        elif self.count == self.show_first + 1 and self.path is not None:
            print(f"bad input: more rows skipped; all are listed in {self.path}", file=self.stream)
        if self._file is not None:
            record = {"source": source, "line": line, "reason": reason}
            self._file.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")

    def skip(self, reason: str) -> None:
        """Count a message skipped on purpose (not an error)."""
        self.skipped[reason] += 1

    def replay(self, events: list[ErrorEvent]) -> None:
        """Record what an `ErrorEvents` kept, in order (raises under --strict at the first bad row)."""
        for event in events:
            if isinstance(event, str):
                self.skip(event)
            else:
                self.error(*event)

    def tell(self) -> int:
        """Bytes written to the sidecar so far (flushed, not necessarily synced)."""
        if self._file is None:
            return 0
        self._file.flush()
        return self._file.tell()

    def sync(self) -> int:
        """Flush and fsync the sidecar; return its size in bytes."""
        if self._file is None:
            return 0
        self._file.flush()
        size = self._file.tell()
        if size != self._synced:  # nothing new since the last sync: nothing to make durable
            os.fsync(self._file.fileno())
            self._synced = size
        return size

    def close(self) -> None:
        """Close the sidecar file."""
        if self._file is not None:
            self._file.close()
            self._file = None
