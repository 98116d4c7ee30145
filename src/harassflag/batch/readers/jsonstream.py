"""A small incremental JSON scanner: walk a big document's objects and arrays one value at a time.

Chat exports (DiscordChatExporter, Telegram) are single JSON documents that can be gigabytes;
`json.load` would hold all of it. This scanner keeps one message in memory at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

_WS = " \t\r\n"
_BLOCK = 1 << 20
_MAX_VALUE = 256 << 20
"""Largest single value (one message, one chat header) the scanner will buffer."""


class JsonStreamError(ValueError):
    """The document is not valid JSON at `line`."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class JsonScanner:
    """Pull-based scanner over a text stream of one JSON document."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._decoder = json.JSONDecoder()
        self._line = 1
        self._line_pos = 0

    # -- buffer -------------------------------------------------------------------------------
    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._stream.read(_BLOCK)
        if not chunk:
            self._eof = True
            return False
        self.line_at(self._pos)  # count newlines before dropping consumed text
        self._buf = self._buf[self._pos :] + chunk
        self._line_pos -= self._pos
        self._pos = 0
        return True

    def line_at(self, pos: int | None = None) -> int:
        """1-based line number of buffer position `pos` (default: the current position)."""
        pos = self._pos if pos is None else pos
        if pos > self._line_pos:
            self._line += self._buf.count("\n", self._line_pos, pos)
            self._line_pos = pos
        return self._line

    def peek(self) -> str:
        """Next non-space character ('' at end of input)."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WS:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def _fail(self, what: str) -> JsonStreamError:
        return JsonStreamError(what, self.line_at())

    def expect(self, ch: str) -> None:
        """Consume `ch` (after optional whitespace) or fail."""
        got = self.peek()
        if got != ch:
            raise self._fail(f"invalid JSON: expected {ch!r}, found {got or 'end of file'!r}")
        self._pos += 1

    # -- values -------------------------------------------------------------------------------
    def value(self) -> Any:
        """Decode the next complete value."""
        if not self.peek():
            raise self._fail("invalid JSON: unexpected end of file")
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Only a value cut by the buffer's end is worth reading on for; anything else is
                # a real syntax error (reading on would pull the rest of the file into memory).
                incomplete = exc.pos >= len(self._buf) - 1 or exc.msg.startswith("Unterminated")
                if incomplete and len(self._buf) - self._pos < _MAX_VALUE and self._fill():
                    continue
                raise JsonStreamError(
                    f"invalid JSON: {exc.msg}", self.line_at(min(exc.pos, len(self._buf)))
                ) from None
            cut_number = end == len(self._buf) and not self._eof and isinstance(obj, (int, float))
            if (
                cut_number and self._fill()
            ):  # a number cut at the buffer's end: read on, decode again
                continue
            self.line_at(self._pos)
            self._pos = end
            return obj

    def members(self) -> Iterator[str]:
        """Iterate an object's keys; the caller must consume each key's value before the next."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise self._fail("invalid JSON: object key is not a string")
            self.expect(":")
            yield key
            nxt = self.peek()
            if nxt == ",":
                self._pos += 1
                continue
            if nxt == "}":
                self._pos += 1
                return
            raise self._fail(f"invalid JSON: expected ',' or '}}', found {nxt or 'end of file'!r}")

    def items(self) -> Iterator[int]:
        """Iterate an array; yields the line of each element, which the caller must consume."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            self.peek()
            yield self.line_at()
            nxt = self.peek()
            if nxt == ",":
                self._pos += 1
                continue
            if nxt == "]":
                self._pos += 1
                return
            raise self._fail(f"invalid JSON: expected ',' or ']', found {nxt or 'end of file'!r}")
