"""Readers and format detection on fixtures that follow each export's documented shape."""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from harassflag.batch.errors_log import ErrorLog, InputFileError, StrictInputError
from harassflag.batch.readers import (
    READERS,
    ByteProgress,
    ReadContext,
    ReaderOptions,
    detect_format,
)
from harassflag.batch.readers.slack import render_text
from harassflag.batch.readers.telegram import flatten_text

FIX = Path(__file__).parent / "fixtures" / "batch"


def read(
    path: Path, fmt: str | None = None, options: ReaderOptions | None = None, strict: bool = False
):
    log = ErrorLog(None, stream=io.StringIO(), strict=strict)
    ctx = ReadContext(options or ReaderOptions(), log, ByteProgress())
    msgs = list(READERS[fmt or detect_format(path)](path, ctx))
    return msgs, log


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("slack", "slack"),
        ("discord.json", "discord"),
        ("telegram_chat.json", "telegram"),
        ("telegram_full.json", "telegram"),
        ("whatsapp_android.txt", "whatsapp"),
        ("whatsapp_ios.txt", "whatsapp"),
        ("messages.jsonl", "jsonl"),
        ("messages.csv", "csv"),
        ("plain.txt", "text"),
    ],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(FIX / name) == fmt


def test_detect_by_content_not_extension(tmp_path: Path) -> None:
    src = tmp_path / "export.dat"
    shutil.copy(FIX / "discord.json", src)
    assert detect_format(src) == "discord"
    wa = tmp_path / "chat.log"
    shutil.copy(FIX / "whatsapp_ios.txt", wa)
    assert detect_format(wa) == "whatsapp"


def test_slack_folder_subtypes_mentions_and_links() -> None:
    msgs, log = read(FIX / "slack")
    assert log.count == 0
    assert log.skipped == {
        "slack channel_join": 1,
        "slack channel_leave": 1,
        "slack channel_topic": 1,
        "empty text": 1,
    }
    by_id = {m.id: m for m in msgs}
    welcome = by_id["1677664860.000200"]
    assert welcome.text == "Welcome @carol! The notes are in #random and on the wiki."
    assert welcome.channel == "general" and welcome.author == "alice"
    assert welcome.timestamp == "2023-03-01T10:01:00+00:00"
    reply = by_id["1677664920.000300"]
    assert reply.text == "nobody wants you here, you worthless idiot & loser"  # &amp; unescaped
    assert reply.author == "Bob Brown" and reply.targets == (
        "alice",
    )  # thread reply targets the parent
    assert by_id["1677751260.000200"].text.startswith("@carol shut up")
    assert {m.channel for m in msgs} == {
        "general",
        "random",
        "dm:alice,Bob Brown",
        "mpdm-alice--bob--carol-1",
    }
    assert "join" not in " ".join(m.text for m in msgs)


def test_slack_zip_equals_folder(tmp_path: Path) -> None:
    archive = tmp_path / "workspace export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted((FIX / "slack").rglob("*.json")):
            z.write(p, "Workspace Export/" + p.relative_to(FIX / "slack").as_posix())
    assert detect_format(archive) == "slack"
    from_zip, _ = read(archive)
    from_dir, _ = read(FIX / "slack")
    assert [(m.id, m.channel, m.author, m.text, m.line) for m in from_zip] == [
        (m.id, m.channel, m.author, m.text, m.line) for m in from_dir
    ]


def test_slack_markup() -> None:
    seen: list[str] = []
    text = render_text(
        "hi <@U1> see <#C9|dev>, <https://x.org|docs>, <https://y.org> &lt;3 <!channel>",
        {"U1": "ann"},
        seen,
    )
    assert text == "hi @ann see #dev, docs, https://y.org <3 @channel"
    assert seen == ["ann"]


def test_discord_export() -> None:
    msgs, log = read(FIX / "discord.json")
    assert log.count == 0
    assert log.skipped == {
        "discord GuildMemberJoin": 1,
        "discord ChannelPinnedMessage": 1,
        "empty text": 1,
    }
    assert [m.id for m in msgs] == [
        "1100000000000000002",
        "1100000000000000003",
        "1100000000000000005",
    ]
    reply = msgs[1]
    assert reply.author == "bob" and reply.channel == "general"
    assert reply.targets == ("Carol",)  # from the reply reference
    assert msgs[2].targets == ("Carol",)  # from mentions[]
    assert reply.timestamp == "2024-01-31T09:02:30.000+00:00"


