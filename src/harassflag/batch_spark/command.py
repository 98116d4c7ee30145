"""`harassflag batch-spark` (to be wired as `harassflag batch --engine spark`): score on Spark."""

from __future__ import annotations

from pathlib import Path

import click

from ..batch.command import explain_top_option, field_options
from ..errors import BadInputError
from .runner import PARTITION_KEYS, SparkRunStats, run_spark_batch


def summary_lines(s: SparkRunStats) -> list[str]:
    """The end-of-run summary, in the local engine's words."""
    rate = s.flagged / s.scored if s.scored else 0.0
    lines = [
        (
            f"read {s.read:,} messages; scored {s.scored:,}; flagged {s.flagged:,} ({rate:.1%}); "
            f"wrote {s.written:,} rows to {s.out}"
        ),
    ]
    skipped = sum(s.skipped.values())
    if skipped:
        detail = ", ".join(f"{k}: {v:,}" for k, v in sorted(s.skipped.items()))
        lines.append(f"skipped {skipped:,} non-messages ({detail})")
    if s.errors:
        lines.append(f"bad input: {s.errors:,} rows skipped, all listed in {s.errors_out}")
    if s.channel_flagged:
        lines.append(
            "flagged rate per channel: "
            + ", ".join(f"{c or '(none)'} {f / n:.1%}" for c, (f, n) in s.channel_flagged.items())
        )
    if s.author_flagged:
        lines.append(
            "most flagged authors: "
            + ", ".join(f"{a or '(unknown)'} ({n})" for a, n in s.author_flagged.items())
        )
    lines.append(
        f"spark: {s.partitions} input partitions, {s.arrow_batches} Arrow batches, model loaded "
        f"{s.model_loads} time(s); {s.seconds:.1f} s in all, {s.score_seconds:.1f} s scoring"
    )
    return lines


def _conf(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {v!r}", param_hint="--conf")
        out[key.strip()] = value.strip()
    return out


@click.command("batch-spark")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--out", "-o", required=True, help="Output Parquet dataset (a folder; local path or URI)."
)
@click.option(
    "--master",
    default=None,
    help="Spark master, e.g. local[2] (default: the spark-submit session, else local[*]).",
)
@click.option(
    "--partition-by",
    type=click.Choice(PARTITION_KEYS),
    default=None,
    help="Partition the output folders by channel or by date (YYYY-MM-DD of the timestamp).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto", "jsonl", "csv", "parquet")),
    default="auto",
    show_default=True,
    help="Input format; auto detects it from content (local) or the name.",
)
@field_options
@click.option("--only-flagged", is_flag=True, help="Write only flagged messages.")
@click.option("--no-text", is_flag=True, help="Leave message text out of the output.")
@click.option("--strict", is_flag=True, help="Stop at the first bad input row (exit code 4).")
@explain_top_option
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Model folder on the driver (default: $HARASSFLAG_MODEL or models/default); "
    "shipped to executors and SHA-256-checked there.",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace an existing output (and its .errors folder)."
)
@click.option(
    "--conf",
    "conf",
    multiple=True,
    metavar="KEY=VALUE",
    help="Extra Spark configuration (repeatable), e.g. spark.executor.memory=4g.",
)
def batch_spark(
    inputs,
    out,
    master,
    partition_by,
    fmt,
    text_field,
    id_field,
    author_field,
    channel_field,
    time_field,
    only_flagged,
    no_text,
    strict,
    explain_top,
    model_path,
    overwrite,
    conf,
) -> None:
    """Score JSONL, CSV or Parquet exports on Apache Spark into a Parquet dataset."""
    _run_and_report(
        inputs, out, master=master, partition_by=partition_by, fmt=fmt, text_field=text_field,
        id_field=id_field, author_field=author_field, channel_field=channel_field,
        time_field=time_field, model_path=model_path, strict=strict, only_flagged=only_flagged,
        no_text=no_text, explain_top=explain_top, overwrite=overwrite, conf=_conf(conf),
    )


def _run_and_report(inputs, out, **options) -> None:  # type: ignore[no-untyped-def]
    """Run the Spark engine, print the summary, and fail if nothing usable was read."""
    stats = run_spark_batch(inputs, out, **options)
    for line in summary_lines(stats):
        click.echo(line, err=True)
    if stats.scored == 0 and stats.errors:
        raise BadInputError(f"no usable message in the input ({stats.errors:,} bad rows)")


def main(argv: list[str] | None = None) -> None:
    """Entry point for `spark-submit` / `python -m harassflag.batch_spark` (see docs/spark.md)."""
    import sys

    from ..errors import HarassflagError

    try:
        batch_spark.main(args=argv, prog_name="harassflag batch-spark", standalone_mode=False)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HarassflagError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


def run_from_batch_command(
    inputs: tuple,
    out: Path,
    *,
    master: str | None,
    partition_by: str | None,
    fmt: str,
    text_field: str | None,
    id_field: str | None,
    author_field: str | None,
    channel_field: str | None,
    time_field: str | None,
    only_flagged: bool,
    no_text: bool,
    strict: bool,
    model_dir: str | None,
    explain_top: int,
    local_only: dict[str, object],
    overwrite: bool = False,
) -> None:
    """`harassflag batch --engine spark`: refuse local-only options, run, print the summary."""
    used = [name for name, value in local_only.items() if value]
    if used:
        raise click.UsageError(f"{', '.join(used)}: not available with --engine spark")
    if fmt not in ("auto", "jsonl", "csv", "parquet"):
        raise click.UsageError(f"--engine spark reads jsonl, csv or parquet, not {fmt}")
    _run_and_report(
        [str(i) for i in inputs], str(out), master=master, partition_by=partition_by, fmt=fmt,
        text_field=text_field, id_field=id_field, author_field=author_field,
        channel_field=channel_field, time_field=time_field, model_path=model_dir, strict=strict,
        only_flagged=only_flagged, no_text=no_text, explain_top=explain_top, overwrite=overwrite,
    )
