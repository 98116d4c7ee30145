"""`--format auto`: recognise each input's export format from its content."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from ..errors_log import InputFileError
from .base import read_head
from .whatsapp import MARKS, match_line

FORMATS = ("jsonl", "csv", "parquet", "text", "slack", "discord", "telegram", "whatsapp")


def detect_format(path: Path) -> str:
    """The format of `path` (a file, gzip file, zip or folder), judged from its content first."""
    if path.is_dir():
        if (path / "users.json").is_file() or (path / "channels.json").is_file():
            return "slack"
        raise InputFileError(
            f"{path}: a folder that is not a Slack export (no users.json or channels.json)"
        )
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"PAR1":
        return "parquet"
    if magic[:2] == b"PK":
        try:
            with zipfile.ZipFile(path) as z:
                names = {Path(n).name for n in z.namelist()}
        except zipfile.BadZipFile:
            raise InputFileError(f"{path}: a damaged zip file") from None
        if "users.json" in names or "channels.json" in names:
            return "slack"
        raise InputFileError(f"{path}: a zip file that is not a Slack export")
    head = read_head(path).decode("utf-8", "replace").lstrip("\ufeff")
    stripped = head.lstrip()
    if stripped.startswith("{"):
        window = stripped[:4096]
        if '"guild"' in window and '"channel"' in window:
            return "discord"
        if (
            '"chats"' in window
            or '"personal_information"' in window
            or '"from_id"' in head
            or '"date_unixtime"' in head
        ):
            return "telegram"
        first = stripped.split("\n", 1)[0]
        try:
            if isinstance(json.loads(first), dict):
                return "jsonl"
        except ValueError:
            pass
        if '"messages"' in window and '"type"' in window:
            return "telegram"
        return "jsonl"
    lines = [ln for ln in head.splitlines()[:30] if ln.strip(MARKS + " ")]
    complete = lines[:-1] or lines  # the last line of the head may be cut
    headers = sum(1 for ln in complete if match_line(ln))
    if lines and match_line(lines[0]) and headers >= max(1, len(complete) // 3):
        return "whatsapp"
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if lines and "," in lines[0] and not name.endswith(".txt"):
        import csv

        header = next(csv.reader([lines[0]]), [])
        if len(header) >= 2 and any(
            h.strip().lower() in ("text", "content", "message", "body") for h in header
        ):
            return "csv"
    return "text"
