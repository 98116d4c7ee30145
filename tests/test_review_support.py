"""Helpers shared by the review tests: a real uvicorn process serving the review router.

(No tests here; the name keeps it inside the review tests' own files.)
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

APP_SOURCE = """
from fastapi import FastAPI
from harassflag.review.routes import build_review_router
from harassflag.review.settings import ReviewSettings


def create() -> FastAPI:
    app = FastAPI()
    app.include_router(build_review_router(ReviewSettings()))
    return app
"""

MODERATORS = {"alice": "alice-key-0123456789", "bob": "bob-key-9876543210"}
SCORING_KEY = "scoring-key-abcdef123456"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ReviewServer:
    """A uvicorn process serving the review router on a loopback port."""

    url: str
    database_url: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(
    tmp_dir: Path, database_url: str, wait: bool = True, **env_extra: str
) -> ReviewServer:
    """Start `uvicorn` on a free port with the review router mounted; wait until it answers."""
    app_dir = tmp_dir / "review_app"
    app_dir.mkdir(parents=True, exist_ok=True)
    (app_dir / "review_test_app.py").write_text(APP_SOURCE, encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "HARASSFLAG_DATABASE_URL": database_url,
        "HARASSFLAG_MODERATOR_KEYS": ",".join(f"{n}:{k}" for n, k in MODERATORS.items()),
        "HARASSFLAG_API_KEYS": SCORING_KEY,
        "HARASSFLAG_SESSION_SECRET": "test-session-secret-0123456789",
        **env_extra,
    }
    log_path = app_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(app_dir),
                "--factory",
                "review_test_app:create",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    server = ReviewServer(f"http://127.0.0.1:{port}", database_url, process, log_path)
    if wait:
        wait_ready(server)
    return server


def wait_ready(server: ReviewServer, timeout: float = 30.0) -> None:
    """Poll the sign-in page until the server answers (or fail with its stderr)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            err = server.log_path.read_text(errors="replace")
            raise RuntimeError(
                f"review server exited with {server.process.returncode}: {err[-2000:]}"
            )
        try:
            if httpx.get(server.url + "/review/login", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("review server did not start in time")


def csrf_from(html: str) -> str:
    """The CSRF token in a page's hidden form field."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def sign_in(client: httpx.Client, name: str = "alice") -> str:
    """Sign `name` in with `client`; return the session's CSRF token (from the queue page)."""
    page = client.get("/review/login")
    response = client.post(
        "/review/login",
        data={"name": name, "key": MODERATORS[name], "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    queue_page = client.get("/review")
    assert queue_page.status_code == 200
    return csrf_from(queue_page.text)


def item_payload(external_id: str, text: str = "you are an idiot", **extra: object) -> dict:
    """One item for `POST /v1/review/items`."""
    start = text.find("idiot")
    spans = (
        [{"term": "idiot", "start": start, "end": start + 5, "weight": 1.5}] if start >= 0 else []
    )
    return {
        "source": "test",
        "external_id": external_id,
        "text": text,
        "scores": {"harassment": 0.91, "hate": 0.05, "offensive": 0.7},
        "spans": spans,
        "channel": "general",
        "author": "user1",
        "model_sha256": "ab" * 32,
        **extra,
    }
