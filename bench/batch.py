"""Benchmark `harassflag batch`: messages/s with --jobs 1 and 2, peak RSS, overhead over model.score.

    python bench/batch.py --model models/default --sizes 100000 1000000

Generates N synthetic chat messages (JSONL), runs the real CLI in a child process per setting
and reads the child's peak RSS from resource.getrusage(RUSAGE_CHILDREN). Not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "you",
    "are",
    "a",
    "great",
    "friend",
    "thanks",
    "for",
    "the",
    "help",
    "see",
    "tomorrow",
    "game",
    "build",
    "green",
    "lunch",
    "noon",
    "idiot",
    "loser",
    "stupid",
    "worthless",
    "nobody",
    "wants",
    "here",
    "shut",
    "up",
    "please",
    "welcome",
    "release",
    "song",
    "birthday",
    "late",
    "bus",
]


def generate(path: Path, n: int, seed: int = 0) -> None:
    """Write `n` synthetic messages as JSONL."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 18)))
            rec = {
                "id": f"m{i}",
                "channel": f"c{i % 50}",
                "author": f"u{i % 997}",
                "timestamp": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z",
                "text": text,
            }
            f.write(json.dumps(rec) + "\n")


def run_child(args: list[str]) -> tuple[float, float]:
    """Run a child Python; return (seconds, peak RSS of the largest child in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


RAW = """
import json, sys, time
from harassflag import load_model
model = load_model(sys.argv[1])
texts, t0 = [], time.perf_counter()
with open(sys.argv[2]) as f:
    for line in f:
        texts.append(json.loads(line)["text"])
        if len(texts) == 2000:
            model.score(texts); texts = []
if texts:
    model.score(texts)
"""

CLI = "from harassflag.cli import main; main()"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            src = Path(tmp) / f"in-{n}.jsonl"
            generate(src, n)
            # Each measurement in a fresh child so ru_maxrss reflects that run only.
            secs, _ = run_child(["-c", RAW, args.model, str(src)])
            print(
                f"n={n:>9,}  raw model.score       {n / secs:>10,.0f} msg/s  ({secs:.1f} s, includes JSON parsing + model load)"
            )
            base = None
            for jobs in args.jobs:
                out = Path(tmp) / f"out-{n}-{jobs}.jsonl"
                cmd = [
                    "-c",
                    CLI,
                    "batch",
                    str(src),
                    "--out",
                    str(out),
                    "--model",
                    args.model,
                    "--jobs",
                    str(jobs),
                    "--progress",
                    "none",
                ]
                probe = "import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
                t0 = time.perf_counter()
                res = subprocess.run(
                    [sys.executable, "-c", probe, sys.executable, *cmd],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                secs = time.perf_counter() - t0
                rss = int(res.stdout.strip()) / 1024
                base = base or secs
                print(
                    f"n={n:>9,}  batch --jobs {jobs}         {n / secs:>10,.0f} msg/s  ({secs:.1f} s, x{base / secs:.2f} vs jobs 1)  peak RSS (largest process) {rss:,.0f} MB"
                )


if __name__ == "__main__":
    main()
