"""The review queue over a real SQLite file: enqueue, filters, decisions, audit, purge, migrations."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from harassflag.heads import MISSING
from harassflag.review.errors import BadItemError, ItemNotFoundError, SchemaError
from harassflag.review.feedback import export_feedback, load_feedback
from harassflag.review.highlight import highlight_segments
from harassflag.review.migrations import CURRENT_VERSION, migrate, schema_version
from harassflag.review.store import Base, ItemFilter, NewItem, ReviewQueue


def make_item(external_id: str, score: float = 0.9, **extra: object) -> NewItem:
    """A queued message with given scores (no model needed for queue tests)."""
    values: dict = {
        "source": "chat",
        "external_id": external_id,
        "text": "you are an idiot",
        "scores": {"harassment": score, "hate": 0.1, "offensive": 0.2},
        "spans": [{"term": "idiot", "start": 11, "end": 16, "weight": 1.3}],
        "channel": "general",
        "author": "u1",
        "model_sha256": "cd" * 32,
    }
    values.update(extra)
    return NewItem(**values)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'review.db'}"


@pytest.fixture
def queue(db_url: str):
    q = ReviewQueue(db_url)
    yield q
    q.close()


def test_enqueue_is_idempotent_on_source_and_external_id(queue: ReviewQueue) -> None:
    first_id, created = queue.enqueue(make_item("m1"))
    again_id, created_again = queue.enqueue(
        make_item("m1", score=0.2, text="different text", spans=[])
    )
    other_source_id, other_created = queue.enqueue(make_item("m1", source="forum"))
    assert created and not created_again and other_created
    assert again_id == first_id and other_source_id != first_id
    assert queue.count(ItemFilter(status=None)) == 2
    assert queue.get(first_id).text == "you are an idiot"  # the first submission is kept
    results = queue.enqueue_many([make_item("m1"), make_item("m2"), make_item("m2")])
    assert [c for _i, c in results] == [False, True, False]
    assert results[1][0] == results[2][0]
    assert queue.count(ItemFilter(status=None)) == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scores": {"harassment": 1.5}}, r"in \[0, 1\]"),
        ({"scores": {}}, "at least one head"),
        ({"text": ""}, "non-empty"),
        ({"spans": [{"term": "x", "start": 3, "end": 99}]}, "span"),
        ({"spans": [{"term": "x", "start": 5, "end": 5}]}, "span"),
        ({"external_id": ""}, "external_id"),
        ({"scores": {"harassment": float("nan")}}, r"in \[0, 1\]"),
    ],
)
def test_enqueue_refuses_malformed_items(queue: ReviewQueue, change: dict, message: str) -> None:
    change = dict(change)
    with pytest.raises(BadItemError, match=message):
        queue.enqueue(make_item(change.pop("external_id", "bad"), **change))
    assert queue.count(ItemFilter(status=None)) == 0


def test_list_sorts_highest_score_first_and_filters(queue: ReviewQueue) -> None:
    old = datetime(2024, 1, 10, 12, tzinfo=UTC)
    queue.enqueue(make_item("low", score=0.55, created_at=old))
    queue.enqueue(make_item("high", score=0.97, channel="dm", author="u2"))
    queue.enqueue(make_item("mid", score=0.8, categories={"harassment": False, "hate": True}))
    assert [i.external_id for i in queue.list_items()] == ["high", "mid", "low"]
    assert queue.list_items(sort="oldest")[0].external_id == "low"
    assert [i.external_id for i in queue.list_items(ItemFilter(channel="dm"))] == ["high"]
    assert [i.external_id for i in queue.list_items(ItemFilter(author="u2"))] == ["high"]
    assert [i.external_id for i in queue.list_items(ItemFilter(head="hate"))] == ["mid"]
    assert {i.external_id for i in queue.list_items(ItemFilter(head="harassment"))} == {
        "high",
        "low",
    }
    assert [i.external_id for i in queue.list_items(ItemFilter(until=date(2024, 1, 10)))] == ["low"]
    assert [
        i.external_id for i in queue.list_items(ItemFilter(since=date(2024, 1, 11)), sort="oldest")
    ] == ["high", "mid"]
    assert [i.external_id for i in queue.list_items(limit=1, offset=1)] == ["mid"]
    assert queue.facets() == {"channels": ["dm", "general"], "heads": ["harassment", "hate"]}
    assert queue.list_items()[0].created_at.tzinfo is not None


def test_decide_records_audit_before_and_after(queue: ReviewQueue) -> None:
    item_id, _ = queue.enqueue(make_item("m1"))
    decided = queue.decide(item_id, "confirmed", "alice", note="slur")
    assert (decided.status, decided.decided_by, decided.note) == ("confirmed", "alice", "slur")
    assert decided.decided_at is not None
    assert queue.count() == 0  # it left the pending queue
    changed = queue.decide(item_id, "dismissed", "bob")
    assert changed.note == "slur"  # a decision without a note keeps the earlier one
    entries = queue.audit_log(item_id)
    assert [e.actor for e in entries] == ["bob", "alice"]
    assert entries[1].before == {
        "status": "pending",
        "decided_by": None,
        "decided_at": None,
        "note": None,
    }
    assert entries[1].after["status"] == "confirmed" and entries[1].after["decided_by"] == "alice"
    assert entries[0].before["status"] == "confirmed" and entries[0].after["status"] == "dismissed"
    assert entries[0].after["decided_by"] == "bob"


def test_decide_refuses_unknown_items_and_decisions(queue: ReviewQueue) -> None:
    item_id, _ = queue.enqueue(make_item("m1"))
    with pytest.raises(ItemNotFoundError):
        queue.decide(999, "confirmed", "alice")
    with pytest.raises(BadItemError):
        queue.decide(item_id, "pending", "alice")
    with pytest.raises(BadItemError):
        queue.decide(item_id, "confirmed", "")
    assert queue.get(item_id).status == "pending" and queue.audit_log() == []


def test_bulk_decide_is_one_transaction_with_an_audit_entry_each(queue: ReviewQueue) -> None:
    ids = [queue.enqueue(make_item(f"m{i}"))[0] for i in range(5)]
    decided = queue.bulk_decide(ids[:3] + [12345], "escalated", "alice")
    assert sorted(i.id for i in decided) == ids[:3]
    assert queue.counts_by_status() == {
        "pending": 2,
        "confirmed": 0,
        "dismissed": 0,
        "escalated": 3,
    }
    assert len(queue.audit_log()) == 3
    assert queue.stats()["decisions_by_moderator"] == {"alice": 3}


def test_purge_deletes_old_items_and_their_audit(queue: ReviewQueue) -> None:
    now = datetime.now(UTC)
    old_id, _ = queue.enqueue(make_item("old", created_at=now - timedelta(days=40)))
    new_id, _ = queue.enqueue(make_item("new", created_at=now - timedelta(days=5)))
    queue.decide(old_id, "confirmed", "alice")
    queue.decide(new_id, "dismissed", "alice")
    assert queue.purge(30) == 1
    assert [i.external_id for i in queue.list_items(ItemFilter(status=None))] == ["new"]
    assert [e.item_id for e in queue.audit_log()] == [new_id]
    with pytest.raises(ItemNotFoundError):
        queue.get(old_id)
    assert queue.purge(0, now=now + timedelta(days=1)) == 1
    assert queue.count(ItemFilter(status=None)) == 0


def test_sqlite_file_is_in_wal_mode(queue: ReviewQueue, tmp_path: Path) -> None:
    queue.enqueue(make_item("m1"))
    with sqlite3.connect(tmp_path / "review.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _columns(engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_migrate_empty_database_to_current_matches_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    assert schema_version(engine) == 0
    assert migrate(engine) == list(range(1, CURRENT_VERSION + 1))
    assert migrate(engine) == []  # idempotent
    assert schema_version(engine) == CURRENT_VERSION
    for table in Base.metadata.sorted_tables:
        assert _columns(engine, table.name) == {c.name for c in table.columns}, table.name
    engine.dispose()


def test_migrate_from_version_1_keeps_rows_and_backfills(db_url: str) -> None:
    engine = create_engine(db_url)
    assert migrate(engine, target=1) == [1]
    assert "note" not in _columns(engine, "review_items")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_items (source, external_id, text, scores, spans, created_at, status) "
                "VALUES ('chat', 'v1-item', 'you idiot', :scores, '[]', '2025-01-01 00:00:00', 'pending')"
            ),
            {"scores": json.dumps({"harassment": 0.2, "hate": 0.75})},
        )
    engine.dispose()
    queue = ReviewQueue(db_url)  # migrates 1 -> current on open
    try:
        assert schema_version(queue.engine) == CURRENT_VERSION
        (item,) = queue.list_items()
        assert (
            item.external_id == "v1-item"
            and item.max_score == 0.75
            and item.flagged_heads == ("hate",)
        )
        queue.decide(item.id, "confirmed", "alice", note="new column works")
        assert queue.audit_log()[0].after["note"] == "new column works"
    finally:
        queue.close()


def test_a_newer_schema_is_refused(db_url: str) -> None:
    ReviewQueue(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO schema_version VALUES (99, 'future', '2030-01-01 00:00:00')")
        )
    engine.dispose()
    with pytest.raises(SchemaError, match="upgrade harassflag"):
        ReviewQueue(db_url)


def test_export_and_load_feedback_from_file_and_database(
    queue: ReviewQueue, db_url: str, tmp_path: Path
) -> None:
    ids = [
        queue.enqueue(make_item(f"m{i}", text=f"message number {i}", spans=[]))[0] for i in range(4)
    ]
    queue.decide(ids[0], "confirmed", "alice")
    queue.decide(ids[1], "dismissed", "alice")
    queue.decide(ids[2], "escalated", "bob")  # ids[3] stays pending: not exported
    result = export_feedback(queue, tmp_path / "out" / "feedback.jsonl")
    rows = [
        json.loads(line) for line in (tmp_path / "out" / "feedback.jsonl").read_text().splitlines()
    ]
    assert result["rows"] == 3
    assert [(r["text"], r["harassment"]) for r in rows] == [
        ("message number 0", 1),
        ("message number 1", 0),
        ("message number 2", 1),
    ]
    assert (
        rows[0]["source"] == "chat"
        and rows[0]["external_id"] == "m0"
        and rows[2]["decided_by"] == "bob"
    )
    from_file = load_feedback(tmp_path / "out" / "feedback.jsonl")
    from_db = load_feedback(db_url)
    assert from_file.meta == from_db.meta == {"rows": 3, "sha256": result["sha256"]}
    assert from_file.texts == from_db.texts and list(from_file.labels["harassment"]) == [1, 0, 1]
    assert (from_file.labels["hate"] == MISSING).all()
    assert from_file.groups == ["feedback:chat:m0", "feedback:chat:m1", "feedback:chat:m2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "a", "harassment": 1}\nnot json\n', "line 2: not valid JSON"),
        ('{"text": "a", "harassment": 2}\n', "line 1: `harassment` must be 0 or 1"),
        ('{"harassment": 1}\n', "line 1: `text`"),
        ("\n", "no decided items"),
    ],
)
def test_load_feedback_refuses_bad_rows(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_text(content)
    with pytest.raises(BadItemError, match=message):
        load_feedback(path)


def test_highlight_segments_merge_overlaps_and_clip() -> None:
    segments = highlight_segments(
        "you dumb idiot",
        [
            {"term": "idiot", "start": 9, "end": 14, "weight": 1.0},
            {"term": "dumb", "start": 4, "end": 10, "weight": 2.0},
            {"term": "bad", "start": 20, "end": 30},
            {"start": "x"},
        ],
    )
    assert [(s.text, s.mark) for s in segments] == [("you ", False), ("dumb idiot", True)]
    assert segments[1].terms == "dumb, idiot" and segments[1].weight == 2.0
    assert "".join(s.text for s in highlight_segments("abc", [])) == "abc"
