"""The model being served (hot-swappable) and the scoring path shared by every route.

Readers take `holder.model` once per request and use that object to the end, so a reload never
changes the model under an in-flight request. Swapping is one attribute store (atomic under the
GIL): readers never take a lock. Only reloads are serialised, by a lock of their own.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from ..errors import ModelError
from .metrics import ServiceMetrics
from .problems import ProblemError

log = logging.getLogger("harassflag.service")

SMOKE_TEXTS = ("hello there", "you are an idiot")


@dataclass(frozen=True)
class Decisions:
    """Scores and decisions for a batch of texts, in HEADS order of `heads`."""

    heads: tuple[str, ...]
    scores: np.ndarray  # (n, len(heads)) probabilities
    categories: np.ndarray  # (n, len(heads)) bool
    flagged: np.ndarray  # (n,) bool

    def rows(self, start: int, stop: int) -> Decisions:
        """The decisions of texts `start:stop` (views, no copy)."""
        return Decisions(
            heads=self.heads,
            scores=self.scores[start:stop],
            categories=self.categories[start:stop],
            flagged=self.flagged[start:stop],
        )

    def flagged_by_head(self) -> list[tuple[str, int]]:
        """Count of positive decisions per head."""
        counts = self.categories.sum(axis=0)
        return [(h, int(c)) for h, c in zip(self.heads, counts)]


def model_heads(model: Any) -> tuple[str, ...]:
    """The heads the model's score matrix columns stand for."""
    from ..heads import HEADS

    return tuple(getattr(model, "heads", HEADS))


def decide(model: Any, matrix: np.ndarray) -> Decisions:
    """Apply the model's own thresholds and flag policy (`model.decide`) to a score matrix."""
    categories, flagged = model.decide(matrix)
    return Decisions(heads=model_heads(model), scores=matrix, categories=categories, flagged=flagged)


def model_summary(model: Any) -> dict[str, str]:
    """Name, version and artifact hash: what every response says about the model."""
    return {"name": str(model.name), "version": str(model.version), "sha256": str(model.sha256)}


@dataclass(frozen=True)
class _Job:
    """One request's texts waiting for the batcher, and where its result goes."""

    model: Any
    texts: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Decisions]


def _deliver(outcomes: list[tuple[asyncio.Future[Decisions], Decisions | BaseException]]) -> None:
    """Resolve futures on their own loop (requests whose client went away are skipped)."""
    for fut, outcome in outcomes:
        if fut.done():
            continue
        if isinstance(outcome, BaseException):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)


