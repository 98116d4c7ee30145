"""`harassflag data`: list, fetch and verify the public datasets."""

from __future__ import annotations

import click

from ..errors import ChecksumError, DatasetError
from .download import fetch_dataset
from .registry import DATASETS
from .store import DATA_DIR_ENV, file_sha256, resolve_data_dir, verify_datasets

_DATA_DIR_HELP = f"Data directory or local mirror (default: ${DATA_DIR_ENV}, else ./data)."


def _data_dir_option(fn):  # type: ignore[no-untyped-def]
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        help=_DATA_DIR_HELP,
    )(fn)


@click.group()
def data() -> None:
    """List, download and verify the public training datasets."""


@data.command("list")
@_data_dir_option
def list_command(data_dir: str | None) -> None:
    """Show every dataset, its splits and files, and whether each file is present and verified."""
    root = resolve_data_dir(data_dir)
    click.echo(f"data dir: {root}")
    for spec in DATASETS.values():
        aliases = "".join(f" ({a} = {s})" for a, s in spec.aliases.items())
        click.echo(f"\n{spec.name}: {spec.description}")
        click.echo(f"  heads: {', '.join(spec.heads)}; splits: {', '.join(spec.splits)}{aliases}")
        for split, files in spec.splits.items():
            for remote in files:
                path = root / remote.relpath
                if remote.sha256 is None:
                    status = "no registered hash (cannot be fetched or verified)"
                elif not path.is_file():
                    status = "missing" + (
                        "" if split in spec.mirrored else " (not in the shared mirror)"
                    )
                else:
                    try:
                        ok = file_sha256(path) == remote.sha256
                    except OSError as exc:
                        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
                    status = "verified" if ok else "MISMATCH"
                click.echo(f"  {split:<6} {remote.relpath:<40} {status}")


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Fetch every registered dataset.")
@click.option("--split", "splits", multiple=True, help="Only these splits (repeatable).")
@_data_dir_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
def fetch_command(
    names: tuple[str, ...],
    fetch_all: bool,
    splits: tuple[str, ...],
    data_dir: str | None,
    quiet: bool,
) -> None:
    """Download datasets over HTTPS into the data dir, verifying SHA-256 (atomic writes).

    Files already present and verified are left alone. A checksum mismatch or an interrupted
    download leaves no file behind.
    """
    if fetch_all:
        names = tuple(DATASETS)
    if not names:
        raise click.UsageError(f"name at least one dataset ({', '.join(DATASETS)}) or pass --all")
    for name in names:
        if name not in DATASETS:
            raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    root = resolve_data_dir(data_dir)
    for name in names:
        paths = fetch_dataset(name, root, splits=list(splits) or None, progress=not quiet)
        click.echo(f"{name}: {len(paths)} file(s) verified in {root}")
        skipped = [f.relpath for f in DATASETS[name].all_files() if f.sha256 is None]
        if skipped and not splits:
            click.echo(f"  skipped (no registered SHA-256): {', '.join(skipped)}")


@data.command("verify")
@_data_dir_option
def verify_command(data_dir: str | None) -> None:
    """Check every registered file's SHA-256; exit non-zero if any present file does not match."""
    results = verify_datasets(data_dir)
    click.echo(f"data dir: {resolve_data_dir(data_dir)}")
    for r in results:
        click.echo(f"  {r.status:<8} {r.relpath}")
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "missing", "mismatch")}
    click.echo(f"{counts['ok']} ok, {counts['missing']} missing, {counts['mismatch']} mismatch")
    bad = [r for r in results if r.status == "mismatch"]
    if bad:
        details = "; ".join(f"{r.relpath}: expected {r.expected}, got {r.actual}" for r in bad)
        raise ChecksumError(f"{len(bad)} file(s) do not match their SHA-256: {details}")
