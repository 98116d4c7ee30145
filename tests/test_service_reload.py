"""Hot reload: atomic swap under concurrent load, a tampered artifact keeps the old model, SIGHUP."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import synthetic_set
from harassflag.artifact import save_model
from harassflag.train import TrainOptions, fit_model
from service_helpers import ADMIN_KEY, start_server


def install(source: Path, target: Path) -> None:
    """Put the artifact from `source` into `target` (each file replaced atomically)."""
    for name in ("model.joblib", "manifest.json"):
        tmp = target / f".{name}.tmp"
        shutil.copyfile(source / name, tmp)
        os.replace(tmp, target / name)


@pytest.fixture(scope="module")
def other_model_dir(tmp_path_factory) -> Path:
    """A second real model (different C) so the artifact hash differs."""
    opts = TrainOptions(c_grid=(0.25,), featurizer={"min_df": 1}, n_jobs=1)
    model = fit_model(synthetic_set(), None, opts)
    return save_model(model, tmp_path_factory.mktemp("models") / "other")


@pytest.fixture()
def served(tiny_model_dir, tmp_path):
    model_dir = tmp_path / "served"
    shutil.copytree(tiny_model_dir, model_dir)
    srv = start_server(model_dir, tmp_path / "server.log")
    yield srv
    srv.stop()


def sha_of(directory: Path) -> str:
    import json

    return json.loads((directory / "manifest.json").read_text())["sha256"]


def ready_sha(server) -> str:
    return httpx.get(f"{server.url}/readyz").json()["model"]["sha256"]


def reload(server) -> httpx.Response:
    return httpx.post(f"{server.url}/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)


def test_reload_swaps_under_concurrent_requests_with_zero_failures(served, tiny_model_dir, other_model_dir):
    first, second = sha_of(tiny_model_dir), sha_of(other_model_dir)
    assert first != second
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()
    counts = [0]

    def hammer() -> None:
        with served.client() as c:
            while not stop.is_set():
                try:
                    r = c.post("/v1/score", json={"messages": [{"text": "sam you are a loser"}, {"text": "hi"}]})
                except httpx.HTTPError as exc:
                    failures.append(type(exc).__name__)
                    continue
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                else:
                    seen.add(r.json()["model"]["sha256"])
                    counts[0] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        for source, expected in ((other_model_dir, second), (tiny_model_dir, first), (other_model_dir, second)):
            install(source, served.model_dir)
            r = reload(served)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["model"]["sha256"] == expected and body["changed"] is True
            assert ready_sha(served) == expected
            time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert failures == []
    assert counts[0] > 20
    assert seen == {first, second}
    metrics = httpx.get(f"{served.url}/metrics").text
    assert 'harassflag_model_reloads_total{result="ok"} 3.0' in metrics
    assert f'sha256="{second}"' in metrics and f'sha256="{first}"' not in metrics


def test_tampered_artifact_keeps_the_old_model(served, tiny_model_dir):
    before = ready_sha(served)
    artifact = served.model_dir / "model.joblib"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    r = reload(served)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "https://harassflag.dev/problems/model-reload-failed"
    assert "SHA-256" in r.json()["detail"]
    assert ready_sha(served) == before
    with served.client() as c:
        scored = c.post("/v1/score", json={"text": "sam you are a loser"})
    assert scored.status_code == 200 and scored.json()["model"]["sha256"] == before
    metrics = httpx.get(f"{served.url}/metrics").text
    assert 'harassflag_model_reloads_total{result="failed"} 1.0' in metrics


def test_missing_artifact_keeps_the_old_model(served):
    before = ready_sha(served)
    (served.model_dir / "manifest.json").unlink()
    assert reload(served).status_code == 409
    assert ready_sha(served) == before


def test_sighup_reloads(served, other_model_dir):
    install(other_model_dir, served.model_dir)
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ready_sha(served) != sha_of(other_model_dir):
        time.sleep(0.1)
    assert ready_sha(served) == sha_of(other_model_dir)
    assert served.process.poll() is None


def test_admin_needs_admin_key(served):
    r = httpx.post(f"{served.url}/admin/reload")
    assert r.status_code == 401
    r = httpx.post(f"{served.url}/admin/reload", headers={"x-api-key": "not-the-admin-key"})
    assert r.status_code == 401


def test_admin_disabled_without_admin_keys(tiny_model_dir, tmp_path):
    srv = start_server(tiny_model_dir, tmp_path / "server.log", admin_keys="")
    try:
        r = httpx.post(f"{srv.url}/admin/reload", headers={"x-api-key": ADMIN_KEY})
        assert r.status_code == 403
        assert r.json()["type"] == "https://harassflag.dev/problems/admin-disabled"
    finally:
        srv.stop()
