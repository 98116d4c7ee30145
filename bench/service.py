"""Benchmark the scoring service on loopback: throughput and latency percentiles.

Starts `harassflag serve` (with the no-op `/bench/echo` baseline enabled) on a free loopback port,
fires a finite number of requests from a thread pool with httpx, and prints requests/s and
p50/p95/p99 latency for: echo, single-message /v1/score, and batches of `--batch` messages.

    python bench/service.py --model models/default --requests 3000 --concurrency 32

The load generator runs on the same machine and is Python (GIL-bound): figures are a lower bound
of what the server can do, and the echo/score ratio is the comparable number.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

KEY = "bench-key-0123456789"
TEXTS = [
    "great game everyone, see you tomorrow",
    "you are such a pathetic loser",
    "the build is green again",
    "all of them are stupid and should leave",
    "thanks for the help with the release",
    "shut up idiot nobody asked you",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(model: str, port: int, workers: int, extra: list[str]) -> subprocess.Popen:
    env = {**os.environ, "HARASSFLAG_API_KEYS": KEY, "HARASSFLAG_BENCH_ECHO": "1"}
    cmd = [sys.executable, "-c", "from harassflag.cli import main; main()", "serve", "--model", model,
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-request-log", *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready")


def run(url: str, path: str, make_body, n: int, concurrency: int) -> dict[str, float]:
    """Fire `n` POSTs over `concurrency` persistent connections; return throughput and latencies."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    local = threading.local()
    per_thread = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]

    def worker(count: int) -> None:
        client = httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=30)
        local.client = client
        mine = []
        bad = 0
        for _ in range(count):
            body = make_body()
            t0 = time.perf_counter()
            try:
                r = client.post(path, json=body)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            mine.append(time.perf_counter() - t0)
            bad += not ok
        client.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, per_thread))
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return {"rps": n / elapsed, "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000, "failures": failures[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("HARASSFLAG_MODEL", "models/default"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-micro-batch", action="store_true")
    args = parser.parse_args()
    if not Path(args.model).joinpath("manifest.json").exists():
        raise SystemExit(f"no model at {args.model}: pass --model DIR")
    n = max(1, min(args.requests, 200_000))  # bounded on purpose
    port = free_port()
    env_extra = []
    if args.no_micro_batch:
        os.environ["HARASSFLAG_MICRO_BATCH"] = "0"
    proc = start(args.model, port, args.workers, env_extra)
    url = f"http://127.0.0.1:{port}"
    try:
        run(url, "/bench/echo", lambda: {"text": "warm up"}, 200, 8)
        echo = run(url, "/bench/echo", lambda: {"text": random.choice(TEXTS)}, n, args.concurrency)
        single = run(url, "/v1/score", lambda: {"text": random.choice(TEXTS)}, n, args.concurrency)
        batch_n = max(1, n // 20)
        batch = run(
            url,
            "/v1/score",
            lambda: {"messages": [{"text": random.choice(TEXTS)} for _ in range(args.batch)]},
            batch_n,
            min(args.concurrency, 8),
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"requests={n} concurrency={args.concurrency} workers={args.workers} "
          f"micro_batch={'off' if args.no_micro_batch else 'on'}")
    for name, r in (("echo", echo), ("score x1", single), (f"score x{args.batch}", batch)):
        print(f"{name:>10}: {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  "
              f"p99 {r['p99']:6.1f} ms  failures {r['failures']}")
    print(f"single-message score / echo throughput: {single['rps'] / echo['rps']:.2f}x")
    print(f"batch throughput: {batch['rps'] * args.batch:.0f} messages/s")


if __name__ == "__main__":
    main()
