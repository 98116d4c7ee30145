"""`harassflag data` through click's runner and through the console-script entry point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harassflag.cli import cli, main

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if not MIRROR.is_dir():
    MIRROR = Path("/work/shared/datasets")
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason="no local mirror of the public datasets"
)


def run_console(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `harassflag` console-script entry point (harassflag.cli:main) in a new process."""
    code = "import sys; from harassflag.cli import main; main(sys.argv[1:])"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the entry point in-process (same error handling as the console script, faster)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.mark.parametrize(
    "args", [["data"], ["data", "list"], ["data", "fetch"], ["data", "verify"]]
)
def test_every_data_command_has_help(args: list[str]) -> None:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    summary = result.output.split("\n\n")[1].strip()
    assert len(summary) > 20  # a real sentence, not an empty docstring


@needs_mirror
def test_list_shows_datasets_and_status() -> None:
    result = CliRunner().invoke(cli, ["data", "list", "--data-dir", str(MIRROR)])
    assert result.exit_code == 0, result.output
    for name in ("davidson", "olid", "hateval", "tweeteval-offensive", "tweeteval-hate"):
        assert f"\n{name}:" in result.output
    assert "davidson/labeled_data.csv" in result.output and "verified" in result.output
    assert "missing (not in the shared mirror)" in result.output  # test splits
    assert "no registered hash" in result.output  # hateval test


def test_list_uses_env_data_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["data", "list"], env={"HARASSFLAG_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert f"data dir: {tmp_path}" in result.output
    assert not any(line.endswith(" verified") for line in result.output.splitlines())
    assert "missing" in result.output


@needs_mirror
def test_verify_mirror_exit_zero() -> None:
    result = CliRunner().invoke(cli, ["data", "verify", "--data-dir", str(MIRROR)])
    assert result.exit_code == 0, result.output
    assert "12 ok, 4 missing, 0 mismatch" in result.output


@needs_mirror
def test_verify_mismatch_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    shutil.copytree(MIRROR / "hateval", tmp_path / "hateval")
    damaged = tmp_path / "hateval/hateval2019_en_dev.csv"
    damaged.chmod(0o644)
    damaged.write_bytes(damaged.read_bytes() + b"x")
    proc = run_console("data", "verify", "--data-dir", str(tmp_path))
    assert proc.returncode == 3, proc.stderr
    assert "mismatch hateval/hateval2019_en_dev.csv" in " ".join(proc.stdout.split())
    assert "error: 1 file(s) do not match" in proc.stderr
    assert "Traceback" not in proc.stderr


@needs_mirror
def test_fetch_of_verified_files_is_a_no_op(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "data",
        "fetch",
        "davidson",
        "tweeteval-hate",
        "--split",
        "train",
        "--data-dir",
        str(MIRROR),
    ]
    code, out, err = run_main(capsys, *args)
    assert code == 0, err
    assert "davidson: 1 file(s) verified" in out
    assert "tweeteval-hate: 2 file(s) verified" in out


def test_fetch_errors_are_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "data", "fetch", "nosuch", "--data-dir", str(tmp_path))
    assert code == 3 and "error: unknown dataset 'nosuch'" in err
    code, _, err = run_main(
        capsys, "data", "fetch", "hateval", "--split", "test", "--data-dir", str(tmp_path)
    )
    assert code == 3 and "no registered SHA-256" in err
    code, _, err = run_main(capsys, "data", "fetch", "--data-dir", str(tmp_path))
    assert code == 2 and "--all" in err
    assert list(tmp_path.iterdir()) == []