class MicroBatcher:
    """Scores the texts of concurrent requests in one `score_matrix` call, on one thread.

    The worker takes whatever queued up while the previous call ran. A request that finds the
    worker idle is scored at once; while the worker is busy (its last call ended less than two
    `wait` ago) it first sleeps `wait`, which hands the GIL to the event loop so more requests
    join the call: fewer, bigger, cheaper model calls. Results go back to each request's event
    loop with one wake-up per loop and batch (no thread-pool hop).
    """

    def __init__(self, max_batch: int, metrics: ServiceMetrics, wait: float = 0.0) -> None:
        self.max_batch = max_batch
        self.metrics = metrics
        self.wait = wait
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="harassflag-batcher", daemon=True)
        self._thread.start()

    def submit(self, model: Any, texts: list[str]) -> asyncio.Future[Decisions]:
        """Queue `texts` for `model`; the returned future (of the running loop) gets the decisions."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Decisions] = loop.create_future()
        self._queue.put(_Job(model, texts, loop, fut))
        return fut

    def close(self) -> None:
        """Stop the worker after the queued work."""
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last_end = -1e9
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self.wait and time.perf_counter() - last_end < 2 * self.wait:
                time.sleep(self.wait)
            batch = [job]
            size = len(job.texts)
            while size < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
                size += len(nxt.texts)
            # Requests that started on different models (a reload in between) are scored apart.
            by_model: dict[int, list[_Job]] = {}
            for entry in batch:
                by_model.setdefault(id(entry.model), []).append(entry)
            for group in by_model.values():
                self._score_group(group)
            last_end = time.perf_counter()

    def _score_group(self, group: list[_Job]) -> None:
        model = group[0].model
        texts = [t for job in group for t in job.texts]
        outcomes: list[Decisions | BaseException]
        try:
            whole = decide(model, np.asarray(model.score_matrix(texts), dtype=np.float64))
            self.metrics.count_model_call(len(texts), whole.flagged_by_head())
            outcomes = []
            start = 0
            for job in group:
                outcomes.append(whole.rows(start, start + len(job.texts)))
                start += len(job.texts)
        except BaseException as exc:  # noqa: BLE001 - hand the failure to every waiting request
            outcomes = [exc] * len(group)
        by_loop: dict[int, list[tuple[asyncio.Future[Decisions], Decisions | BaseException]]] = {}
        loops: dict[int, asyncio.AbstractEventLoop] = {}
        for job, outcome in zip(group, outcomes):
            by_loop.setdefault(id(job.loop), []).append((job.future, outcome))
            loops[id(job.loop)] = job.loop
        for key, pairs in by_loop.items():
            try:
                loops[key].call_soon_threadsafe(_deliver, pairs)
            except RuntimeError:  # that loop has closed: nobody is waiting any more
                continue


@dataclass(frozen=True)
class Served:
    """A verified model and what every response says about it, worked out once per load."""

    model: Any
    summary: dict[str, str]
    thresholds: dict[str, float]
    loaded_at: float

    @classmethod
    def of(cls, model: Any) -> Served:
        """The snapshot for `model`, loaded now."""
        return cls(model, model_summary(model), dict(model.thresholds), time.time())


class ModelHolder:
    """Owns the served model, its verified reload and the scoring call."""

    def __init__(
        self, path: Path | None, metrics: ServiceMetrics, *, micro_batch: int = 0, batch_wait: float = 0.0
    ) -> None:
        self.path = path
        self.metrics = metrics
        self._reload_lock = threading.Lock()
        self.served: Served | None = None
        self.batcher = MicroBatcher(micro_batch, metrics, batch_wait) if micro_batch > 1 else None

    @property
    def model(self) -> Any:
        """The model serving now (None before the first load)."""
        served = self.served
        return served.model if served is not None else None

    @property
    def loaded_at(self) -> float:
        """When the serving model was swapped in (0 before the first load)."""
        served = self.served
        return served.loaded_at if served is not None else 0.0

    def load_verified(self) -> Any:
        """Load the artifact at `path`, verify its hash (by `load_model`) and that it scores."""
        from ..artifact import load_model

        model = load_model(self.path)
        matrix = np.asarray(model.score_matrix(list(SMOKE_TEXTS)), dtype=np.float64)
        if matrix.shape[0] != len(SMOKE_TEXTS) or not np.isfinite(matrix).all():
            raise ModelError("the loaded model does not produce finite scores")
        return model

    def start(self) -> Any:
        """First load at start-up (errors propagate: the server refuses to start)."""
        self._install(self.load_verified())
        return self.model

    def reload(self) -> tuple[Any, Any]:
        """Verify the artifact on disk and swap it in; on failure the old model keeps serving."""
        if not self._reload_lock.acquire(blocking=False):
            raise ProblemError("reload-in-progress", "another reload is running; try again shortly")
        try:
            old = self.model
            try:
                new = self.load_verified()
            except ModelError as exc:
                self.metrics.reloads.labels(result="failed").inc()
                log.warning("model reload failed (%s); still serving sha256=%s", type(exc).__name__,
                            getattr(old, "sha256", None))
                raise ProblemError("model-reload-failed", str(exc)) from exc
            self._install(new)
            self.metrics.reloads.labels(result="ok").inc()
            log.info("model reloaded: sha256 %s -> %s", getattr(old, "sha256", None), new.sha256)
            return old, new
        finally:
            self._reload_lock.release()

    def _install(self, model: Any) -> None:
        served = Served.of(model)
        self.served = served  # the swap: a single reference store
        summary = served.summary
        self.metrics.set_model(summary["name"], summary["version"], summary["sha256"])

    def score_now(self, model: Any, texts: list[str]) -> Decisions:
        """Scores and decisions of `texts` under `model`, in the calling thread."""
        if not texts:
            return decide(model, np.zeros((0, len(model_heads(model)))))
        decisions = decide(model, np.asarray(model.score_matrix(texts), dtype=np.float64))
        self.metrics.count_model_call(len(texts), decisions.flagged_by_head())
        return decisions

    async def score(self, model: Any, texts: list[str]) -> Decisions:
        """Scores and decisions of `texts` under `model`, off the event loop (micro-batched if on)."""
        if not texts:
            return self.score_now(model, texts)
        if self.batcher is not None:
            return await self.batcher.submit(model, texts)
        return await run_in_threadpool(self.score_now, model, texts)

    def close(self) -> None:
        """Stop background threads."""
        if self.batcher is not None:
            self.batcher.close()
