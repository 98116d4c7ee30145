"""Run `harassflag serve` as a real subprocess on a free loopback port (shared by service tests)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

API_KEY = "test-key-0123456789"
ADMIN_KEY = "admin-key-0123456789"


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running server and where its stderr goes."""

    process: subprocess.Popen
    port: int
    log_path: Path
    model_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = API_KEY, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def serve_command(*args: str) -> list[str]:
    """`harassflag serve ...` through the current interpreter."""
    exe = shutil.which("harassflag")
    if exe:
        return [exe, "serve", *args]
    return [sys.executable, "-c", "from harassflag.cli import main; main()", "serve", *args]


def start_server(
    model_dir: Path,
    log_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    api_keys: str = API_KEY,
    admin_keys: str = ADMIN_KEY,
    timeout: float = 60.0,
) -> Server:
    """Start a server and wait until /readyz answers 200 (fails with the server's log if not)."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HARASSFLAG_")}
    full_env.update({"HARASSFLAG_API_KEYS": api_keys, "HARASSFLAG_ADMIN_KEYS": admin_keys})
    full_env.update(env or {})
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            serve_command("--model", str(model_dir), "--port", str(port), *args),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    server = Server(process, port, log_path, model_dir, full_env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not become ready:\n{server.log_text()}")
