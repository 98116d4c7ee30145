"""Telegram Desktop export (result.json): one chat {name, type, id, messages} or a full export {chats: {list}}."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..messages import Message
from .base import ReadContext, as_str, has_undecodable, open_binary, text_stream
from .jsonstream import JsonScanner, JsonStreamError

_REPLY_MEMORY = 200_000


def flatten_text(text: object) -> str:
    """Telegram `text`: a string, or a list of strings and entity objects ({"type", "text"}) joined."""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        parts = []
        for part in text:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                parts.append(as_str(part.get("text")))
        return "".join(parts)
    return ""


def _mentions(text: object) -> list[str]:
    if not isinstance(text, list):
        return []
    found = []
    for part in text:
        if isinstance(part, dict) and part.get("type") in ("mention", "mention_name"):
            name = as_str(part.get("text")).lstrip("@")
            if name:
                found.append(name)
    return found


def read_telegram(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """Messages of every chat in the export, one at a time."""
    source = str(path)
    with open_binary(path, ctx.progress) as binary:
        scanner = JsonScanner(text_stream(binary))
        root = _Chat()
        try:
            for key in scanner.members():
                if key == "messages":  # single-chat export: the chat is the root
                    yield from _chat_messages(scanner, root, source, ctx)
                elif key == "chats":
                    for sub in scanner.members():
                        if sub == "list":
                            for _line in scanner.items():
                                yield from _chat(scanner, source, ctx)
                        else:
                            scanner.value()
                elif key in ("name", "type", "id"):
                    root.set(key, scanner.value())
                else:
                    scanner.value()
        except JsonStreamError as exc:
            ctx.errors.error(source, exc.line, f"{exc}; rest of the file skipped")


class _Chat:
    """Header fields of the chat being read (they come before `messages` in exports)."""

    def __init__(self) -> None:
        self.fields: dict[str, object] = {}

    def set(self, key: str, value: object) -> None:
        self.fields[key] = value

    @property
    def name(self) -> str:
        f = self.fields
        return as_str(f.get("name") or f.get("type") or f.get("id"))


def _chat(scanner: JsonScanner, source: str, ctx: ReadContext) -> Iterator[Message]:
    chat = _Chat()
    for key in scanner.members():
        if key == "messages":
            yield from _chat_messages(scanner, chat, source, ctx)
        else:
            chat.set(key, scanner.value())


def _chat_messages(
    scanner: JsonScanner, chat: _Chat, source: str, ctx: ReadContext
) -> Iterator[Message]:
    authors: dict[str, str] = {}
    for line in scanner.items():
        m = scanner.value()
        if not isinstance(m, dict):
            ctx.errors.error(source, line, "message is not a JSON object")
            continue
        author = as_str(m.get("from") or m.get("from_id") or m.get("actor"))
        mid = as_str(m.get("id"))
        if mid:
            authors[mid] = author
            if len(authors) > _REPLY_MEMORY:
                authors.pop(next(iter(authors)))
        if m.get("type", "message") != "message":
            ctx.errors.skip(f"telegram {as_str(m.get('type'))}")
            continue
        if "text" not in m:
            ctx.errors.error(source, line, "missing text field 'text'")
            continue
        raw_text = m["text"]
        text = flatten_text(raw_text)
        if not text.strip():
            ctx.errors.skip("empty text")
            continue
        if has_undecodable(text):
            ctx.errors.error(source, line, "undecodable bytes (not UTF-8)")
            continue
        targets = _mentions(raw_text)
        reply_to = m.get("reply_to_message_id")
        if reply_to is not None and as_str(reply_to) in authors:
            targets.append(authors[as_str(reply_to)])
        yield Message(
            id=mid or str(line),
            channel=chat.name,
            author=author,
            timestamp=as_str(m.get("date")),
            text=text,
            source=source,
            line=line,
            targets=tuple(dict.fromkeys(t for t in targets if t and t != author)),
        )
