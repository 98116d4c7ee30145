"""The review queue: SQLAlchemy models and `ReviewQueue` (enqueue, list, decide, audit, purge)."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    make_url,
    select,
    update,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .errors import BadItemError, ItemNotFoundError, ReviewError
from .migrations import FLAG_SCORE, heads_key, migrate
from .settings import ReviewSettings

STATUSES: tuple[str, ...] = ("pending", "confirmed", "dismissed", "escalated")
DECISIONS: tuple[str, ...] = ("confirmed", "dismissed", "escalated")
"""What a moderator can decide: harassment, not harassment, or needs a senior look."""
SORTS: tuple[str, ...] = ("score", "newest", "oldest")
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Base(DeclarativeBase):
    """Declarative base of the review tables (the schema itself comes from `migrations`)."""


class ItemRow(Base):
    """One queued message and its decision."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_review_items_source_external"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(256))
    channel: Mapped[str | None] = mapped_column(String(256))
    author: Mapped[str | None] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    scores: Mapped[str] = mapped_column(Text)
    spans: Mapped[str] = mapped_column(Text)
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    flagged_heads: Mapped[str] = mapped_column(String(256), default="")


class AuditRow(Base):
    """One decision: who, when, and the item's decision fields before and after."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)


ITEMS = ItemRow.__table__
AUDIT = AuditRow.__table__


@dataclass(frozen=True)
class NewItem:
    """A message to queue, as submitted by the service, the batch runner or the API."""

    source: str
    external_id: str
    text: str
    scores: dict[str, float]
    spans: list[dict[str, Any]] = field(default_factory=list)
    channel: str | None = None
    author: str | None = None
    model_sha256: str | None = None
    categories: dict[str, bool] | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ReviewItem:
    """A queued message as stored (times are timezone-aware UTC)."""

    id: int
    source: str
    external_id: str
    channel: str | None
    author: str | None
    text: str
    scores: dict[str, float]
    spans: list[dict[str, Any]]
    model_sha256: str | None
    created_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    max_score: float
    flagged_heads: tuple[str, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One audit-log row."""

    id: int
    item_id: int
    actor: str
    at: datetime
    action: str
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class ItemFilter:
    """What the queue page shows: status, head, channel, author and a date range (inclusive)."""

    status: str | None = "pending"
    head: str | None = None
    channel: str | None = None
    author: str | None = None
    since: date | None = None
    until: date | None = None


def derive_external_id(text: str, channel: str | None = None, author: str | None = None) -> str:
    """A stable id for a message that came without one (same text, channel, author -> same id)."""
    digest = hashlib.sha256(json.dumps([channel, author, text]).encode("utf-8")).hexdigest()
    return f"sha256:{digest[:32]}"