def test_telegram_rich_text_and_service() -> None:
    msgs, log = read(FIX / "telegram_chat.json")
    assert log.skipped == {"telegram service": 2, "empty text": 1}
    assert [m.id for m in msgs] == ["2", "3", "5"]
    rich = msgs[1]
    assert rich.text == "you are a pathetic idiot, @dana_reads nobody cares"
    assert rich.targets == ("dana_reads", "Dana")  # mention entity + reply_to_message_id
    assert rich.channel == "Book Club" and rich.timestamp == "2023-05-01T18:02:00"
    assert msgs[2].author == "user100000003"  # `from` is null for deleted accounts
    assert flatten_text(["a", {"type": "bold", "text": "b"}, "c"]) == "abc"


def test_telegram_full_export() -> None:
    msgs, log = read(FIX / "telegram_full.json")
    assert [(m.channel, m.text) for m in msgs] == [
        ("Eli", "did you finish the book?"),
        ("saved_messages", "remember to buy borrow the sequel"),
    ]
    assert log.skipped == {"telegram service": 1}


def test_whatsapp_android() -> None:
    msgs, log = read(FIX / "whatsapp_android.txt")
    assert log.count == 0
    assert log.skipped == {"whatsapp system": 3, "whatsapp media": 2}
    assert [m.author for m in msgs] == ["Frank", "Gina", "Hank", "Ivy"]
    assert msgs[1].text == "me! I'll bring snacks\nand the map\nand a first-aid kit"
    assert msgs[1].line == 4
    assert msgs[0].timestamp == "2023-12-30T21:41:00"  # 9:41\u202fPM
    assert msgs[2].timestamp == "2023-12-31T10:05:00" and msgs[2].targets == ("Gina",)
    assert msgs[3].text == "see you all" and msgs[3].timestamp == "2024-01-02T08:00:00"


def test_whatsapp_ios() -> None:
    msgs, log = read(FIX / "whatsapp_ios.txt")
    assert log.count == 0
    assert log.skipped == {"whatsapp system": 4}  # encryption notice, group creation, image, added
    assert [m.author for m in msgs] == ["Frank", "Gina", "Hank", "Ivy"]
    assert msgs[1].text == "me!\nI'll bring snacks"
    assert msgs[0].timestamp == "2023-12-31T21:41:05"
    assert msgs[3].timestamp == "2024-01-13T08:00:00"  # day-first (13 > 12)


def test_csv_multiline_and_bad_row() -> None:
    msgs, log = read(FIX / "messages.csv")
    assert [m.id for m in msgs] == ["c1", "c2", "c4"]
    assert msgs[1].text == 'first line\nsecond line, with a comma\nthird line "quoted"'
    assert log.count == 1
    assert (msgs[1].line, msgs[2].line) == (3, 7)


def test_csv_without_text_column_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="--text-field"):
        read(p, "csv")
    msgs, _ = read(p, "csv", ReaderOptions(text_field="b"))
    assert [m.text for m in msgs] == ["2"]


def test_jsonl_bad_lines_are_listed_with_line_numbers(tmp_path: Path) -> None:
    sidecar = tmp_path / "errors.jsonl"
    shown = io.StringIO()
    log = ErrorLog(sidecar, stream=shown)
    ctx = ReadContext(ReaderOptions(), log, ByteProgress())
    msgs = list(READERS["jsonl"](FIX / "messages.jsonl", ctx))
    log.close()
    assert [m.id for m in msgs] == ["m1", "m2", "m5"]
    assert [m.line for m in msgs] == [1, 4, 8]
    import json

    rows = [json.loads(line) for line in sidecar.read_text().splitlines()]
    assert [(r["line"], r["reason"].split(":")[0].split(" (")[0]) for r in rows] == [
        (2, "malformed JSON"),
        (5, "missing text field 'text'"),
        (6, "undecodable bytes"),
        (7, "expected a JSON object, got list"),
    ]
    assert "messages.jsonl:2" in shown.getvalue()


