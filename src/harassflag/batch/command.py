"""`harassflag batch`: score exported chats into JSONL/CSV/Parquet, with a summary and an HTML report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import BadInputError
from .readers import FORMATS, ReaderOptions
from .runner import CHECKPOINT_SECONDS, BatchConfig, BatchSummary, run_batch


def _summary_lines(s: BatchSummary) -> list[str]:
    rate = s.flagged / s.scored if s.scored else 0.0
    skipped = sum(s.skipped.values())
    lines = [
        f"read {s.read:,} messages; scored {s.scored:,}; flagged {s.flagged:,} ({rate:.1%}); wrote {s.written:,} rows to {s.out}",
    ]
    if skipped:
        detail = ", ".join(f"{k}: {v:,}" for k, v in sorted(s.skipped.items()))
        lines.append(f"skipped {skipped:,} non-messages ({detail})")
    if s.errors:
        lines.append(f"bad input: {s.errors:,} rows skipped, all listed in {s.errors_file}")
    st = s.stats
    top_channels = sorted(st.channel_flagged, key=lambda c: -st.channel_flagged[c])[:5]
    if top_channels:
        lines.append(
            "flagged rate per channel: "
            + ", ".join(
                f"{c or '(none)'} {st.channel_flagged[c] / st.channel_total[c]:.1%}"
                for c in top_channels
            )
        )
    top_authors = sorted(st.author_flagged, key=lambda a: -st.author_flagged[a])[:5]
    if top_authors:
        lines.append(
            "most flagged authors: "
            + ", ".join(f"{a or '(unknown)'} ({st.author_flagged[a]})" for a in top_authors)
        )
    top_targets = sorted(st.target_flagged, key=lambda t: -st.target_flagged[t])[:5]
    if top_targets:
        lines.append(
            "most targeted: " + ", ".join(f"{t} ({st.target_flagged[t]})" for t in top_targets)
        )
    if s.queued:
        lines.append(f"queued {s.queued:,} flagged messages for review")
    if s.report:
        lines.append(f"report: {s.report}")
    return lines


def field_options(fn):  # type: ignore[no-untyped-def]
    """The --*-field options that name columns of JSONL, CSV and Parquet inputs (both engines)."""
    for name, what in reversed(FIELD_HELP):
        fn = click.option(f"--{name}-field", help=f"Field/column holding the {what}.")(fn)
    return fn


explain_top_option = click.option(
    "--explain-top",
    type=click.IntRange(0, 50),
    default=5,
    show_default=True,
    help="Explanation terms per flagged message (0: no explanations, faster).",
)
"""--explain-top, the same for both engines."""

FIELD_HELP = (
    ("text", "message text (JSONL, CSV, Parquet)"),
    ("id", "message id"),
    ("author", "author"),
    ("channel", "channel or conversation"),
    ("time", "timestamp"),
)


@click.command("batch")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .jsonl, .csv or .parquet.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto", *FORMATS)),
    default="auto",
    show_default=True,
    help="Input format; auto detects each input from its content.",
)
@field_options
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Scoring processes; output is identical for any value.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint.")
@click.option("--only-flagged", is_flag=True, help="Write only flagged messages.")
@click.option(
    "--no-text", is_flag=True, help="Leave message text out of every output (file, report)."
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report.",
)
@click.option("--strict", is_flag=True, help="Stop at the first bad input row (exit code 4).")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False),
    help="Model directory (default: $HARASSFLAG_MODEL or models/default).",
)
@click.option(
    "--queue",
    is_flag=True,
    help="Also push flagged messages to the review queue ($HARASSFLAG_DATABASE_URL).",
)
@click.option(
    "--progress",
    type=click.Choice(("auto", "bar", "lines", "none")),
    default="auto",
    show_default=True,
    help="Progress display (auto: a bar on a terminal, lines otherwise).",
)
@explain_top_option
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 1_000_000),
    default=2000,
    show_default=True,
    help="Messages per chunk (the scoring unit; checkpoints fall between chunks).",
)
@click.option(
    "--checkpoint-every",
    type=click.FloatRange(0, None),
    default=CHECKPOINT_SECONDS,
    show_default=True,
    help="Seconds between resume checkpoints (0: after every chunk); each one syncs the output.",
)
@click.option("--engine", type=click.Choice(("local", "spark")), default="local", show_default=True,
              help="Score here, or on Apache Spark (jsonl/csv/parquet; pip install 'harassflag[spark]').")
@click.option("--master", default=None, help="Spark master with --engine spark, e.g. local[2].")
@click.option("--partition-by", type=click.Choice(("channel", "date")), default=None,
              help="With --engine spark: partition the Parquet output folders.")
def batch(
    inputs: tuple[Path, ...],
    out: Path,
    fmt: str,
    text_field: str | None,
    id_field: str | None,
    author_field: str | None,
    channel_field: str | None,
    time_field: str | None,
    jobs: int,
    resume: bool,
    only_flagged: bool,
    no_text: bool,
    report: Path | None,
    strict: bool,
    model_dir: str | None,
    queue: bool,
    progress: str,
    explain_top: int,
    chunk_size: int,
    checkpoint_every: float,
    engine: str,
    master: str | None,
    partition_by: str | None,
) -> None:
    """Score exported chats (JSONL, CSV, Parquet, text, Slack, Discord, Telegram, WhatsApp)."""
    if engine == "spark":
        from ..batch_spark.command import run_from_batch_command

        run_from_batch_command(
            inputs, out, master=master, partition_by=partition_by, fmt=fmt, text_field=text_field,
            id_field=id_field, author_field=author_field, channel_field=channel_field,
            time_field=time_field, only_flagged=only_flagged, no_text=no_text, strict=strict,
            model_dir=model_dir, explain_top=explain_top,
            local_only={"--jobs": jobs > 1, "--resume": resume, "--report": report, "--queue": queue,
                        "--chunk-size": chunk_size != 2000},
        )
        return
    if partition_by or master:
        raise click.UsageError("--master and --partition-by go with --engine spark")
    for path in inputs:
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="INPUTS")
    if queue:
        try:
            from ..review import NewItem, ReviewQueue  # noqa: F401
        except ImportError:
            raise click.UsageError(
                "--queue needs the review queue (harassflag.review), which is not installed"
            ) from None
    config = BatchConfig(
        inputs=list(inputs),
        out=out,
        fmt=fmt,
        options=ReaderOptions(text_field, id_field, author_field, channel_field, time_field),
        jobs=jobs,
        resume=resume,
        only_flagged=only_flagged,
        no_text=no_text,
        strict=strict,
        report=report,
        chunk_size=chunk_size,
        checkpoint_seconds=checkpoint_every,
        explain_top=explain_top,
        progress=progress,
        queue=queue,
    )
    summary = run_batch(config, model_dir=model_dir)
    for line in _summary_lines(summary):
        click.echo(line, err=True)
    if summary.scored == 0 and summary.errors:
        raise BadInputError(f"no usable message in the input ({summary.errors:,} bad rows)")
    sys.stderr.flush()
