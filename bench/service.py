"""Benchmark the scoring service on loopback with wrk: throughput, latency, batches, soak and RSS.

Starts `harassflag serve` (no-op `/bench/echo` baseline on, request log off) on a free loopback
port and drives it with wrk (`apt-get install wrk`) through a generated Lua script that POSTs
real messages from the mirrored datasets. In one run it measures:

1. echo POST vs single-message `POST /v1/score` at 32 connections: req/s, p50/p99, the ratio;
2. batches of 100 messages per `POST /v1/score`: messages/s;
3. 100,000 single-message requests at 64 connections: failures, and the server's RSS
   (VmRSS from /proc) before and after.

Every load is bounded twice: wrk's duration cap and a request count after which each wrk thread
stops. Goals (issue 4): score >= 0.6x echo, p99 <= 30 ms at 32 connections, >= 20k messages/s in
batches of 100, 0 failures and < 10% RSS growth over 100k requests.

    python bench/service.py --model models/default            # waits for load < 1.5 first
    python bench/service.py --requests 20000 --soak 100000 --wait-load 0   # no waiting

wrk runs on the same 2-core machine as the server, so both share the CPU: the echo/score ratio
is the comparable number, absolute rates are what this box does with its own load generator.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

KEY = "bench-key-0123456789"
MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FALLBACK_TEXTS = [
    "great game everyone, see you tomorrow",
    "you are such a pathetic loser",
    "the build is green again",
    "all of them are stupid and should leave",
    "thanks for the help with the release",
    "shut up idiot nobody asked you",
]
GOALS = {"ratio": 0.6, "p99_ms": 30.0, "batch_msgs": 20_000.0, "rss_growth": 0.10}

# A wrk script: cycles through pre-formatted requests, stops each thread after its share of
# responses (and says so on stdout: wrk itself only stops at -d or SIGINT, so the caller sends
# SIGINT once every thread is done), and prints a JSON summary (times in microseconds) at the end.
LUA_TEMPLATE = """
local bodies = {%(bodies)s}
local limit = %(per_thread)d
local path = "%(path)s"
local headers = {["Content-Type"] = "application/json", ["x-api-key"] = "%(key)s"}
local requests_ = {}
local i = 0
local done_ = 0

function init(args)
  for n, body in ipairs(bodies) do
    requests_[n] = wrk.format("POST", path, headers, body)
  end
end

function request()
  i = i %% #requests_ + 1
  return requests_[i]
end