def test_strict_stops_at_first_bad_row() -> None:
    with pytest.raises(StrictInputError, match=r"messages.jsonl:2: malformed JSON"):
        read(FIX / "messages.jsonl", strict=True)


def test_gzip_is_transparent(tmp_path: Path) -> None:
    gz = tmp_path / "chat.bin"
    gz.write_bytes(gzip.compress((FIX / "whatsapp_android.txt").read_bytes()))
    assert detect_format(gz) == "whatsapp"
    plain, _ = read(FIX / "whatsapp_android.txt")
    packed, _ = read(gz)
    assert [m.text for m in packed] == [m.text for m in plain]


def test_parquet_streamed(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "m.parquet"
    table = pa.table(
        {
            "msg_id": [f"p{i}" for i in range(10)],
            "body": [f"text {i}" if i != 3 else None for i in range(10)],
        }
    )
    pq.write_table(table, p, row_group_size=4)
    assert detect_format(p) == "parquet"
    log = ErrorLog(None, stream=io.StringIO())
    ctx = ReadContext(ReaderOptions(id_field="msg_id"), log, ByteProgress(), chunk_rows=3)
    msgs = list(READERS["parquet"](p, ctx))
    assert [m.id for m in msgs] == [f"p{i}" for i in range(10) if i != 3]
    assert log.count == 1  # the null text


def test_truncated_discord_export_keeps_what_was_read(tmp_path: Path) -> None:
    p = tmp_path / "cut.json"
    data = (FIX / "discord.json").read_text()
    p.write_text(data[: data.index('"id": "1100000000000000005"')])
    msgs, log = read(p, "discord")
    assert [m.id for m in msgs] == ["1100000000000000002", "1100000000000000003"]
    assert log.count == 1


def test_jsonl_values_read_as_the_standard_json_module_reads_them(tmp_path: Path) -> None:
    """Lines are parsed with orjson, but where it reads JSON otherwise (huge integers, NaN, lone
    surrogates, floats, nested values) the result and error wording are the json module's."""
    src = tmp_path / "odd.jsonl"
    src.write_bytes(
        b'{"id": 12345678901234567890123, "text": "a"}\n'
        b'{"id": 1.5, "text": "b"}\n'
        b'{"id": NaN, "author": Infinity, "text": "c"}\n'
        b'{"id": "x", "channel": {"n": 1e400, "m": 12345678901234567890123}, "text": "d"}\n'
        b'{"id": "y", "text": "\\ud83d\\ude00 ok"}\n'
        b'{"id": "z", "text": "lone \\ud800"}\n'
        b"12345678901234567890123\n"
        b'{"id": true, "text": "e"}\n'
        b'{"text": 5}\n'
        b"\n"
        b'{"id": 9007199254740993, "timestamp": 2.0, "text": "f"}\n'
        b'{"id": "w", "text": "g", "unused": 1e400}\n'
        b'{"id": "v", "text": "h"} trailing\n'
        b'{"id": "u", "channel": {"n": 1.0}, "author": "bob", "timestamp": "t", "text": "i"}\n'
        b'{"id": 2.5, "channel": "c", "author": ["bo", 1], "timestamp": "t", "text": "j"}\n'
    )
    msgs, log = read(src, "jsonl")
    assert [(m.id, m.channel, m.author, m.timestamp, m.text, m.line) for m in msgs] == [
        ("12345678901234567890123", "", "", "", "a", 1),
        ("1.5", "", "", "", "b", 2),
        ("nan", "", "inf", "", "c", 3),
        ("x", "{'n': inf, 'm': 12345678901234567890123}", "", "", "d", 4),
        ("y", "", "", "", "\U0001f600 ok", 5),
        ("z", "", "", "", "lone \ud800", 6),
        ("True", "", "", "", "e", 8),
        ("9007199254740993", "", "", "2.0", "f", 11),
        ("w", "", "", "", "g", 12),
        ("u", "{'n': 1.0}", "bob", "t", "i", 14),
        ("2.5", "c", "['bo', 1]", "t", "j", 15),
    ]
    assert log.count == 3  # line 7 (not an object), 9 (text not a string), 13 (trailing data)
