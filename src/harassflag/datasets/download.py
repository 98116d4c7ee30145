"""Download of registered files: streamed, hashed while streaming, written atomically."""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import ChecksumError, DatasetError, DownloadError
from .registry import DatasetSpec, RemoteFile, get_spec
from .store import file_sha256, resolve_data_dir

_CHUNK = 1 << 16
_USER_AGENT = "harassflag-data-fetch"


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    # Plain HTTP only to this machine (tests, a local mirror server); the internet only over HTTPS.
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return
    raise DownloadError(f"refusing to download {url}: only HTTPS (or HTTP on loopback) is allowed")


def _progress_bar(total: int | None, label: str, progress: bool):  # type: ignore[no-untyped-def]
    enabled = progress and sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False)


def download_file(
    remote: RemoteFile, dest: Path, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Download `remote` to `dest` atomically; nothing is left behind on any failure."""
    if remote.sha256 is None:
        raise DatasetError(
            f"{remote.relpath} has no registered SHA-256; refusing to download unverifiable data"
        )
    _check_url(remote.url)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise DownloadError(
            f"{remote.relpath}: cannot write into {dest.parent}: {exc.strerror or exc}"
        ) from None
    tmp = Path(tmp_name)
    replaced = False
    try:
        digest = hashlib.sha256()
        received = 0
        request = urllib.request.Request(remote.url, headers={"User-Agent": _USER_AGENT})
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(request, timeout=timeout) as resp,
            ):
                length_header = resp.headers.get("Content-Length")
                expected_len = (
                    int(length_header) if length_header and length_header.isdigit() else None
                )
                bar = _progress_bar(expected_len, remote.relpath, progress)
                try:
                    while chunk := resp.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                finally:
                    if bar is not None:
                        bar.close()
                out.flush()
                os.fsync(out.fileno())
        except urllib.error.HTTPError as exc:
            raise DownloadError(
                f"{remote.relpath}: download from {remote.url} failed: HTTP {exc.code} {exc.reason}"
            ) from None
        except urllib.error.URLError as exc:
            raise DownloadError(
                f"{remote.relpath}: cannot reach {remote.url}: {exc.reason}"
            ) from None
        except (http.client.HTTPException, OSError) as exc:
            reason = (
                exc.strerror
                if isinstance(exc, OSError) and exc.strerror
                else (str(exc) or type(exc).__name__)
            )
            raise DownloadError(
                f"{remote.relpath}: download from {remote.url} interrupted after {received} bytes: {reason}"
            ) from None
        if expected_len is not None and received != expected_len:
            raise DownloadError(
                f"{remote.relpath}: download from {remote.url} interrupted: received {received} of "
                f"{expected_len} bytes (Content-Length)"
            )
        actual = digest.hexdigest()
        if actual != remote.sha256:
            raise ChecksumError(
                f"{remote.relpath}: SHA-256 mismatch for the download from {remote.url}: expected "
                f"{remote.sha256}, got {actual}; nothing was written"
            )
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise DownloadError(
                f"{remote.relpath}: cannot move the download to {dest}: {exc.strerror or exc}"
            ) from None
        replaced = True
        return dest
    finally:
        if not replaced:
            tmp.unlink(missing_ok=True)


def _is_verified(path: Path, sha256: str) -> bool:
    try:
        return path.is_file() and file_sha256(path) == sha256
    except OSError:
        return False


def fetch_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    splits: Iterable[str] | None = None,
    progress: bool = True,
    *,
    registry: Mapping[str, DatasetSpec] | None = None,
    timeout: float = 60.0,
) -> list[Path]:
    """Download `name`'s files (all splits with a registered hash, or `splits`) into the data dir.

    A file already present with the right SHA-256 is left alone; a damaged one is replaced.
    Returns the paths of the files now present and verified.
    """
    spec = get_spec(name, registry)
    root = resolve_data_dir(data_dir)
    if splits is None:
        wanted = [f for f in spec.all_files() if f.sha256 is not None]
    else:
        seen: dict[str, RemoteFile] = {}
        for split in splits:
            for remote in spec.files(split):
                if remote.sha256 is None:
                    raise DatasetError(
                        f"{name} {split}: {remote.relpath} has no registered SHA-256 (none is "
                        f"published in the mirror README); it cannot be fetched safely"
                    )
                seen.setdefault(remote.relpath, remote)
        wanted = list(seen.values())
    paths = []
    for remote in wanted:
        assert remote.sha256 is not None
        dest = root / remote.relpath
        if not _is_verified(dest, remote.sha256):
            download_file(remote, dest, progress=progress, timeout=timeout)
        paths.append(dest)
    return paths
