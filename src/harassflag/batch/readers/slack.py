"""Slack workspace export (zip or folder): users.json, channels.json, one folder of days per channel."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors_log import InputFileError
from ..messages import Message
from .base import ReadContext, has_undecodable, text_stream
from .jsonstream import JsonScanner, JsonStreamError

# Subtypes that carry a person's own words; every other subtype is a system event
# (channel_join, channel_leave, channel_topic, pinned_item, bot_add, tombstone, ...).
KEPT_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message", "bot_message"})

_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_LINK = re.compile(r"<([^<>]*)>")
_METADATA = ("channels.json", "groups.json", "mpims.json", "dms.json")


class _Tree:
    """A Slack export as a folder or as a zip archive, with the same read API."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        if path.is_dir():
            return
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise InputFileError(
                f"{path}: not a Slack export (neither a folder nor a zip)"
            ) from None
        names = self.zip.namelist()
        # Some zips wrap everything in one top folder.
        roots = [
            n
            for n in names
            if PurePosixPath(n).name == "users.json" or PurePosixPath(n).name == "channels.json"
        ]
        if roots:
            parent = str(PurePosixPath(min(roots, key=len)).parent)
            self.prefix = "" if parent == "." else parent + "/"

    def exists(self, rel: str) -> bool:
        if self.zip is not None:
            try:
                self.zip.getinfo(self.prefix + rel)
                return True
            except KeyError:
                return False
        return (self.path / rel).is_file()

    def load(self, rel: str) -> Any:
        data = (
            self.zip.read(self.prefix + rel)
            if self.zip is not None
            else (self.path / rel).read_bytes()
        )
        return json.loads(data.decode("utf-8"))

    def day_files(self, folder: str) -> list[str]:
        if self.zip is not None:
            base = self.prefix + folder + "/"
            names = [n[len(self.prefix) :] for n in self.zip.namelist() if n.startswith(base)]
            return sorted(
                n for n in names if _DAY_FILE.match(PurePosixPath(n).name) and n.count("/") == 1
            )
        d = self.path / folder
        if not d.is_dir():
            return []
        return sorted(f"{folder}/{p.name}" for p in d.iterdir() if _DAY_FILE.match(p.name))

    def folders(self) -> list[str]:
        if self.zip is not None:
            found = {
                n[len(self.prefix) :].split("/", 1)[0]
                for n in self.zip.namelist()
                if n.startswith(self.prefix) and "/" in n[len(self.prefix) :]
            }
            return sorted(found)
        return sorted(p.name for p in self.path.iterdir() if p.is_dir())

    def open(self, rel: str) -> io.TextIOWrapper:
        binary = (
            self.zip.open(self.prefix + rel)
            if self.zip is not None
            else open(self.path / rel, "rb")  # noqa: SIM115 (long-lived handle, closed by its owner)
        )
        return text_stream(binary)  # type: ignore[arg-type]

    def display(self, rel: str) -> str:
        return f"{self.path}!{rel}" if self.zip is not None else str(self.path / rel)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _user_names(users: list[dict]) -> dict[str, str]:
    names: dict[str, str] = {}
    for u in users if isinstance(users, list) else []:
        if not isinstance(u, dict) or "id" not in u:
            continue
        profile = u.get("profile") or {}
        names[u["id"]] = (
            profile.get("display_name")
            or profile.get("real_name")
            or u.get("real_name")
            or u.get("name")
            or u["id"]
        )
    return names


def render_text(text: str, users: dict[str, str], mentioned: list[str]) -> str:
    """Slack markup to plain text: <@U1> → @name, <#C1|x> → #x, <url|label> → label, entities unescaped."""

    def repl(m: re.Match[str]) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            name = users.get(target[1:]) or label or target[1:]
            mentioned.append(name)
            return "@" + name
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            if target.startswith("!subteam^"):
                return label or "@group"
            if target.startswith("!date^"):
                return label
            return "@" + (label or target[1:])
        return label or target

    return html.unescape(_LINK.sub(repl, text))


def _ts_iso(ts: str) -> str:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError):
        return ts or ""