def _utc_naive(moment: datetime) -> datetime:
    """Store naive UTC: both SQLite and PostgreSQL then compare times the same way."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _utc_aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def validate_item(item: NewItem, max_text_chars: int = 20_000) -> None:
    """Refuse items the page could not show correctly (bad scores, spans outside the text)."""
    if not item.source or len(item.source) > 64:
        raise BadItemError("source must be 1-64 characters")
    if not item.external_id or len(item.external_id) > 256:
        raise BadItemError("external_id must be 1-256 characters")
    if not isinstance(item.text, str) or not item.text:
        raise BadItemError("text must be a non-empty string")
    if len(item.text) > max_text_chars:
        raise BadItemError(f"text longer than {max_text_chars} characters")
    for name in ("channel", "author"):
        value = getattr(item, name)
        if value is not None and len(value) > 256:
            raise BadItemError(f"{name} longer than 256 characters")
    if not item.scores:
        raise BadItemError("scores must name at least one head")
    for head, score in item.scores.items():
        if not isinstance(head, str) or not 0 < len(head) <= 64 or "," in head:
            raise BadItemError("head names must be 1-64 characters without commas")
        if (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not 0.0 <= score <= 1.0
            or math.isnan(score)
        ):
            raise BadItemError(f"score for {head!r} must be a number in [0, 1]")
    for span in item.spans:
        start, end = span.get("start"), span.get("end")
        if not (
            isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(item.text)
        ):
            raise BadItemError("each span needs integer 0 <= start < end <= len(text)")
    if item.model_sha256 is not None and len(item.model_sha256) > 64:
        raise BadItemError("model_sha256 longer than 64 characters")


def _row_values(item: NewItem) -> dict[str, Any]:
    scores = {h: float(s) for h, s in item.scores.items()}
    if item.categories is not None:
        flagged = sorted(h for h, on in item.categories.items() if on)
    else:
        flagged = sorted(h for h, s in scores.items() if s >= FLAG_SCORE)
    spans = [
        {
            "term": str(s.get("term", "")),
            "start": s["start"],
            "end": s["end"],
            "weight": float(s.get("weight", 0.0)),
        }
        for s in item.spans
    ]
    return {
        "source": item.source,
        "external_id": item.external_id,
        "channel": item.channel,
        "author": item.author,
        "text": item.text,
        "scores": json.dumps(scores, sort_keys=True),
        "spans": json.dumps(spans),
        "model_sha256": item.model_sha256,
        "created_at": _utc_naive(item.created_at or datetime.now(UTC)),
        "status": "pending",
        "max_score": max(scores.values()),
        "flagged_heads": heads_key(flagged),
    }


def _to_item(row: Any) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        source=row.source,
        external_id=row.external_id,
        channel=row.channel,
        author=row.author,
        text=row.text,
        scores=json.loads(row.scores),
        spans=json.loads(row.spans),
        model_sha256=row.model_sha256,
        created_at=_utc_aware(row.created_at),  # type: ignore[arg-type]
        status=row.status,
        decided_by=row.decided_by,
        decided_at=_utc_aware(row.decided_at),
        note=row.note,
        max_score=row.max_score,
        flagged_heads=tuple(h for h in row.flagged_heads.split(",") if h),
    )


def _decision_state(row: Any) -> dict[str, Any]:
    return {
        "status": row.status,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() + "Z" if row.decided_at else None,
        "note": row.note,
    }


def normalize_database_url(database_url: str) -> URL:
    """Parse a URL; plain `postgresql://` uses psycopg 3, the driver harassflag supports."""
    try:
        url = make_url(database_url)
    except Exception:  # noqa: BLE001 - SQLAlchemy raises several types for a malformed URL
        raise ReviewError("database URL is malformed") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def create_review_engine(database_url: str) -> Engine:
    """An engine for the queue; SQLite gets WAL, a busy timeout and explicit write locks."""
    url = normalize_database_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise ReviewError(
            f"PostgreSQL needs the psycopg package: pip install 'psycopg[binary]' ({exc.name})"
        ) from None


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so SQLAlchemy's "begin" event decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # A write transaction takes the write lock up front: a deferred one that upgrades later can fail
    # at once with SQLITE_BUSY (no busy wait) when another process wrote in between.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class ReviewQueue:
    """The queue of flagged messages and moderators' decisions, over SQLite or PostgreSQL."""

    def __init__(
        self, database_url: str, *, migrate_schema: bool = True, max_text_chars: int = 20_000
    ) -> None:
        self.database_url = database_url
        self.max_text_chars = max_text_chars
        self.engine = create_review_engine(database_url)
        # SQLite has one writer at a time: threads of this process queue on a lock instead of in
        # SQLite's busy handler, whose sleeps (up to 100 ms) would dominate under contention.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        )
        if migrate_schema:
            migrate(self.engine)

    @classmethod
    def from_settings(cls, settings: ReviewSettings) -> ReviewQueue:
        """A queue at `settings.database_url`, migrated to the current schema."""
        return cls(settings.database_url, max_text_chars=settings.max_text_chars)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise ReviewError(f"review database error: {type(exc).__name__}") from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._write_lock, self.engine.connect() as conn:
                conn.execution_options(sqlite_immediate=True)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise ReviewError(f"review database error: {type(exc).__name__}") from exc

    # -- queueing ---------------------------------------------------------------------------

    def enqueue(self, item: NewItem) -> tuple[int, bool]:
        """Queue one item; returns (id, created). The same (source, external_id) is never duplicated."""
        return self.enqueue_many([item])[0]

    def enqueue_many(self, items: Sequence[NewItem]) -> list[tuple[int, bool]]:
        """Queue items in one transaction; returns (id, created) per item, in order."""
        for item in items:
            validate_item(item, self.max_text_chars)
        results: list[tuple[int, bool]] = []
        with self._write() as conn:
            insert = _insert_ignore(conn)
            for item in items:
                # RETURNING gives the new id, or no row when (source, external_id) already exists.
                new_id = conn.execute(
                    insert.values(**_row_values(item)).returning(ITEMS.c.id)
                ).scalar()
                if new_id is not None:
                    results.append((int(new_id), True))
                    continue
                existing = conn.execute(
                    select(ITEMS.c.id).where(
                        ITEMS.c.source == item.source, ITEMS.c.external_id == item.external_id
                    )
                ).scalar_one()
                results.append((int(existing), False))
        return results

    # -- reading ----------------------------------------------------------------------------

    def get(self, item_id: int) -> ReviewItem:
        """One item by id."""
        with self._read() as conn:
            row = conn.execute(select(ITEMS).where(ITEMS.c.id == item_id)).first()
        if row is None:
            raise ItemNotFoundError(f"no review item {item_id}")
        return _to_item(row)

    def list_items(
        self,
        filters: ItemFilter = ItemFilter(),
        *,
        sort: str = "score",
        limit: int = 50,
        offset: int = 0,
    ) -> list[ReviewItem]:
        """Items matching `filters`; `score` sorts highest first, then oldest first."""
        if sort not in SORTS:
            raise BadItemError(f"sort must be one of {', '.join(SORTS)}")
        order = {
            "score": (ITEMS.c.max_score.desc(), ITEMS.c.id.asc()),
            "newest": (ITEMS.c.created_at.desc(), ITEMS.c.id.desc()),
            "oldest": (ITEMS.c.created_at.asc(), ITEMS.c.id.asc()),
        }[sort]
        query = (
            select(ITEMS).where(*_conditions(filters)).order_by(*order).limit(limit).offset(offset)
        )
        with self._read() as conn:
            return [_to_item(r) for r in conn.execute(query)]

    def count(self, filters: ItemFilter = ItemFilter()) -> int:
        """How many items match `filters`."""
        with self._read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(ITEMS).where(*_conditions(filters))
                ).scalar_one()
            )

    def counts_by_status(self) -> dict[str, int]:
        """Number of items per status (every status present, zero when none)."""
        with self._read() as conn:
            rows = conn.execute(select(ITEMS.c.status, func.count()).group_by(ITEMS.c.status)).all()
        result = dict.fromkeys(STATUSES, 0)
        result.update({status: int(n) for status, n in rows})
        return result

    def facets(self) -> dict[str, list[str]]:
        """Distinct channels and heads of pending items, for the page's filter menus."""
        with self._read() as conn:
            channels = (
                conn.execute(
                    select(ITEMS.c.channel)
                    .where(ITEMS.c.status == "pending", ITEMS.c.channel.is_not(None))
                    .distinct()
                    .order_by(ITEMS.c.channel)
                    .limit(200)
                )
                .scalars()
                .all()
            )
            head_keys = (
                conn.execute(
                    select(ITEMS.c.flagged_heads)
                    .where(ITEMS.c.status == "pending")
                    .distinct()
                    .limit(200)
                )
                .scalars()
                .all()
            )
        heads = sorted({h for key in head_keys for h in key.split(",") if h})
        return {"channels": list(channels), "heads": heads}

    def stats(self) -> dict[str, Any]:
        """Counts by status, oldest pending item, and decisions per moderator."""
        with self._read() as conn:
            oldest = conn.execute(
                select(func.min(ITEMS.c.created_at)).where(ITEMS.c.status == "pending")
            ).scalar()
            by_moderator = conn.execute(
                select(ITEMS.c.decided_by, func.count())
                .where(ITEMS.c.decided_by.is_not(None))
                .group_by(ITEMS.c.decided_by)
                .order_by(ITEMS.c.decided_by)
            ).all()
            audit_rows = conn.execute(select(func.count()).select_from(AUDIT)).scalar_one()
        return {
            "counts": self.counts_by_status(),
            "oldest_pending": _utc_aware(oldest).isoformat() if oldest else None,
            "decisions_by_moderator": {name: int(n) for name, n in by_moderator},
            "audit_entries": int(audit_rows),
        }

    def iter_decided(self) -> Iterator[ReviewItem]:
        """Every decided item, oldest id first (the export order)."""
        with self._read() as conn:
            for row in conn.execute(
                select(ITEMS).where(ITEMS.c.status != "pending").order_by(ITEMS.c.id)
            ):
                yield _to_item(row)

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self, item_id: int, decision: str, actor: str, note: str | None = None
    ) -> ReviewItem:
        """Record a moderator's decision on one item, with an audit entry (before/after)."""
        decided = self.bulk_decide([item_id], decision, actor, note, missing_ok=False)
        return decided[0]

    def bulk_decide(
        self,
        item_ids: Sequence[int],
        decision: str,
        actor: str,
        note: str | None = None,
        *,
        missing_ok: bool = True,
    ) -> list[ReviewItem]:
        """Decide several items in one transaction; unknown ids are skipped unless `missing_ok` is false."""
        if decision not in DECISIONS:
            raise BadItemError(f"decision must be one of {', '.join(DECISIONS)}")
        if not actor:
            raise BadItemError("a decision needs the moderator's name")
        if note is not None and len(note) > 2000:
            raise BadItemError("note longer than 2000 characters")
        now = _now()
        decided: list[ReviewItem] = []
        with self._write() as conn:
            for item_id in dict.fromkeys(item_ids):
                row = conn.execute(select(ITEMS).where(ITEMS.c.id == item_id)).first()
                if row is None:
                    if missing_ok:
                        continue
                    raise ItemNotFoundError(f"no review item {item_id}")
                before = _decision_state(row)
                new_note = note if note is not None else row.note
                conn.execute(
                    update(ITEMS)
                    .where(ITEMS.c.id == item_id)
                    .values(status=decision, decided_by=actor, decided_at=now, note=new_note)
                )
                after_row = conn.execute(select(ITEMS).where(ITEMS.c.id == item_id)).one()
                conn.execute(
                    AUDIT.insert().values(
                        item_id=item_id,
                        actor=actor,
                        at=now,
                        action="decide",
                        before=json.dumps(before, sort_keys=True),
                        after=json.dumps(_decision_state(after_row), sort_keys=True),
                    )
                )
                decided.append(_to_item(after_row))
        return decided

    def audit_log(self, item_id: int | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Audit entries, newest first, optionally for one item."""
        query = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
        if item_id is not None:
            query = query.where(AUDIT.c.item_id == item_id)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                r.id,
                r.item_id,
                r.actor,
                _utc_aware(r.at),
                r.action,
                json.loads(r.before),
                json.loads(r.after),
            )  # type: ignore[arg-type]
            for r in rows
        ]

    # -- retention --------------------------------------------------------------------------

    def purge(self, older_than_days: int, *, now: datetime | None = None) -> int:
        """Delete items (and audit entries) created more than `older_than_days` ago; return items deleted."""
        if older_than_days < 0:
            raise BadItemError("older_than_days must be >= 0")
        cutoff = _utc_naive(now or datetime.now(UTC)) - timedelta(days=older_than_days)
        with self._write() as conn:
            old_ids = select(ITEMS.c.id).where(ITEMS.c.created_at < cutoff)
            conn.execute(
                delete(AUDIT).where((AUDIT.c.item_id.in_(old_ids)) | (AUDIT.c.at < cutoff))
            )
            return int(conn.execute(delete(ITEMS).where(ITEMS.c.created_at < cutoff)).rowcount or 0)


def _insert_ignore(conn: Connection) -> Any:
    """INSERT ... ON CONFLICT (source, external_id) DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(ITEMS).on_conflict_do_nothing(index_elements=["source", "external_id"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(ITEMS).on_conflict_do_nothing(index_elements=["source", "external_id"])


def _conditions(filters: ItemFilter) -> list[Any]:
    conditions: list[Any] = []
    if filters.status is not None:
        if filters.status not in STATUSES:
            raise BadItemError(f"status must be one of {', '.join(STATUSES)}")
        conditions.append(ITEMS.c.status == filters.status)
    if filters.head:
        conditions.append(ITEMS.c.flagged_heads.contains(f",{filters.head},", autoescape=True))
    if filters.channel:
        conditions.append(ITEMS.c.channel == filters.channel)
    if filters.author:
        conditions.append(ITEMS.c.author == filters.author)
    if filters.since:
        conditions.append(ITEMS.c.created_at >= datetime.combine(filters.since, time.min))
    if filters.until:
        conditions.append(
            ITEMS.c.created_at < datetime.combine(filters.until + timedelta(days=1), time.min)
        )
    return conditions
