"""`harassflag review`: purge old items, export decisions for training, show queue statistics."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import ValidationError

from .feedback import export_feedback
from .settings import ReviewSettings
from .store import ReviewQueue


def _settings(database_url: str | None) -> ReviewSettings:
    try:
        settings = ReviewSettings()
        if database_url:
            settings = settings.model_copy(
                update={
                    "database_url": ReviewSettings.model_validate(
                        {"database_url": database_url}
                    ).database_url
                }
            )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise click.BadParameter(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    return settings


@click.group()
@click.option(
    "--database-url",
    envvar="HARASSFLAG_DATABASE_URL",
    default=None,
    help="Review database URL (default sqlite:///data/review.db).",
)
@click.pass_context
def review(ctx: click.Context, database_url: str | None) -> None:
    """Work with the moderator review queue."""
    ctx.obj = _settings(database_url)


@review.command()
@click.option(
    "--older-than-days",
    type=click.IntRange(min=0),
    default=None,
    help="Delete items created more than this many days ago (default: HARASSFLAG_RETENTION_DAYS).",
)
@click.pass_obj
def purge(settings: ReviewSettings, older_than_days: int | None) -> None:
    """Delete items (and their audit entries) past the retention period."""
    days = settings.retention_days if older_than_days is None else older_than_days
    queue = ReviewQueue.from_settings(settings)
    try:
        deleted = queue.purge(days)
    finally:
        queue.close()
    click.echo(f"purged {deleted} item{'s' if deleted != 1 else ''} older than {days} days")


@review.command()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSONL file to write (replaced atomically).",
)
@click.pass_obj
def export(settings: ReviewSettings, out_path: Path) -> None:
    """Write decided items as labelled rows for `harassflag train --feedback`."""
    queue = ReviewQueue.from_settings(settings)
    try:
        result = export_feedback(queue, out_path)
    finally:
        queue.close()
    click.echo(f"wrote {result['rows']} rows to {result['path']} (sha256 {result['sha256']})")


@review.command()
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.pass_obj
def stats(settings: ReviewSettings, as_json: bool) -> None:
    """Show counts by status, the oldest pending item and decisions per moderator."""
    queue = ReviewQueue.from_settings(settings)
    try:
        result = queue.stats()
    finally:
        queue.close()
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    for status, n in result["counts"].items():
        click.echo(f"{status:>10}: {n}")
    click.echo(f"oldest pending: {result['oldest_pending'] or '-'}")
    for name, n in result["decisions_by_moderator"].items():
        click.echo(f"decided by {name}: {n}")