def read_slack(path: Path, ctx: ReadContext) -> Iterator[Message]:
    """Every message of every conversation, conversation by conversation, day by day."""
    tree = _Tree(path)
    raw = open(path, "rb") if tree.zip is not None else None  # noqa: SIM115 (long-lived handle, closed by its owner)
    if raw is not None:
        ctx.progress.start(raw)
    try:
        if not (tree.exists("users.json") or tree.exists("channels.json")):
            raise InputFileError(f"{path}: not a Slack export (no users.json or channels.json)")
        try:
            users = _user_names(tree.load("users.json")) if tree.exists("users.json") else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputFileError(f"{tree.display('users.json')}: invalid JSON: {exc}") from None
        # Folder → conversation name, in metadata order; folders not listed are read afterwards.
        conversations: dict[str, str] = {}
        for meta in _METADATA:
            if not tree.exists(meta):
                continue
            try:
                entries = tree.load(meta)
            except (ValueError, UnicodeDecodeError) as exc:
                ctx.errors.error(tree.display(meta), 1, f"invalid JSON: {exc}")
                continue
            for c in entries if isinstance(entries, list) else []:
                if not isinstance(c, dict):
                    continue
                if meta == "dms.json":  # DM folders are named by id
                    members = [users.get(m, m) for m in c.get("members") or []]
                    conversations.setdefault(c.get("id", ""), "dm:" + ",".join(members))
                elif c.get("name"):
                    conversations.setdefault(c["name"], c["name"])
        for folder in tree.folders():
            conversations.setdefault(folder, folder)
        for folder, channel in conversations.items():
            yield from _read_folder(tree, folder, channel, users, ctx)
    finally:
        tree.close()
        if raw is not None:
            raw.close()


def _read_folder(
    tree: _Tree, folder: str, channel: str, users: dict[str, str], ctx: ReadContext
) -> Iterator[Message]:
    thread_authors: dict[str, str] = {}  # thread_ts → author of the thread's parent (one channel)
    for rel in tree.day_files(folder):
        source = tree.display(rel)
        with tree.open(rel) as stream:
            yield from _read_day(
                JsonScanner(stream), source, rel, channel, users, thread_authors, ctx
            )


def _read_day(
    scanner: JsonScanner,
    source: str,
    rel: str,
    channel: str,
    users: dict[str, str],
    thread_authors: dict[str, str],
    ctx: ReadContext,
) -> Iterator[Message]:
    try:
        for i in scanner.items():
            m = scanner.value()
            if not isinstance(m, dict):
                ctx.errors.error(source, i, "message is not a JSON object")
                continue
            msg = _message(m, source, rel, i, channel, users, thread_authors, ctx)
            if msg is not None:
                yield msg
    except JsonStreamError as exc:
        ctx.errors.error(source, exc.line, f"{exc}; rest of the file skipped")


def _message(
    m: dict,
    source: str,
    rel: str,
    i: int,
    channel: str,
    users: dict[str, str],
    thread_authors: dict[str, str],
    ctx: ReadContext,
) -> Message | None:
    subtype = m.get("subtype") or ""
    if subtype not in KEPT_SUBTYPES:
        ctx.errors.skip(f"slack {subtype}")
        return None
    text = m.get("text")
    if not isinstance(text, str):
        ctx.errors.error(source, i, "missing text field 'text'")
        return None
    if not text.strip():
        ctx.errors.skip("empty text")
        return None
    if has_undecodable(text):
        ctx.errors.error(source, i, "undecodable bytes (not UTF-8)")
        return None
    uid = m.get("user") or m.get("bot_id") or ""
    profile = m.get("user_profile") or {}
    author = (
        users.get(uid)
        or profile.get("display_name")
        or profile.get("real_name")
        or m.get("username")
        or uid
    )
    ts = m.get("ts") or ""
    thread_ts = m.get("thread_ts")
    mentioned: list[str] = []
    plain = render_text(text, users, mentioned)
    if thread_ts and thread_ts == ts:
        thread_authors[ts] = author
        if len(thread_authors) > 100_000:
            thread_authors.pop(next(iter(thread_authors)))
    elif thread_ts:
        parent = users.get(m.get("parent_user_id") or "") or thread_authors.get(thread_ts)
        if parent and parent != author:
            mentioned.append(parent)
    return Message(
        id=ts or f"{rel}:{i}",
        channel=channel,
        author=author,
        timestamp=_ts_iso(ts),
        text=plain,
        source=source,
        line=i,
        targets=tuple(dict.fromkeys(t for t in mentioned if t != author)),
    )
