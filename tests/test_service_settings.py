"""Service settings and start-up refusals, the truncation mode and the CLI command."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from harassflag.cli import cli
from harassflag.service.problems import problem_from_validation
from harassflag.service.settings import Settings, is_loopback_host
from service_helpers import API_KEY, serve_command, start_server


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("HARASSFLAG_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)
    Settings(host=host)  # no keys needed


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_refuses_public_host_without_keys(host):
    assert not is_loopback_host(host)
    with pytest.raises(ValidationError, match="allow-anonymous"):
        Settings(host=host)
    assert Settings(host=host, allow_anonymous=True).allow_anonymous
    assert Settings(host=host, api_keys=["k" * 12]).auth_required


def test_keys_from_env_and_file(monkeypatch, tmp_path):
    key_file = tmp_path / "keys.txt"
    key_file.write_text("# comment\n\nfile-key-123456\n  other-key-654321  \n", encoding="utf-8")
    monkeypatch.setenv("HARASSFLAG_API_KEYS", "env-key-1234567, env-key-7654321")
    monkeypatch.setenv("HARASSFLAG_API_KEY_FILE", str(key_file))
    monkeypatch.setenv("HARASSFLAG_ADMIN_KEYS", "admin-key-1234567")
    monkeypatch.setenv("HARASSFLAG_MAX_ITEMS", "7")
    s = Settings()
    assert s.api_keys == ["env-key-1234567", "env-key-7654321", "file-key-123456", "other-key-654321"]
    assert s.admin_keys == ["admin-key-1234567"] and s.max_items == 7
    assert not any(k in repr(s) for k in [*s.api_keys, *s.admin_keys])  # keys stay out of reprs


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="cannot read API key file"):
        Settings(api_key_file=tmp_path / "missing.txt")
    with pytest.raises(ValidationError, match="at least 8"):
        Settings(api_keys=["short"])
    with pytest.raises(ValidationError):
        Settings(max_items=0)
    with pytest.raises(ValidationError):
        Settings(max_body_bytes=10)


def test_serve_refuses_public_host_without_keys(tmp_path):
    result = subprocess.run(
        serve_command("--model", str(tmp_path), "--host", "0.0.0.0", "--port", "1"),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if not k.startswith("HARASSFLAG_")},
    )
    assert result.returncode != 0
    assert "refusing to listen on '0.0.0.0' without API keys" in result.stderr


def test_serve_reports_a_missing_model_cleanly(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--model", str(tmp_path / "nope"), "--port", "1"])
    assert result.exit_code != 0
    assert "Traceback" not in (result.output or "")


def test_serve_help_documents_every_option():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--model", "--host", "--port", "--workers", "--allow-anonymous", "--max-body-bytes"):
        assert option in result.output


def test_validation_errors_map_to_stable_types():
    assert problem_from_validation([{"type": "json_invalid", "msg": "Invalid JSON: x"}], 5, 10).slug == "malformed-json"
    assert problem_from_validation([{"type": "too_long", "loc": ("messages",)}], 5, 10).status == 413
    assert problem_from_validation([{"type": "string_too_long", "loc": ("text",)}], 5, 10).slug == "text-too-long"
    other = problem_from_validation([{"type": "missing", "loc": ("body", "text"), "msg": "Field required"}], 5, 10)
    assert other.slug == "invalid-request" and other.status == 422 and "text" in other.detail


def test_truncation_mode(tiny_model_dir, tmp_path):
    srv = start_server(tiny_model_dir, tmp_path / "server.log", "--max-chars", "20", "--truncate-chars")
    try:
        with srv.client() as c:
            long_text = "sam you are a loser " + "la " * 50
            r = c.post("/v1/score", json={"messages": [{"text": long_text}, {"text": "hi"}], "explain": True})
            assert r.status_code == 200, r.text
            first, second = r.json()["results"]
            assert first["truncated"] is True and "truncated" not in second
            assert all(s["end"] <= 20 for s in first["spans"])
            m = c.post("/v1/moderations", json={"input": long_text})
            assert m.status_code == 200
        spec = httpx.get(f"{srv.url}/openapi.json").json()
        text_schema = spec["components"]["schemas"]["MessageIn"]["properties"]["text"]
        assert "maxLength" not in text_schema and "cut to that length" in text_schema["description"]
    finally:
        srv.stop()


def test_multi_worker_mode(tiny_model_dir, tmp_path):
    srv = start_server(tiny_model_dir, tmp_path / "server.log", "--workers", "2", timeout=90)
    try:
        with srv.client() as c:
            for _ in range(6):
                assert c.post("/v1/score", json={"text": "hello"}).status_code == 200
            assert httpx.post(f"{srv.url}/v1/score", json={"text": "hello"}).status_code == 401
        assert API_KEY not in srv.log_text()
    finally:
        srv.stop()
