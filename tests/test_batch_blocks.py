"""batch --jobs 2 on JSONL (workers parse blocks of raw lines) against --jobs 1: same bytes, same
bad-input accounting, same --strict stop, resumable across job counts."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harassflag.batch.blocks import parse_block, read_line_blocks, resume_cursor
from harassflag.batch.errors_log import ErrorLog
from harassflag.batch.readers import ByteProgress, ReadContext, ReaderOptions, read_messages
from test_batch_resume import batch_cmd
from test_batch_run import make_jsonl, run_cli

TRICKY = [
    b'{"id": "a", "text": "you are an idiot", "author": "sam", "channel": "c1"}\n',
    b"\n",
    b'{"id": "b", "text": \n',  # malformed
    b'{"id": "c", "note": "no text field here"}\n',
    b'{"id": "d", "text": "bad \\ud800 surrogate"}\n',
    b'{"id": "e", "text": "fine", "author": "x\\udc80"}\n',
    b'{"id": "f", "text": "caf\\u00e9 \\ud83d\\ude00 ok", "timestamp": "2024-02-03T10:00:00Z"}\r\n',
    b'{"id": "g", "text": "crlf line, you loser"}\r\n',
    b"   \r\n",
    b'{"id": "h", "text": "   "}\n',  # empty text: skipped, not an error
    b'{"id": "i", "text": 42}\n',
    b"[1, 2, 3]\n",
    b'{"id": "j", "text": "bytes \xff\xfe not utf-8"}\n',
    b'{"id": 12345678901234567890123, "text": "big id", "score": 1.5e3}\n',
    b'{"id": "k", "text": "nan", "x": NaN}\n',
    b'{"id": "l", "text": null}\n',
    b'{"id": "m", "text": "nested", "author": {"name": "kim"}}\n',
]


def tricky_jsonl(
    path: Path, repeat: int = 40, gz: bool = False, last_newline: bool = False
) -> None:
    """`repeat` rounds of every kind of line above (ids made unique), no final newline."""
    lines = []
    for r in range(repeat):
        for raw in TRICKY:
            lines.append(raw.replace(b'"id": "', b'"id": "%d-' % r))
    data = b"".join(lines)
    if not last_newline:
        data = data.rstrip(b"\n")
    path.write_bytes(gzip.compress(data) if gz else data)


_svg_ids = re.compile(r"\b[mp][0-9a-f]{10}\b")
"""Matplotlib's SVG element ids are random in every run, whatever --jobs."""


def run_both(
    tmp_path: Path, model: Path, inputs: list[Path], ext: str, capsys, *extra: str
) -> list[tuple[int, str, bytes, bytes | None, str]]:
    """(exit code, stderr, output bytes, errors sidecar bytes, HTML report) with --jobs 1 and 2."""
    results = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.{ext}"
        report = tmp_path / f"report{jobs}.html"
        args = [*map(str, inputs), "--out", str(out), "--model", str(model), "--jobs", jobs]
        code, err = run_cli([*args, "--progress", "none", "--report", str(report), *extra], capsys)
        side = out.with_name(out.name + ".errors.jsonl")
        results.append(
            (
                code,
                err.replace(str(out), "OUT").replace(str(report), "REPORT"),
                out.read_bytes() if out.exists() else b"",
                side.read_bytes() if side.exists() else None,
                _svg_ids.sub("ID", report.read_text().replace(str(out), "OUT"))
                if report.exists()
                else "",
            )
        )
    return results


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("gz", [False, True])
def test_jobs_2_equals_jobs_1_on_tricky_jsonl(
    tmp_path: Path, tiny_model_dir: Path, capsys, ext: str, gz: bool
) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / ("b.jsonl.gz" if gz else "b.jsonl")
    tricky_jsonl(a, last_newline=True)
    tricky_jsonl(b, repeat=7, gz=gz)
    one, two = run_both(tmp_path, tiny_model_dir, [a, b], ext, capsys, "--chunk-size", "13")
    assert one[0] == 0, one[1]
    assert one == two
    assert "bad input: " in one[1] and "more rows skipped" in one[1]
    assert f"{a}:6: author: invalid Unicode" in one[1]
    listed = [json.loads(line) for line in (one[3] or b"").splitlines()]
    assert len(listed) == 8 * 47  # 8 bad lines a round, 47 rounds
    reasons = {r["reason"].split(":")[0] for r in listed}
    assert {"malformed JSON", "missing text field 'text'", "text", "author"} <= reasons
    assert "read 282 messages" in one[1]  # 6 a round


