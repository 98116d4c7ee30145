"""`harassflag review purge|export|stats`, called in-process through the real CLI group."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from harassflag.cli import cli
from harassflag.review.command import review
from harassflag.review.feedback import load_feedback
from harassflag.review.store import ItemFilter, NewItem, ReviewQueue


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'review.db'}"
    queue = ReviewQueue(url)
    now = datetime.now(UTC)
    for n, days in enumerate([1, 2, 100, 200]):
        item_id, _ = queue.enqueue(
            NewItem(
                source="chat",
                external_id=f"m{n}",
                text=f"message {n}",
                scores={"harassment": 0.8},
                created_at=now - timedelta(days=days),
            )
        )
        if n < 3:
            queue.decide(item_id, ("confirmed", "dismissed", "escalated")[n], "alice")
    queue.close()
    return url


def run(args: list[str], db_url: str, **env: str):
    result = CliRunner().invoke(
        cli, ["review", "--database-url", db_url, *args], env=env, catch_exceptions=False
    )
    return result


@pytest.mark.parametrize("command", [None, "purge", "export", "stats"])
def test_every_command_has_help(command: str | None) -> None:
    target = review if command is None else review.commands[command]
    assert target.help and len(target.help) > 10
    args = ["review", "--help"] if command is None else ["review", command, "--help"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "Usage:" in result.output


def test_stats(db_url: str) -> None:
    result = run(["stats", "--json"], db_url)
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert stats["counts"] == {"pending": 1, "confirmed": 1, "dismissed": 1, "escalated": 1}
    assert stats["decisions_by_moderator"] == {"alice": 3}
    assert "pending: 1" in run(["stats"], db_url).output


def test_export_writes_labelled_rows(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "feedback.jsonl"
    result = run(["export", "--out", str(out)], db_url)
    assert result.exit_code == 0 and "wrote 3 rows" in result.output
    labels = [json.loads(line)["harassment"] for line in out.read_text().splitlines()]
    assert labels == [1, 0, 1]
    assert load_feedback(out).meta["sha256"] in result.output


def test_purge_uses_the_option_or_the_retention_setting(db_url: str) -> None:
    result = run(["purge", "--older-than-days", "150"], db_url)
    assert result.exit_code == 0 and "purged 1 item older than 150 days" in result.output
    result = run(["purge"], db_url, HARASSFLAG_RETENTION_DAYS="30")
    assert "purged 1 item older than 30 days" in result.output
    queue = ReviewQueue(db_url)
    try:
        assert sorted(i.external_id for i in queue.list_items(ItemFilter(status=None))) == [
            "m0",
            "m1",
        ]
    finally:
        queue.close()


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["review", "--database-url", "mysql://x", "stats"])
    assert result.exit_code != 0 and "database_url" in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_export_then_retrain_records_the_feedback_in_the_manifest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    queue = ReviewQueue(url)
    texts = [
        (f"you are a pathetic loser number {n}, nobody wants you here", "confirmed")
        for n in range(12)
    ]
    texts += [(f"that match was a killer, you beat me again {n}", "dismissed") for n in range(12)]
    for n, (message, decision) in enumerate(texts):
        item_id, _ = queue.enqueue(
            NewItem(source="chat", external_id=f"t{n}", text=message, scores={"harassment": 0.7})
        )
        queue.decide(item_id, decision, "alice")
    queue.close()
    out = tmp_path / "feedback.jsonl"
    assert run(["export", "--out", str(out)], url).exit_code == 0
    exported = load_feedback(out).meta
    model_dir = tmp_path / "model"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--no-public",
            "--feedback",
            str(out),
            "--c",
            "1",
            "--jobs",
            "1",
            "--out",
            str(model_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["feedback"] == [{"source": str(out), "rows": 24, "sha256": exported["sha256"]}]
