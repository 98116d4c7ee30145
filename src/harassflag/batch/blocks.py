"""JSONL inputs cut into blocks of raw lines, for worker processes to parse (batch --jobs N).

With several jobs the batch process would otherwise spend most of its time parsing JSON and
building messages for the workers; cutting lines costs it almost nothing. A worker parses a block
with the same `parse_jsonl` as `read_jsonl` and keeps its bad rows as `ErrorEvents`, which the batch
process replays at commit time, in input order: counts, the sidecar, the lines shown and --strict
are those of a run that read the input itself.
"""

from __future__ import annotations

import io
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors_log import ErrorEvents
from .messages import to_columns
from .readers import (
    ByteProgress,
    ReadContext,
    ReaderOptions,
    parse_jsonl,
    read_messages,
    writable_messages,
)
from .readers.base import open_binary


@dataclass(frozen=True)
class LineBlock:
    """Consecutive raw lines of one input file, as bytes (a line ends with b"\\n", the file's last
    maybe not): one bytes object pickles far faster than a list of lines."""

    source: str
    first_line: int
    """1-based line number of the block's first line in `source`."""
    data: bytes


Cursor = tuple[int, int]
"""(index of the input, lines of it already consumed): where reading goes on."""


def resume_cursor(inputs: list[tuple[Path, str]], ctx: ReadContext, count: int) -> Cursor | None:
    """Read past the first `count` messages exactly as `read_messages` does (so their bad rows are
    counted in `ctx.errors`); where the next message is to be read from, None if there are fewer."""
    if count == 0:
        return (0, 0)
    seen = 0
    for index, (path, fmt) in enumerate(inputs):
        for m in read_messages([(path, fmt)], ctx):
            seen += 1
            if seen == count:
                return (index, m.line)
    return None


def read_line_blocks(
    inputs: list[tuple[Path, str]], progress: ByteProgress, size: int, start: Cursor = (0, 0)
) -> Iterator[LineBlock]:
    """Blocks of about `size` raw lines of every input from `start` on (gzip decompressed); blocks
    never span two files. Lines are cut by reading as many bytes as `size` lines took so far (a
    read and a count, not a Python step per line)."""
    first_input, skip_lines = start
    seen_lines, seen_bytes = 1, 128  # a first guess of 128 bytes a line
    for index in range(first_input, len(inputs)):
        path = inputs[index][0]
        source = str(path)
        with open_binary(path, progress) as f:
            line = 1
            if index == first_input and skip_lines:
                deque(itertools.islice(f, skip_lines), maxlen=0)
                line += skip_lines
            carry = b""
            while True:
                data = f.read(max(4096, size * seen_bytes // seen_lines))
                if not data:
                    break
                end = data.rfind(b"\n") + 1
                if not end:  # no line ends in it: read on
                    carry += data
                    continue
                block, carry = carry + data[:end], data[end:]
                count = block.count(b"\n")
                yield LineBlock(source, line, block)
                line += count
                seen_lines += count
                seen_bytes += len(block)
            if carry:  # the last line, without its b"\n"
                yield LineBlock(source, line, carry)
        progress.finish()


def parse_block(
    block: LineBlock, options: ReaderOptions
) -> tuple[tuple[list, ...], int, ErrorEvents]:
    """A block's messages as `to_columns` gives them, how many there are, and its bad rows."""
    events = ErrorEvents()
    ctx = ReadContext(options, events, ByteProgress())
    parsed = parse_jsonl(io.BytesIO(block.data), block.first_line, block.source, ctx)
    messages = list(writable_messages(parsed, events))
    return to_columns(messages), len(messages), events
