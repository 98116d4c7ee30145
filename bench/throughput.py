"""Throughput and latency of model.score beside alt-profanity-check's predict_prob, in one run.

    python bench/throughput.py [--model models/default] [--n 100000] [--batch 1000] [--repeat N]

Prints messages/s for batches, the ratio to the peer, single-message latency percentiles, the
worst cases (10,000-character and 1 MB messages), load time and the RSS of a loaded model.
With --repeat N the batch rates are measured N times, harassflag and the peer taking turns, and
the fastest run of each is reported (a shared machine's load then weighs on both alike).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
from pathlib import Path

import numpy as np

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def mirrored_messages(n: int) -> list[str]:
    """n messages from the mirrored datasets (cycled if fewer)."""
    texts: list[str] = []
    for task in ("offensive", "hate"):
        for split in ("train", "val"):
            path = MIRROR / "tweeteval" / task / f"{split}_text.txt"
            texts.extend(path.read_text(encoding="utf-8").splitlines())
    out = (texts * (n // len(texts) + 1))[:n]
    return out


def rate(fn, texts: list[str], batch: int) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch):
        fn(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - t0)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.environ.get("HARASSFLAG_MODEL", "models/default"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--single", type=int, default=2000, help="single-message calls for latency")
    ap.add_argument("--repeat", type=int, default=1, help="batch runs of each, taking turns (fastest reported)")
    args = ap.parse_args()

    rss0 = rss_mb()
    t0 = time.perf_counter()
    import harassflag.model  # noqa: F401 - scikit-learn, scipy, nltk: paid once per process
    from harassflag import load_model

    t1 = time.perf_counter()
    model = load_model(args.model)
    load_s = time.perf_counter() - t0
    import_s = t1 - t0
    gc.collect()
    rss_model = rss_mb()
    texts = mirrored_messages(args.n)
    print(f"model {model.name} {model.version}  load {load_s:.2f}s (imports {import_s:.2f}s + "
          f"load_model {load_s - import_s:.2f}s)  RSS {rss_model:.0f} MB "
          f"(+{rss_model - rss0:.0f} MB over the interpreter)")

    model.score_matrix(texts[:2000])  # warm caches, as a long-running service would be
    try:
        from profanity_check import predict_prob

        predict_prob(texts[:2000])
    except ImportError:
        predict_prob = None
    ours = ours_full = peer = float("nan")
    for _ in range(max(1, args.repeat)):
        ours = np.fmax(ours, rate(model.score_matrix, texts, args.batch))
        ours_full = np.fmax(ours_full, rate(model.score, texts[: args.n // 4], args.batch))
        if predict_prob is not None:
            peer = np.fmax(peer, rate(predict_prob, texts, args.batch))
    of = f", fastest of {args.repeat} taking turns" if args.repeat > 1 else ""
    print(f"batches of {args.batch} over {args.n} mirrored messages (1 core{of}):")
    print(f"  harassflag score_matrix  {ours:>10,.0f} msg/s")
    print(f"  harassflag score         {ours_full:>10,.0f} msg/s (Score objects)")
    print(f"  alt-profanity-check      {peer:>10,.0f} msg/s")
    print(f"  ratio score_matrix/peer  {ours / peer:>10.2f}x   score/peer {ours_full / peer:.2f}x")

    lat = []
    for text in texts[: args.single]:
        t = time.perf_counter()
        model.score(text)
        lat.append((time.perf_counter() - t) * 1000)
    p50, p99 = np.percentile(lat, [50, 99])
    print(f"single message: p50 {p50:.3f} ms  p99 {p99:.3f} ms")
    if predict_prob is not None:
        lat_peer = []
        for text in texts[: args.single]:
            t = time.perf_counter()
            predict_prob([text])
            lat_peer.append((time.perf_counter() - t) * 1000)
        print(f"  peer single message: p50 {np.percentile(lat_peer, 50):.3f} ms")

    rng = np.random.default_rng(0)
    words = " ".join(texts[:5000]).split()
    for size in (10_000, 1_000_000):
        msg = " ".join(rng.choice(words, size // 5))[:size]
        best = min(_time(model.score, msg) for _ in range(3))
        print(f"worst case: {len(msg):,}-character message {best * 1000:.1f} ms")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _time(fn, arg) -> float:
    t = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
