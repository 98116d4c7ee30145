"""Kill -9 a real batch run mid-way, resume it, and compare with an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harassflag.cli import main
from test_batch_run import make_jsonl

CLI = "from harassflag.cli import main; main()"


def batch_cmd(src: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        CLI,
        "batch",
        str(src),
        "--out",
        str(out),
        "--model",
        str(model),
        "--progress",
        "lines",
        "--chunk-size",
        "200",
        *extra,
    ]


@pytest.mark.parametrize("ext, jobs, every", [("jsonl", "2", "0.05"), ("parquet", "1", "0")])
def test_sigkill_then_resume_equals_uninterrupted(
    tmp_path: Path, tiny_model_dir: Path, ext: str, jobs: str, every: str
) -> None:
    """Checkpoints every `every` seconds (the default, a second, would let this small run finish)."""
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 15_000, bad_every=500)
    reference = tmp_path / f"reference.{ext}"
    subprocess.run(
        batch_cmd(src, reference, tiny_model_dir, "--jobs", jobs), check=True, capture_output=True
    )

    out = tmp_path / f"out.{ext}"
    checkpoint = out.with_name(out.name + ".checkpoint.json")
    proc = subprocess.Popen(
        batch_cmd(src, out, tiny_model_dir, "--jobs", jobs, "--checkpoint-every", every),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    position = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if checkpoint.exists():
            try:
                position = json.loads(checkpoint.read_text())["position"]
            except (ValueError, KeyError, OSError):
                position = 0
            if position >= 2000:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make the input larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "a killed run must not leave the final file"
    assert 2000 <= position < 14_970

    resumed = subprocess.run(
        batch_cmd(src, out, tiny_model_dir, "--jobs", jobs, "--resume"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after" in resumed.stderr
    assert out.read_bytes() == reference.read_bytes()
    errors_out = out.with_name(out.name + ".errors.jsonl").read_bytes()
    assert errors_out == reference.with_name(reference.name + ".errors.jsonl").read_bytes()
    assert len(errors_out.splitlines()) == 30
    assert not checkpoint.exists()
    assert not list(tmp_path.glob(f"out.{ext}.p*")), "partial files left behind"
    # Line-based progress on a non-TTY stderr, never message text.
    assert "messages scored" in resumed.stderr or "read " in resumed.stderr


def test_resume_refuses_a_foreign_checkpoint(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 50)
    out = tmp_path / "o.jsonl"
    out.with_name("o.jsonl.checkpoint.json").write_text(
        json.dumps({"version": 1, "fingerprint": "other", "position": 10})
    )
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(src), "--out", str(out), "--model", str(tiny_model_dir), "--resume"])
    assert exc.value.code == 2
    assert "run again without --resume" in capsys.readouterr().err


def test_resume_without_checkpoint_starts_over(
    tmp_path: Path, tiny_model_dir: Path, capsys
) -> None:
    src = tmp_path / "in.jsonl"
    make_jsonl(src, 50)
    out = tmp_path / "o.jsonl"
    main(["batch", str(src), "--out", str(out), "--model", str(tiny_model_dir), "--resume"])
    assert len(out.read_text().splitlines()) == 50
    assert "nothing to resume" in capsys.readouterr().err
