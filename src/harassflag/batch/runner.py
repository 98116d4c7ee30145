"""The batch run: read → chunk → score (1..N processes, order kept) → write, with checkpoints.

Resume protocol: after a chunk, at most every `checkpoint_seconds` (syncing costs milliseconds
each time), the output and the errors sidecar are fsynced, then a checkpoint records (messages
consumed from the input stream, output bytes or Parquet parts, errors and sidecar bytes at that
point, aggregates). `--resume` truncates both files back to the checkpoint, re-reads the input
skipping the messages already consumed, and carries on. Readers are deterministic, so the finished
output equals an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from ..errors import HarassflagError
from .blocks import LineBlock, parse_block, read_line_blocks, resume_cursor
from .errors_log import ErrorEvent, ErrorLog
from .messages import Message, to_columns
from .readers import ByteProgress, ReadContext, ReaderOptions, detect_format, read_messages
from .scoring import ScoreOptions, score_chunk, score_columns
from .stats import BatchStats, ChunkStats
from .writer import OutputSink, atomic_write, columns, output_kind

CHECKPOINT_SECONDS = 1.0
"""Default time between checkpoints: a killed run redoes at most about this much work."""
CHECKPOINT_VERSION = 2
"""2: JSONL rows are compact (orjson); a version-1 checkpoint is refused, not continued in another
format."""


class ResumeError(HarassflagError):
    """The checkpoint does not belong to this run (other inputs, options or model)."""

    exit_code = 2


@dataclass
class BatchConfig:
    """Everything a batch run depends on."""

    inputs: list[Path]
    out: Path
    fmt: str = "auto"
    options: ReaderOptions = field(default_factory=ReaderOptions)
    jobs: int = 1
    resume: bool = False
    only_flagged: bool = False
    no_text: bool = False
    strict: bool = False
    report: Path | None = None
    chunk_size: int = 2000
    checkpoint_seconds: float = CHECKPOINT_SECONDS
    """Write a checkpoint after a chunk when this long has passed since the last (0: every chunk)."""
    explain_top: int = 5
    progress: str = "auto"
    show_errors: int = 10
    queue: bool = False
    """Push flagged messages to the review queue (harassflag.review, $HARASSFLAG_DATABASE_URL)."""


@dataclass
class BatchSummary:
    """What happened, for the CLI summary and the report."""

    out: Path
    formats: list[tuple[str, str]]
    read: int
    scored: int
    flagged: int
    written: int
    errors: int
    skipped: dict[str, int]
    errors_file: Path | None
    resumed_from: int
    stats: BatchStats
    report: Path | None = None
    queued: int = 0


# -- worker side --------------------------------------------------------------------------------
_MODEL: Any = None


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM when the batch process dies, even by kill -9 (no orphans)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: workers still exit when the pool's queue closes


def _init_worker(model_dir: str | None) -> None:
    global _MODEL
    _die_with_parent()
    if _MODEL is None:  # forked workers inherit the parent's loaded model
        from .. import load_model

        _MODEL = load_model(model_dir)


def _score_in_worker(
    columns: tuple[list, ...], opts: ScoreOptions, chunk_no: int
) -> tuple[Any, ChunkStats]:
    return score_columns(_MODEL, columns, opts, chunk_no)


def _score_block_in_worker(
    block: LineBlock, options: ReaderOptions, opts: ScoreOptions, chunk_no: int
) -> tuple[Any, ChunkStats, list[ErrorEvent], int]:
    """Parse and score one block of JSONL lines: (payload, stats, bad rows, messages)."""
    cols, count, events = parse_block(block, options)
    if not count:
        return b"", ChunkStats(), events.events, 0
    payload, stats = score_columns(_MODEL, cols, opts, chunk_no)
    return payload, stats, events.events, count


# -- helpers ------------------------------------------------------------------------------------
def _chunks(it: Iterator[Message], size: int) -> Iterator[list[Message]]:
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def _input_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _fingerprint(
    config: BatchConfig, formats: list[tuple[Path, str]], model_sha: str, cols: list[str]
) -> str:
    ident = {
        "inputs": [
            [str(p.resolve()), fmt, _input_size(p), int(p.stat().st_mtime_ns)] for p, fmt in formats
        ],
        "options": asdict(config.options),
        "only_flagged": config.only_flagged,
        "no_text": config.no_text,
        "chunk_size": config.chunk_size,
        "explain_top": config.explain_top,
        "columns": cols,
        "model": model_sha,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def checkpoint_path(out: Path) -> Path:
    """Where the checkpoint of a run writing `out` lives."""
    return out.with_name(out.name + ".checkpoint.json")


def errors_path(out: Path) -> Path:
    """The sidecar listing every bad input row."""
    return out.with_name(out.name + ".errors.jsonl")


def resolve_formats(config: BatchConfig, stream: TextIO) -> list[tuple[Path, str]]:
    """Each input with its format; `auto` is detected from content and announced."""
    resolved = []
    for path in config.inputs:
        if config.fmt == "auto":
            fmt = detect_format(path)
            print(f"detected {fmt}: {path}", file=stream)
        else:
            fmt = config.fmt
        resolved.append((path, fmt))
    return resolved


def _open_queue() -> Any:
    """The review queue from harassflag.review's settings (environment)."""
    from ..review import ReviewQueue
    from ..review.settings import ReviewSettings

    return ReviewQueue.from_settings(ReviewSettings())


