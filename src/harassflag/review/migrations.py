"""A versioned schema: ordered migration steps recorded in a `schema_version` table.

Each step defines the tables it creates itself (never the current models), so an old database
is always brought forward through the same path. Steps run inside one transaction holding the
database's write lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), so several
server workers starting at once on an empty database migrate it exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateTable

from .errors import SchemaError

FLAG_SCORE = 0.5
"""Score at which a head counts as flagged when the submitter gave no categories."""

_PG_LOCK_KEY = 0x6861_7261_7373  # "harass": a fixed advisory-lock key for migrations


def _step_1(conn: Connection) -> None:
    """Review items with their scores, spans and decision."""
    meta = MetaData()
    items = Table(
        "review_items",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("source", String(64), nullable=False),
        Column("external_id", String(256), nullable=False),
        Column("channel", String(256)),
        Column("author", String(256)),
        Column("text", Text, nullable=False),
        Column("scores", Text, nullable=False),
        Column("spans", Text, nullable=False),
        Column("model_sha256", String(64)),
        Column("created_at", DateTime, nullable=False),
        Column("status", String(16), nullable=False),
        Column("decided_by", String(128)),
        Column("decided_at", DateTime),
        UniqueConstraint("source", "external_id", name="uq_review_items_source_external"),
    )
    conn.execute(CreateTable(items))
    conn.execute(text("CREATE INDEX ix_review_items_created ON review_items (created_at)"))


def _step_2(conn: Connection) -> None:
    """Notes, a sort key (highest score), flagged heads for filtering, and the audit log."""
    conn.execute(text("ALTER TABLE review_items ADD COLUMN note TEXT"))
    conn.execute(text("ALTER TABLE review_items ADD COLUMN max_score FLOAT NOT NULL DEFAULT 0"))
    conn.execute(
        text("ALTER TABLE review_items ADD COLUMN flagged_heads VARCHAR(256) NOT NULL DEFAULT ''")
    )
    rows = conn.execute(text("SELECT id, scores FROM review_items")).all()
    for item_id, raw in rows:
        scores = {k: float(v) for k, v in json.loads(raw).items()}
        flagged = [h for h, s in sorted(scores.items()) if s >= FLAG_SCORE]
        conn.execute(
            text("UPDATE review_items SET max_score = :m, flagged_heads = :f WHERE id = :i"),
            {"m": max(scores.values(), default=0.0), "f": heads_key(flagged), "i": item_id},
        )
    conn.execute(
        text("CREATE INDEX ix_review_items_status_score ON review_items (status, max_score)")
    )
    meta = MetaData()
    audit = Table(
        "review_audit",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("item_id", Integer, nullable=False, index=True),
        Column("actor", String(128), nullable=False),
        Column("at", DateTime, nullable=False, index=True),
        Column("action", String(32), nullable=False),
        Column("before", Text, nullable=False),
        Column("after", Text, nullable=False),
    )
    conn.execute(CreateTable(audit))
    for index in audit.indexes:
        index.create(conn)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "review items", _step_1),
    (2, "notes, score sort key, flagged heads, audit log", _step_2),
]
"""Ordered steps: (version, description, function). Append only; never edit a released step."""

CURRENT_VERSION = MIGRATIONS[-1][0]

_VERSION_TABLE = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(200), nullable=False),
    Column("applied_at", DateTime, nullable=False),
)


def heads_key(heads: list[str]) -> str:
    """Flagged heads as a delimited string, so `LIKE '%,head,%'` filters exactly."""
    return "," + ",".join(heads) + "," if heads else ""


def schema_version(engine: Engine) -> int:
    """The version a database is at (0 for an empty one)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("schema_version"):
            return 0
        return int(
            conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM schema_version")).scalar_one()
        )


def migrate(engine: Engine, target: int = CURRENT_VERSION) -> list[int]:
    """Bring the schema to `target`; return the versions applied (empty if already there)."""
    if not 0 <= target <= CURRENT_VERSION:
        raise SchemaError(f"unknown schema version {target}")
    applied: list[int] = []
    try:
        with engine.connect() as conn:
            conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                if not inspect(conn).has_table("schema_version"):
                    conn.execute(CreateTable(_VERSION_TABLE))
                current = conn.execute(
                    select(_VERSION_TABLE.c.version)
                    .order_by(_VERSION_TABLE.c.version.desc())
                    .limit(1)
                ).scalar()
                current = int(current or 0)
                if current > CURRENT_VERSION:
                    raise SchemaError(
                        f"database schema is version {current}, this harassflag knows up to "
                        f"{CURRENT_VERSION}: upgrade harassflag"
                    )
                for version, description, step in MIGRATIONS:
                    if current < version <= target:
                        step(conn)
                        conn.execute(
                            _VERSION_TABLE.insert().values(
                                version=version,
                                description=description,
                                applied_at=datetime.now(UTC).replace(tzinfo=None),
                            )
                        )
                        applied.append(version)
    except SQLAlchemyError as exc:
        raise SchemaError(
            f"migration failed: {type(exc).__name__}: {exc.orig if hasattr(exc, 'orig') else exc}"
        ) from exc
    return applied
