"""Benchmark `harassflag batch`: messages/s with --jobs 1 and 2, peak RSS, overhead over model.score.

    python bench/batch.py --model models/default --sizes 100000 1000000

Generates N synthetic chat messages (JSONL); the raw side (read + json.loads + model.score per 2000
lines, same file) and each CLI setting run in a fresh child under the same probe, which times it
and reads its peak RSS from resource.getrusage(RUSAGE_CHILDREN). Prints the overhead of
`batch --jobs 1` over the raw side, measured in the same run, and the share of messages flagged
(explanations are computed for flagged messages). Not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
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


INSULTS = {"idiot", "loser", "stupid", "worthless", "nobody", "shut", "up"}
BENIGN = [w for w in WORDS if w not in INSULTS]


def generate(path: Path, n: int, seed: int = 0, benign_share: float = 0.0) -> None:
    """Write `n` synthetic messages as JSONL; `benign_share` of them without any insult word."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            words = BENIGN if benign_share and rng.random() < benign_share else WORDS
            text = " ".join(rng.choice(words) for _ in range(rng.randint(4, 18)))
            rec = {
                "id": f"m{i}",
                "channel": f"c{i % 50}",
                "author": f"u{i % 997}",
                "timestamp": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z",
                "text": text,
            }
            f.write(json.dumps(rec) + "\n")


PROBE = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
res = subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(res.stderr)
"""
"""Runs one command and prints its wall time and peak RSS: the same for every setting, so neither
side pays for the probe's own interpreter start."""


def run_child(args: list[str]) -> tuple[float, float, str]:
    """Run a child Python under PROBE; return (seconds, its peak RSS in MB, its stderr)."""
    res = subprocess.run(
        [sys.executable, "-c", PROBE, sys.executable, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    secs, rss = res.stdout.split()
    return float(secs), int(rss) / 1024, res.stderr


def flagged_share(stderr: str) -> str:
    """The flagged share from batch's summary line ('flagged 1,234 (12.3%)')."""
    m = re.search(r"flagged [\d,]+ \(([\d.]+%)\)", stderr)
    return m.group(1) if m else "?"


RAW = """
import json, sys
from harassflag import load_model
model = load_model(sys.argv[1])
texts = []
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
    ap.add_argument(
        "--explain-top-0",
        action="store_true",
        help="Also time --jobs 1 --explain-top 0 (no explanations), to see what they cost.",
    )
    ap.add_argument(
        "--benign-share",
        type=float,
        default=0.0,
        help="Share of messages drawn without insult words (default 0: every message from all words, "
        "~35%% flagged by the default model; real chats flag far fewer, and explanations are "
        "computed for flagged messages only).",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="Run every setting this many times, interleaved (raw, batch..., raw, batch...), and "
        "report each one's fastest run: steadier figures on a machine with noisy neighbours.",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            src = Path(tmp) / f"in-{n}.jsonl"
            generate(src, n, benign_share=args.benign_share)
            settings = [(jobs, []) for jobs in args.jobs]
            if args.explain_top_0:
                settings.append((1, ["--explain-top", "0"]))
            raw_runs: list[float] = []
            runs: dict[int, list[tuple[float, float, str]]] = {k: [] for k in range(len(settings))}
            for _ in range(args.repeat):
                # Each measurement in a fresh child so ru_maxrss reflects that run only.
                raw_runs.append(run_child(["-c", RAW, args.model, str(src)])[0])
                for k, (jobs, extra) in enumerate(settings):
                    out = Path(tmp) / f"out-{n}-{jobs}.jsonl"
                    cmd = ["-c", CLI, "batch", str(src), "--out", str(out), "--model", args.model]
                    cmd += ["--jobs", str(jobs), "--progress", "none", *extra]
                    runs[k].append(run_child(cmd))
            raw_secs = min(raw_runs)
            of = f" (fastest of {args.repeat})" if args.repeat > 1 else ""
            print(
                f"n={n:>9,}  raw model.score       {n / raw_secs:>10,.0f} msg/s  ({raw_secs:.1f} s{of}, includes JSON parsing + model load)"
            )
            base = None
            for k, (jobs, extra) in enumerate(settings):
                secs = min(r[0] for r in runs[k])
                rss = max(r[1] for r in runs[k])
                err = runs[k][0][2]
                base = base or secs
                label = f"batch --jobs {jobs}" + (" " + " ".join(extra) if extra else "")
                print(
                    f"n={n:>9,}  {label:<20s} {n / secs:>10,.0f} msg/s  ({secs:.1f} s{of}, x{base / secs:.2f} vs jobs 1)  peak RSS (largest process) {rss:,.0f} MB  flagged {flagged_share(err)}"
                )
                if jobs == 1:
                    print(
                        f"n={n:>9,}  overhead of {label} over raw model.score: {secs / raw_secs - 1:+.0%} (goal <= +15%)"
                    )


if __name__ == "__main__":
    main()
