"""WhatsApp chat export (.txt), Android and iOS line shapes, multi-line messages, system lines skipped.

Android: `12/31/23, 9:41 PM - Name: text`  (newer exports put U+202F before AM/PM)
iOS:     `[31/12/2023, 21:41:05] Name: text` (system and media lines carry U+200E marks)
Continuation lines (no timestamp) belong to the message above.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import Message
from .base import ReadContext, open_binary

MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_DATE = r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)(?:[ \u202f\u00a0]?(?P<ampm>[AaPp]\.?[ \u202f]?[Mm]\.?))?"
IOS_LINE = re.compile(rf"^\[{_DATE},?[ \u202f](?:klo )?{_TIME}\] (?P<rest>.*)$", re.DOTALL)
ANDROID_LINE = re.compile(
    rf"^{_DATE},?[ \u202f](?:klo )?{_TIME} [-\u2013] (?P<rest>.*)$", re.DOTALL
)
_AUTHOR = re.compile(r"^(?P<author>[^:\n]{1,100}?): (?P<text>.*)$", re.DOTALL)
_MENTION = re.compile(r"@([\w+][\w.+-]*)")
_EDITED = re.compile(r"\s*<This message was edited>$")

# Content WhatsApp writes instead of a message (exports "without media", deletions).
PLACEHOLDERS = frozenset(
    {
        "<media omitted>",
        "image omitted",
        "video omitted",
        "audio omitted",
        "sticker omitted",
        "gif omitted",
        "document omitted",
        "contact card omitted",
        "this message was deleted",
        "you deleted this message",
        "null",
    }
)
_ENCRYPTION = ("end-to-end encrypted", "secured with end-to-end encryption")


def match_line(line: str) -> re.Match[str] | None:
    """The timestamp header of `line` if it starts a new entry (iOS or Android shape)."""
    stripped = line.lstrip(MARKS)
    return IOS_LINE.match(stripped) or ANDROID_LINE.match(stripped)


def _date_order(path: Path, ctx: ReadContext) -> str:
    """'dmy', 'mdy' or 'ymd' for this file, from the values seen (one cheap pre-pass)."""
    day_first = month_first = ampm = False
    with open_binary(path) as f:
        for raw in f:
            m = match_line(raw.decode("utf-8", "replace"))
            if not m:
                continue
            a, b, _ = re.split(r"[./-]", m["date"])
            if len(a) == 4:
                return "ymd"
            ampm = ampm or bool(m["ampm"])
            day_first = day_first or int(a) > 12
            month_first = month_first or int(b) > 12
            if day_first or month_first:
                break
    if day_first:
        return "dmy"
    if month_first:
        return "mdy"
    return "mdy" if ampm else "dmy"


def _iso(m: re.Match[str], order: str) -> str:
    parts = [int(p) for p in re.split(r"[./-]", m["date"])]
    if order == "ymd":
        y, mo, d = parts
    elif order == "mdy":
        mo, d, y = parts
    else:
        d, mo, y = parts
    if y < 100:
        y += 2000
    t = [int(p) for p in re.split(r"[:.]", m["time"])]
    h, mi, s = t[0], t[1], t[2] if len(t) > 2 else 0
    ampm = (m["ampm"] or "").lower().replace(".", "").replace(" ", "").replace("\u202f", "")
    if ampm == "pm" and h < 12:
        h += 12
    elif ampm == "am" and h == 12:
        h = 0
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


def _channel(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", ".txt"):
        stem = stem.removesuffix(suffix)
    for prefix in ("WhatsApp Chat with ", "WhatsApp Chat - ", "WhatsApp-Chat mit "):
        stem = stem.removeprefix(prefix)
    if stem == "_chat":
        stem = path.parent.name or stem
    return stem


@dataclass
class _Pending:
    line: int
    timestamp: str
    author: str
    lines: list[str] = field(default_factory=list)
    bad: bool = False


def read_whatsapp(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """Messages of one exported chat, in file order."""
    source = str(path)
    order = _date_order(path, ctx)
    channel = _channel(path)
    pending: _Pending | None = None
    with open_binary(path, ctx.progress) as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                ctx.errors.error(
                    source, lineno, f"undecodable bytes (not UTF-8) at byte {exc.start}"
                )
                if pending is not None:
                    pending.bad = True
                continue
            m = match_line(line)
            if m is None:
                if pending is not None:
                    pending.lines.append(line)
                elif line.strip(MARKS + " \t"):
                    ctx.errors.error(
                        source, lineno, "line is neither a WhatsApp message nor a continuation"
                    )
                continue
            if pending is not None:
                msg = _finish(pending, channel, source, ctx)
                if msg is not None:
                    yield msg
                pending = None
            head = _AUTHOR.match(m["rest"])
            if head is None:  # `<time> - Alice added Bob`: a system line
                ctx.errors.skip("whatsapp system")
                continue
            pending = _Pending(lineno, _iso(m, order), head["author"].strip(MARKS), [head["text"]])
        if pending is not None:
            msg = _finish(pending, channel, source, ctx)
            if msg is not None:
                yield msg


def _finish(p: _Pending, channel: str, source: str, ctx: ReadContext) -> Message | None:
    if p.bad:
        return None
    first = p.lines[0]
    if first.startswith("\u200e"):  # iOS marks system and media lines with U+200E
        ctx.errors.skip("whatsapp system")
        return None
    text = _EDITED.sub("", "\n".join(p.lines)).strip(MARKS)
    low = text.strip().lower()
    if low in PLACEHOLDERS or low.endswith("(file attached)"):
        ctx.errors.skip("whatsapp media")
        return None
    if any(e in low for e in _ENCRYPTION) and len(p.lines) == 1:
        ctx.errors.skip("whatsapp system")
        return None
    if not text.strip():
        ctx.errors.skip("empty text")
        return None
    targets = tuple(dict.fromkeys(t for t in _MENTION.findall(text) if t != p.author))
    return Message(str(p.line), channel, p.author, p.timestamp, text, source, p.line, targets)
