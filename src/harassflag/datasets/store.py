"""The data directory: where dataset files live, and SHA-256 verification of every file read."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ..errors import ChecksumError, DatasetError
from .registry import DATASETS, DatasetSpec, RemoteFile

DATA_DIR_ENV = "HARASSFLAG_DATA_DIR"
_CHUNK = 1 << 20

# Verified hashes keyed by (path, size, mtime): repeated loads in one process skip re-hashing.
_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data dir: the explicit argument, else $HARASSFLAG_DATA_DIR, else ./data."""
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or "data"
    return Path(data_dir).expanduser().absolute()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _key(path: Path, st: os.stat_result) -> tuple[str, int, int]:
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, cached per (path, size, mtime) within the process."""
    path = Path(path)
    key = _key(path, path.stat())
    with _HASHES_LOCK:
        cached = _HASHES.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    actual = digest.hexdigest()
    with _HASHES_LOCK:
        _HASHES[key] = actual
    return actual


def absent_message(
    dataset: str, remote: RemoteFile, data_dir: Path, split: str | None = None
) -> str:
    """Why a file is missing and how to get it."""
    where = f"{dataset} {split}" if split else dataset
    fetch = f"harassflag data fetch {dataset}" + (f" --split {split}" if split else "")
    return (
        f"{where}: file {remote.relpath} is absent from {data_dir}. Download it with "
        f"`{fetch} --data-dir {data_dir}` (needs internet), or point --data-dir / "
        f"{DATA_DIR_ENV} at a mirror with the same layout."
    )


def mismatch_message(remote: RemoteFile, path: Path, actual: str) -> str:
    """Which file failed verification, with both hashes."""
    return (
        f"{remote.relpath}: SHA-256 mismatch for {path}: expected {remote.sha256}, got {actual}. "
        f"The file is damaged or another version; delete it and fetch it again."
    )


def read_verified(
    dataset: str, remote: RemoteFile, data_dir: Path, split: str | None = None
) -> bytes:
    """The bytes of `remote` in `data_dir`, after checking them against the registered SHA-256."""
    if remote.sha256 is None:
        raise DatasetError(
            f"{dataset}: {remote.relpath} has no registered SHA-256 (none is published in the "
            f"mirror README), so harassflag cannot verify it and does not read it."
        )
    path = data_dir / remote.relpath
    try:
        st = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(absent_message(dataset, remote, data_dir, split)) from None
    except OSError as exc:
        raise DatasetError(f"{dataset}: cannot read {path}: {exc.strerror or exc}") from None
    key = _key(path, st)
    with _HASHES_LOCK:
        actual = _HASHES.get(key)
    if actual is None or len(data) != st.st_size:
        actual = sha256_bytes(data)
        with _HASHES_LOCK:
            _HASHES[key] = actual
    if actual != remote.sha256:
        raise ChecksumError(mismatch_message(remote, path, actual))
    return data


class VerifyResult(NamedTuple):
    """The state of one registered file in a data dir."""

    relpath: str
    status: str
    """"ok", "missing" or "mismatch"."""
    path: Path
    expected: str
    actual: str | None
    datasets: tuple[str, ...]


def verify_datasets(
    data_dir: str | os.PathLike[str] | None = None,
    registry: Mapping[str, DatasetSpec] | None = None,
) -> list[VerifyResult]:
    """Check every registered file (with a hash) in the data dir: ok / missing / mismatch."""
    root = resolve_data_dir(data_dir)
    owners: dict[str, tuple[RemoteFile, list[str]]] = {}
    for spec in (DATASETS if registry is None else registry).values():
        for remote in spec.all_files():
            if remote.sha256 is None:
                continue
            owners.setdefault(remote.relpath, (remote, []))[1].append(spec.name)
    results = []
    for relpath, (remote, names) in owners.items():
        path = root / relpath
        if not path.is_file():
            status, actual = "missing", None
        else:
            try:
                actual = file_sha256(path)
            except OSError:
                status, actual = "missing", None
            else:
                status = "ok" if actual == remote.sha256 else "mismatch"
        assert remote.sha256 is not None
        results.append(VerifyResult(relpath, status, path, remote.sha256, actual, tuple(names)))
    return results
