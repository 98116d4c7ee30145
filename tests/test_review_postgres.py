"""The review queue on PostgreSQL: a throwaway cluster (Debian's postgresql) under a temp dir.

Skipped, with the reason, when the server binaries or psycopg are missing.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from harassflag.review.feedback import export_feedback, load_feedback
from harassflag.review.migrations import CURRENT_VERSION, migrate, schema_version
from harassflag.review.store import ItemFilter, NewItem, ReviewQueue
from test_review_support import free_port

psycopg = pytest.importorskip(
    "psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')"
)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def pg_server():
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install -y postgresql)")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip(
                "running as root without runuser: cannot start PostgreSQL as the postgres user"
            )
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="harassflag-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if as_postgres:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [
                *as_postgres,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database on the throwaway cluster."""
    name = "review_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_server + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{pg_server}/{name}"


def make_item(external_id: str, score: float = 0.9, **extra: object) -> NewItem:
    values: dict = {
        "source": "chat",
        "external_id": external_id,
        "text": "you are an idiot",
        "scores": {"harassment": score, "hate": 0.1},
        "spans": [{"term": "idiot", "start": 11, "end": 16, "weight": 1.0}],
    }
    values.update(extra)
    return NewItem(**values)


def test_postgres_migrates_from_empty_and_from_version_1(pg_url: str) -> None:
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    assert migrate(engine, target=1) == [1]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_items (source, external_id, text, scores, spans, created_at, status) "
                "VALUES ('chat', 'old', 'x', :s, '[]', '2025-01-01', 'pending')"
            ),
            {"s": json.dumps({"hate": 0.8})},
        )
    engine.dispose()
    queue = ReviewQueue(pg_url)
    try:
        assert schema_version(queue.engine) == CURRENT_VERSION
        (item,) = queue.list_items()
        assert item.max_score == 0.8 and item.flagged_heads == ("hate",)
    finally:
        queue.close()


def test_postgres_queue_round_trip(pg_url: str, tmp_path: Path) -> None:
    queue = ReviewQueue(pg_url)
    try:
        first, created = queue.enqueue(make_item("m1"))
        assert created and queue.enqueue(make_item("m1")) == (first, False)
        second, _ = queue.enqueue(make_item("m2", score=0.95, channel="dm"))
        assert [i.id for i in queue.list_items()] == [second, first]
        assert [i.id for i in queue.list_items(ItemFilter(channel="dm"))] == [second]
        queue.decide(first, "confirmed", "alice", note="n")
        (entry,) = queue.audit_log(first)
        assert entry.before["status"] == "pending" and entry.after == {
            **entry.after,
            "status": "confirmed",
            "decided_by": "alice",
            "note": "n",
        }
        result = export_feedback(queue, tmp_path / "f.jsonl")
        assert result["rows"] == 1 and load_feedback(pg_url).meta["sha256"] == result["sha256"]
        assert queue.purge(0) == 2 and queue.count(ItemFilter(status=None)) == 0
    finally:
        queue.close()


def test_postgres_concurrent_enqueue_loses_nothing(pg_url: str) -> None:
    ReviewQueue(pg_url).close()
    errors: list[BaseException] = []
    created: list[bool] = []

    def worker(n: int) -> None:
        queue = ReviewQueue(pg_url)  # each thread its own engine, like separate workers
        try:
            for i in range(50):
                created.append(queue.enqueue(make_item(f"w{n}-{i}"))[1])
                created.append(
                    queue.enqueue(make_item(f"shared-{i}"))[1]
                )  # all workers race on these ids
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            queue.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and time.monotonic() - started < 120
    assert sum(created) == 6 * 50 + 50  # each shared id was created by exactly one worker
    queue = ReviewQueue(pg_url)
    try:
        assert queue.count(ItemFilter(status=None)) == 6 * 50 + 50
    finally:
        queue.close()
