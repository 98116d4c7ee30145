"""JSONL inputs cut into blocks of raw lines, for worker processes to parse (batch --jobs N).

With several jobs the batch process would otherwise spend most of its time parsing JSON and
building messages for the workers; cutting lines costs it almost nothing. A worker parses a block
with the same `parse_jsonl` as `read_jsonl` and keeps its bad rows as `ErrorEvents`, which the batch
process replays at commit time, in input order: counts, the sidecar, the lines shown and --strict
are those of a run that read the input itself.
"""

from __future__ import annotations

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
    """Consecutive raw lines of one input file, each with its b"\\n"."""

    source: str
    first_line: int
    """1-based line number of `lines[0]` in `source`."""
    lines: list[bytes]


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
    """Blocks of up to `size` raw lines of every input from `start` on (gzip decompressed); blocks
    never span two files."""
    first_input, skip_lines = start
    for index in range(first_input, len(inputs)):
        path = inputs[index][0]
        source = str(path)
        with open_binary(path, progress) as f:
            line = 1
            if index == first_input and skip_lines:
                deque(itertools.islice(f, skip_lines), maxlen=0)
                line += skip_lines
            while lines := list(itertools.islice(f, size)):
                yield LineBlock(source, line, lines)
                line += len(lines)
        progress.finish()


def parse_block(
    block: LineBlock, options: ReaderOptions
) -> tuple[tuple[list, ...], int, ErrorEvents]:
    """A block's messages as `to_columns` gives them, how many there are, and its bad rows."""
    events = ErrorEvents()
    ctx = ReadContext(options, events, ByteProgress(), chunk_rows=len(block.lines))
    parsed = parse_jsonl(block.lines, block.first_line, block.source, ctx)
    messages = list(writable_messages(parsed, events))
    return to_columns(messages), len(messages), events
