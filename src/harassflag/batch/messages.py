"""The one record every reader yields, whatever the export format."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Message:
    """A chat message read from an export, with where it came from."""

    id: str
    channel: str
    author: str
    timestamp: str
    text: str
    source: str
    """Input file (or member of an archive) the message was read from."""
    line: int
    """1-based line (or row) where the message starts in `source`."""
    targets: tuple[str, ...] = field(default_factory=tuple)
    """People the message is aimed at: @mentions and the author it replies to."""
