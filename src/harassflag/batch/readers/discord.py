"""DiscordChatExporter JSON: {guild, channel, dateRange, messages[...], messageCount}, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..messages import Message
from .base import ReadContext, as_str, has_undecodable, open_binary, text_stream
from .jsonstream import JsonScanner, JsonStreamError

# Message kinds that are a person writing; the rest are system events (joins, pins, calls, ...).
KEPT_TYPES = frozenset({"Default", "Reply", "0", "19"})
_REPLY_MEMORY = 200_000


def _name(user: dict) -> str:
    return as_str(user.get("nickname") or user.get("name") or user.get("id"))


def read_discord(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """Messages of one exported channel, one at a time."""
    source = str(path)
    with open_binary(path, ctx.progress) as binary:
        scanner = JsonScanner(text_stream(binary))
        channel = ""
        authors: dict[str, str] = {}  # message id → author, to resolve replies (bounded)
        try:
            for key in scanner.members():
                if key == "channel":
                    info = scanner.value()
                    if isinstance(info, dict):
                        channel = as_str(info.get("name") or info.get("id"))
                elif key == "messages":
                    for line in scanner.items():
                        m = scanner.value()
                        msg = _message(m, channel, source, line, authors, ctx)
                        if msg is not None:
                            yield msg
                else:
                    scanner.value()
        except JsonStreamError as exc:
            ctx.errors.error(source, exc.line, f"{exc}; rest of the file skipped")


def _message(
    m: object, channel: str, source: str, line: int, authors: dict[str, str], ctx: ReadContext
) -> Message | None:
    if not isinstance(m, dict):
        ctx.errors.error(source, line, "message is not a JSON object")
        return None
    author_obj = m.get("author") if isinstance(m.get("author"), dict) else {}
    author = _name(author_obj)
    mid = as_str(m.get("id"))
    if mid:
        authors[mid] = author
        if len(authors) > _REPLY_MEMORY:
            authors.pop(next(iter(authors)))
    kind = as_str(m.get("type") or "Default")
    if kind not in KEPT_TYPES:
        ctx.errors.skip(f"discord {kind}")
        return None
    content = m.get("content")
    if not isinstance(content, str):
        ctx.errors.error(source, line, "missing text field 'content'")
        return None
    if not content.strip():
        ctx.errors.skip("empty text")
        return None
    if has_undecodable(content):
        ctx.errors.error(source, line, "undecodable bytes (not UTF-8)")
        return None
    targets = [_name(u) for u in m.get("mentions") or [] if isinstance(u, dict)]
    ref = m.get("reference")
    if isinstance(ref, dict) and ref.get("messageId"):
        replied = authors.get(as_str(ref["messageId"]))
        if replied:
            targets.append(replied)
    return Message(
        id=mid or str(line),
        channel=channel,
        author=author,
        timestamp=as_str(m.get("timestamp")),
        text=content,
        source=source,
        line=line,
        targets=tuple(dict.fromkeys(t for t in targets if t and t != author)),
    )