def _enqueue(queue: Any, items: list[dict[str, Any]], model_sha: str | None) -> int:
    """Queue flagged messages; re-queuing after a resume is a no-op (source, external_id)."""
    from ..review import NewItem

    new = [NewItem(source="batch", model_sha256=model_sha, **item) for item in items]
    try:
        results = queue.enqueue_many(new)
    except HarassflagError:  # one unqueueable item (e.g. too long): queue the others one by one
        results = []
        for item in new:
            try:
                results.append(queue.enqueue(item))
            except HarassflagError:
                continue
    return sum(1 for _id, created in results if created)


# -- the run ------------------------------------------------------------------------------------
def run_batch(
    config: BatchConfig,
    model: Any = None,
    model_dir: str | None = None,
    stream: TextIO | None = None,
) -> BatchSummary:
    """Score every message of `config.inputs` into `config.out`; resumable, order-preserving."""
    from .progress import Progress

    stream = stream if stream is not None else sys.stderr
    kind = output_kind(config.out)
    formats = resolve_formats(config, stream)
    if model is None:
        from .. import load_model

        model = load_model(model_dir)
    from ..heads import HEADS

    cols = columns(HEADS, config.no_text)
    fingerprint = _fingerprint(config, formats, str(getattr(model, "sha256", "")), cols)

    cp_path = checkpoint_path(config.out)
    err_final = errors_path(config.out)
    err_partial = err_final.with_name(err_final.name + ".partial")
    sink = OutputSink(config.out, kind, cols)

    checkpoint: dict[str, Any] | None = None
    if config.resume and cp_path.exists():
        try:
            checkpoint = json.loads(cp_path.read_text())
        except ValueError:
            raise ResumeError(
                f"{cp_path}: damaged checkpoint; run again without --resume"
            ) from None
        if (
            checkpoint.get("version") != CHECKPOINT_VERSION
            or checkpoint.get("fingerprint") != fingerprint
        ):
            raise ResumeError(
                f"{cp_path} was written for other inputs, options or model; run again without --resume"
            )
        print(f"resuming after {checkpoint['position']:,} messages", file=stream)
    elif config.resume:
        print("nothing to resume (no checkpoint): starting from the beginning", file=stream)
    if checkpoint is None:
        sink.discard()
        cp_path.unlink(missing_ok=True)

    errors = ErrorLog(
        err_partial,
        strict=config.strict,
        show_first=config.show_errors,
        stream=stream,
        replay=checkpoint["errors"] if checkpoint else 0,
        truncate_to=checkpoint["errors_bytes"] if checkpoint else None,
    )
    sink.open(
        resume_bytes=checkpoint["out_bytes"] if checkpoint and kind != "parquet" else None,
        resume_parts=checkpoint["out_bytes"] if checkpoint and kind == "parquet" else None,
    )
    stats = BatchStats.from_json(checkpoint["stats"]) if checkpoint else BatchStats()
    position = checkpoint["position"] if checkpoint else 0
    chunk_no = checkpoint["chunks"] if checkpoint else 0
    resumed_from = position

    bytes_progress = ByteProgress()
    ctx = ReadContext(config.options, errors, bytes_progress, chunk_rows=config.chunk_size)
    # Several jobs on JSONL: the workers parse blocks of raw lines (see blocks.py); the Parquet
    # output keeps the message path, as its row groups are chunks of exactly chunk_size messages.
    by_blocks = config.jobs > 1 and kind != "parquet" and all(f == "jsonl" for _, f in formats)
    fewer = ResumeError(
        f"{cp_path}: the input has fewer messages than the checkpoint; run again without --resume"
    )
    blocks: Iterator[LineBlock] = iter(())
    messages: Iterator[Message] = iter(())
    if by_blocks:
        cursor = resume_cursor(formats, ctx, position)
        if cursor is None:
            raise fewer
        blocks = read_line_blocks(formats, bytes_progress, config.chunk_size, cursor)
    else:
        messages = read_messages(formats, ctx)
        if position and sum(1 for _ in itertools.islice(messages, position)) != position:
            raise fewer
    total_bytes = sum(_input_size(p) for p, _ in formats)
    progress = Progress(total_bytes, config.progress, stream)
    queue = _open_queue() if config.queue else None
    queued = 0
    opts = ScoreOptions(
        kind, tuple(cols), config.no_text, config.only_flagged, config.explain_top, config.queue
    )

    last_checkpoint = time.monotonic()

    def commit(payload: Any, chunk_stats: ChunkStats, cut: dict[str, int]) -> None:
        nonlocal chunk_no
        nonlocal queued
        nonlocal last_checkpoint
        sink.write(payload)
        if queue is not None and chunk_stats.queue_items:
            queued += _enqueue(
                queue, chunk_stats.queue_items, str(getattr(model, "sha256", "")) or None
            )
        stats.merge(chunk_stats)
        chunk_no += 1
        now = time.monotonic()
        if now - last_checkpoint < config.checkpoint_seconds:
            progress.update(cut["position"], cut["done_bytes"], resumed_from)
            return
        last_checkpoint = now
        out_bytes = sink.sync()
        errors.sync()
        record = {
            "version": CHECKPOINT_VERSION,
            "fingerprint": fingerprint,
            "position": cut["position"],
            "chunks": chunk_no,
            "out_bytes": out_bytes,
            "errors": cut["errors"],
            "errors_bytes": cut["errors_bytes"],
            "stats": stats.to_json(),
        }
        atomic_write(cp_path, orjson.dumps(record))
        progress.update(cut["position"], cut["done_bytes"], resumed_from)

    executor: ProcessPoolExecutor | None = None
    try:
        if config.jobs > 1:
            global _MODEL
            methods = multiprocessing.get_all_start_methods()
            mp = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            _MODEL = model  # inherited by forked workers; spawned ones load `model_dir`
            executor = ProcessPoolExecutor(
                config.jobs, mp_context=mp, initializer=_init_worker, initargs=(model_dir,)
            )
        pending: deque[tuple[Future, dict[str, int]]] = deque()

        def commit_block(fut: Future, done_bytes: int) -> None:
            nonlocal position
            payload, chunk_stats, events, count = fut.result()
            errors.replay(events)  # before writing: --strict stops where a read would have
            position += count
            cut = {
                "position": position,
                "errors": errors.count,
                "errors_bytes": errors.tell(),
                "done_bytes": done_bytes,
            }
            commit(payload, chunk_stats, cut)

        for block in blocks:  # (none unless by_blocks, hence with an executor)
            assert executor is not None
            n = chunk_no + len(pending)
            fut = executor.submit(_score_block_in_worker, block, config.options, opts, n)
            pending.append((fut, {"done_bytes": bytes_progress.position()}))
            while len(pending) >= 2 * config.jobs:
                fut, c = pending.popleft()
                commit_block(fut, c["done_bytes"])
        for chunk in _chunks(messages, config.chunk_size):
            position += len(chunk)
            cut = {
                "position": position,
                "errors": errors.count,
                "errors_bytes": errors.tell(),
                "done_bytes": bytes_progress.position(),
            }
            n = chunk_no + len(pending)
            if executor is None:
                payload, chunk_stats = score_chunk(model, chunk, opts, n)
                commit(payload, chunk_stats, cut)
                continue
            pending.append((executor.submit(_score_in_worker, to_columns(chunk), opts, n), cut))
            while len(pending) >= 2 * config.jobs:
                fut, c = pending.popleft()
                commit(*fut.result(), c)
        while pending:
            fut, c = pending.popleft()
            if by_blocks:
                commit_block(fut, c["done_bytes"])
            else:
                commit(*fut.result(), c)
        if chunk_no == 0:  # no message at all: still checkpoint so the (empty) output is consistent
            sink.sync()
        sink.finalize()
    except BaseException:
        sink.close()
        errors.close()
        raise
    finally:
        progress.close()
        if executor is not None:
            executor.shutdown(cancel_futures=True)
        if queue is not None:
            queue.close()

    errors.sync()
    errors.close()
    if errors.count:
        os.replace(err_partial, err_final)
    else:
        err_partial.unlink(missing_ok=True)
        err_final.unlink(missing_ok=True)
    cp_path.unlink(missing_ok=True)

    summary = BatchSummary(
        out=config.out,
        formats=[(str(p), f) for p, f in formats],
        read=position,
        scored=stats.scored,
        flagged=stats.flagged,
        written=stats.written,
        errors=errors.count,
        skipped=dict(errors.skipped),
        errors_file=err_final if errors.count else None,
        resumed_from=resumed_from,
        stats=stats,
        queued=queued,
    )
    if config.report is not None:
        from .report import write_report

        write_report(summary, config.report, model)
        summary.report = config.report
    return summary