def test_jobs_2_equals_jobs_1_on_clean_and_blank_only_input(
    tmp_path: Path, tiny_model_dir: Path, capsys
) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 2500, bad_every=101)
    blank = tmp_path / "blank.jsonl"
    blank.write_bytes(b"\n\n  \n" * 50)
    one, two = run_both(tmp_path, tiny_model_dir, [blank, src, blank], "jsonl", capsys)
    assert one == two and one[0] == 0
    assert "read 2,476 messages" in one[1]


@pytest.mark.parametrize("bad", [b'{"id": "x", "text": \n', b'{"id": "x", "text": "\\ud800"}\n'])
def test_strict_with_jobs_2_stops_like_jobs_1(
    tmp_path: Path, tiny_model_dir: Path, capsys, bad: bytes
) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 900)
    lines = src.read_bytes().splitlines(keepends=True)
    src.write_bytes(b"".join(lines[:777] + [bad] + lines[777:]))
    one, two = run_both(
        tmp_path, tiny_model_dir, [src], "jsonl", capsys, "--strict", "--chunk-size", "50"
    )
    assert one[0] == two[0] == 4
    assert one[1] == two[1]
    assert f"{src}:778: " in one[1] and "--strict" in one[1]
    assert not (tmp_path / "out2.jsonl").exists()


def test_blocks_parse_to_the_messages_and_errors_of_read_messages(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl.gz"
    tricky_jsonl(src, repeat=5, gz=True)
    log = ErrorLog(None, show_first=0)
    ctx = ReadContext(ReaderOptions(), log, ByteProgress())
    expected = list(read_messages([(src, "jsonl")], ctx))
    got, events = [], []
    for block in read_line_blocks([(src, "jsonl")], ByteProgress(), 6):
        cols, count, ev = parse_block(block, ReaderOptions())
        got += [tuple(c[i] for c in cols) for i in range(count)]
        events += ev.events
    assert got == [tuple(getattr(m, f) for f in m.__slots__) for m in expected]
    assert sum(1 for e in events if not isinstance(e, str)) == log.count == 40
    assert sum(1 for e in events if isinstance(e, str)) == sum(log.skipped.values()) == 5


def test_resume_cursor_continues_after_the_last_message(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    tricky_jsonl(a, repeat=2)
    tricky_jsonl(b, repeat=2)
    inputs = [(a, "jsonl"), (b, "jsonl")]
    ctx = ReadContext(ReaderOptions(), ErrorLog(None, show_first=0), ByteProgress())
    assert resume_cursor(inputs, ctx, 0) == (0, 0)
    assert resume_cursor(inputs, ctx, 6) == (0, 17)  # a round: 17 lines, the last a message
    ctx = ReadContext(ReaderOptions(), ErrorLog(None, show_first=0), ByteProgress())
    assert resume_cursor(inputs, ctx, 12) == (0, 34)
    ctx = ReadContext(ReaderOptions(), ErrorLog(None, show_first=0), ByteProgress())
    assert resume_cursor(inputs, ctx, 13) == (1, 1)
    ctx = ReadContext(ReaderOptions(), ErrorLog(None, show_first=0), ByteProgress())
    assert resume_cursor(inputs, ctx, 25) is None


@pytest.mark.parametrize("first_jobs, resume_jobs", [("2", "1"), ("1", "2"), ("2", "2")])
def test_sigkill_then_resume_with_other_jobs(
    tmp_path: Path, tiny_model_dir: Path, first_jobs: str, resume_jobs: str
) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 15_000, bad_every=500)
    reference = tmp_path / "reference.jsonl"
    subprocess.run(batch_cmd(src, reference, tiny_model_dir), check=True, capture_output=True)
    out = tmp_path / "out.jsonl"
    checkpoint = out.with_name(out.name + ".checkpoint.json")
    cmd = batch_cmd(src, out, tiny_model_dir, "--jobs", first_jobs, "--checkpoint-every", "0.05")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    position = 0
    while time.monotonic() < deadline and proc.poll() is None and position < 2000:
        try:
            position = json.loads(checkpoint.read_text())["position"]
        except (ValueError, KeyError, OSError):
            position = 0
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make the input larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run(
        batch_cmd(src, out, tiny_model_dir, "--jobs", resume_jobs, "--resume"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after" in resumed.stderr
    assert "messages scored" in resumed.stderr or "read " in resumed.stderr  # progress lines
    assert out.read_bytes() == reference.read_bytes()
    side = out.with_name(out.name + ".errors.jsonl").read_bytes()
    assert side == reference.with_name(reference.name + ".errors.jsonl").read_bytes()
    assert "read 14,970 messages" in resumed.stderr
    assert not checkpoint.exists()
