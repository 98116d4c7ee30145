"""The `harassflag` command: a thin click group over the library.

Sub-commands live beside the code they drive and are imported lazily, so `harassflag --help`
stays fast and a heavy part (the service, Spark) is only imported when used.
"""

from __future__ import annotations

import importlib
import sys

import click

from .errors import HarassflagError

SHORT_HELP: dict[str, str] = {
    "train": "Train a model (default: public datasets + seed set).",
    "evaluate": "Evaluate a model: metrics, functional suite, peer.",
    "score": "Score messages and explain them.",
    "info": "Show a model's manifest.",
    "data": "List, fetch and verify the public datasets.",
    "serve": "Run the scoring service (HTTP).",
    "batch": "Score exported chats (Slack, Discord, Telegram, ...).",
    "batch-spark": "Score JSONL/CSV/Parquet on Apache Spark (data-lake paths).",
    "review": "Moderator review queue: purge, export, stats.",
}

COMMANDS: dict[str, str] = {
    "train": "harassflag.commands:train",
    "evaluate": "harassflag.commands:evaluate",
    "score": "harassflag.commands:score",
    "info": "harassflag.commands:info",
    "data": "harassflag.datasets.command:data",
    "serve": "harassflag.service.command:serve",
    "batch": "harassflag.batch.command:batch",
    "batch-spark": "harassflag.batch_spark.command:batch_spark",
    "review": "harassflag.review.command:review",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # short help without importing every sub-command (the service and Spark are heavy)
        with formatter.section("Commands"):
            formatter.write_dl([(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a part not installed (e.g. an optional extra)
            if exc.name and exc.name.startswith("harassflag"):
                raise
            raise click.ClickException(f"'{cmd_name}' needs a package that is not installed: {exc.name}")
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="harassflag")
def cli() -> None:
    """harassflag: self-hosted harassment detection for moderators."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: typed errors become a message and an exit code."""
    try:
        cli.main(args=argv, prog_name="harassflag", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HarassflagError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