function response(status, hdrs, body)
  done_ = done_ + 1
  if done_ == limit then
    io.write("WRKDONE\\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "mean_us": %%f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass
class Load:
    """One wrk run's figures."""

    name: str
    connections: int
    requests: int
    seconds: float
    failures: int
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    messages_per_request: int = 1

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def messages_per_second(self) -> float:
        """Messages scored per second."""
        return self.rps * self.messages_per_request

    def line(self) -> str:
        """One line of the report."""
        extra = f"  {self.messages_per_second:9.0f} msg/s" if self.messages_per_request > 1 else ""
        return (
            f"{self.name:<22} c={self.connections:<3} n={self.requests:<7} {self.seconds:6.1f}s "
            f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p90 {self.p90_ms:6.1f} ms  "
            f"p99 {self.p99_ms:6.1f} ms  max {self.max_ms:7.1f} ms  failures {self.failures}{extra}"
        )


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_texts(limit: int = 4000) -> list[str]:
    """Real message texts from the mirror (tweeteval), or a few fixed ones if it is missing."""
    texts: list[str] = []
    for task in ("offensive", "hate"):
        path = MIRROR / "tweeteval" / task / "train_text.txt"
        if path.exists():
            texts.extend(t for t in path.read_text(encoding="utf-8").splitlines() if t.strip())
    return texts[:limit] or FALLBACK_TEXTS


def lua_string(value: str) -> str:
    """`value` as a Lua long-bracket literal."""
    level = 1
    while f"]{'=' * level}]" in value:
        level += 1
    eq = "=" * level
    return f"[{eq}[{value}]{eq}]"


def write_script(folder: Path, name: str, path: str, bodies: list[str], per_thread: int) -> Path:
    """A wrk Lua script that POSTs `bodies` in turn to `path`."""
    script = folder / f"{name}.lua"
    script.write_text(
        LUA_TEMPLATE
        % {
            "bodies": ",\n".join(lua_string(b) for b in bodies),
            "per_thread": per_thread,
            "path": path,
            "key": KEY,
        },
        encoding="utf-8",
    )
    return script


def rss_kib(pid: int) -> int:
    """Resident set size of `pid` and its child processes (uvicorn workers), in KiB."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def start_server(model: str, port: int, workers: int, micro_batch: bool) -> subprocess.Popen:
    """`harassflag serve` on loopback, ready to answer (/readyz 200)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARASSFLAG_")}
    env.update({"HARASSFLAG_API_KEYS": KEY, "HARASSFLAG_BENCH_ECHO": "1"})
    env["HARASSFLAG_MICRO_BATCH"] = "1" if micro_batch else "0"
    cmd = [
        sys.executable, "-c", "from harassflag.cli import main; main()", "serve",
        "--model", model, "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--no-request-log", "--log-level", "warning",
    ]  # fmt: skip
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
    raise SystemExit("server did not become ready in 120 s")


def run_wrk(
    url: str,
    script: Path,
    name: str,
    connections: int,
    threads: int,
    max_seconds: int,
    messages_per_request: int = 1,
) -> Load:
    """One bounded wrk run (count via the script, time via -d)."""
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max_seconds}s", "--timeout", "10s",
        "-s", str(script), url,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    finished = 0
    lines: list[str] = []
    for ln in proc.stdout:  # ends at -d at the latest: wrk exits then
        lines.append(ln)
        finished += ln.startswith("WRKDONE")
        if finished >= min(threads, connections):
            proc.send_signal(signal.SIGINT)  # every thread has its count: stop the clock now
            break
    try:
        rest, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, err = proc.communicate()
    lines.extend(rest.splitlines())
    line = next((ln for ln in lines if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        detail = err.strip() or "".join(lines)[-500:]
        raise SystemExit(f"wrk failed ({proc.returncode}): {detail}")
    r = json.loads(line.removeprefix("WRKJSON "))
    errors = {k: r[k] for k in ("connect", "read", "write", "status", "timeout")}
    return Load(
        name=name,
        connections=connections,
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        failures=sum(errors.values()),
        errors=errors,
        p50_ms=r["p50_us"] / 1000,
        p90_ms=r["p90_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        max_ms=r["max_us"] / 1000,
        messages_per_request=messages_per_request,
    )


def wait_for_quiet(max_load: float, max_wait: float) -> float:
    """Wait until the 1-minute load average is below `max_load` (or give up after `max_wait` s)."""
    deadline = time.monotonic() + max_wait
    load = os.getloadavg()[0]
    while max_load > 0 and load >= max_load:
        if time.monotonic() > deadline:
            raise SystemExit(f"load average stayed at {load:.2f} >= {max_load}: not benchmarking")
        print(f"load average {load:.2f} >= {max_load}; waiting", flush=True)
        time.sleep(30)
        load = os.getloadavg()[0]
    return load


def verdict(ok: bool) -> str:
    """`ok` or `MISS`."""
    return "ok" if ok else "MISS"


def main() -> None:
    """Run every load against one server and print the figures and the verdict on each goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("HARASSFLAG_MODEL", "models/default"))
    parser.add_argument("--requests", type=int, default=20_000, help="per echo/score run [20000]")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100, help="messages per batch request [100]")
    parser.add_argument("--batch-requests", type=int, default=600)
    parser.add_argument("--batch-connections", type=int, default=8)
    parser.add_argument(
        "--soak", type=int, default=100_000, help="requests in the RSS run [100000]"
    )
    parser.add_argument("--soak-connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads [2]")
    parser.add_argument("--max-seconds", type=int, default=120, help="time cap per run [120]")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes [1]")
    parser.add_argument("--no-micro-batch", action="store_true")
    parser.add_argument("--wait-load", type=float, default=1.5, help="0 disables the wait [1.5]")
    parser.add_argument("--wait-max", type=float, default=1500.0, help="seconds to wait [1500]")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    if not Path(args.model).joinpath("manifest.json").exists():
        raise SystemExit(f"no model at {args.model}: pass --model DIR")
    n = max(args.threads, min(args.requests, 1_000_000))
    soak = max(args.threads, min(args.soak, 1_000_000))
    batch_n = max(args.threads, min(args.batch_requests, 100_000))

    texts = bench_texts()
    singles = [json.dumps({"text": t}) for t in texts]
    batches = [
        json.dumps({"messages": [{"id": str(j), "text": texts[(i * args.batch + j) % len(texts)]}
                                 for j in range(args.batch)]})
        for i in range(min(200, len(texts)))
    ]  # fmt: skip
    load_before = wait_for_quiet(args.wait_load, args.wait_max)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(args.model, port, args.workers, not args.no_micro_batch)
    results: list[Load] = []
    try:
        with tempfile.TemporaryDirectory(prefix="harassflag-bench-") as tmp:
            folder = Path(tmp)
            per = -(-n // args.threads)  # ceil: each thread's share

            def script(name: str, path: str, bodies: list[str], total: int) -> Path:
                return write_script(folder, name, path, bodies, -(-total // args.threads))

            rss_start = rss_kib(proc.pid)
            warm = script("warm", "/v1/score", singles, 2000)
            run_wrk(url, script("warm-echo", "/bench/echo", singles, 2000), "warm", 8, 2, 30)
            run_wrk(url, warm, "warm", 8, 2, 30)
            echo = run_wrk(
                url, script("echo", "/bench/echo", singles, per * args.threads), "echo POST",
                args.connections, args.threads, args.max_seconds,
            )  # fmt: skip
            single = run_wrk(
                url, script("score", "/v1/score", singles, per * args.threads), "score x1",
                args.connections, args.threads, args.max_seconds,
            )  # fmt: skip
            batch = run_wrk(
                url, script("batch", "/v1/score", batches, batch_n), f"score x{args.batch}",
                args.batch_connections, args.threads, args.max_seconds, args.batch,
            )  # fmt: skip
            rss_before = rss_kib(proc.pid)
            soaked = run_wrk(
                url, script("soak", "/v1/score", singles, soak), "score x1 soak",
                args.soak_connections, args.threads, max(args.max_seconds, 600),
            )  # fmt: skip
            rss_after = rss_kib(proc.pid)
            results = [echo, single, batch, soaked]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    load_after = os.getloadavg()[0]

    ratio = single.rps / echo.rps if echo.rps else 0.0
    growth = (rss_after - rss_before) / rss_before if rss_before else 0.0
    version = subprocess.run(["wrk", "-v"], check=False, capture_output=True, text=True)
    wrk_version = version.stdout.split("\n")[0]
    print(
        f"model={args.model} workers={args.workers} "
        f"micro_batch={'off' if args.no_micro_batch else 'on'} wrk_threads={args.threads} "
        f"cpus={os.cpu_count()} load1 before={load_before:.2f} after={load_after:.2f}"
    )
    print(f"load generator: {wrk_version.strip()}")
    for r in results:
        print(r.line())
    print(
        f"single-message score / echo: {ratio:.2f}x (goal >= {GOALS['ratio']}x) "
        f"{verdict(ratio >= GOALS['ratio'])}"
    )
    print(
        f"score x1 p99 at {single.connections} connections: {single.p99_ms:.1f} ms "
        f"(goal <= {GOALS['p99_ms']:.0f} ms) {verdict(single.p99_ms <= GOALS['p99_ms'])}"
    )
    print(
        f"batches of {args.batch}: {batch.messages_per_second:.0f} messages/s "
        f"(goal >= {GOALS['batch_msgs']:.0f}) "
        f"{verdict(batch.messages_per_second >= GOALS['batch_msgs'])}"
    )
    print(
        f"soak: {soaked.requests} requests at {soaked.connections} connections, "
        f"failures {soaked.failures} {soaked.errors} {verdict(soaked.failures == 0)}; "
        f"RSS start {rss_start / 1024:.1f} MiB, before {rss_before / 1024:.1f} MiB, "
        f"after {rss_after / 1024:.1f} MiB, growth {growth * 100:+.1f}% "
        f"(goal < {GOALS['rss_growth'] * 100:.0f}%) {verdict(growth < GOALS['rss_growth'])}"
    )
    failures = sum(r.failures for r in results)
    if failures:
        print(f"failed requests across all runs: {failures}")


if __name__ == "__main__":
    main()
