"""Prometheus metrics, one `CollectorRegistry` per app (so several apps in one process never clash).

Multi-process note: with `--workers N` every worker has its own registry, so a scrape of /metrics
sees one worker's counters only. For fleet-wide numbers run one worker per container, or set up
prometheus_client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR` plus a `MultiProcessCollector`)
— not wired here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Children:
    """A labelled metric's children, kept in a dict (no label parsing or lock per lookup)."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self._cache: dict[tuple[str, ...], Any] = {}

    def get(self, *values: str) -> Any:
        """The child for these label values, in the metric's label order."""
        child = self._cache.get(values)
        if child is None:  # a race only makes `labels` return the same child twice
            child = self._cache[values] = self.metric.labels(*values)
        return child


class ServiceMetrics:
    """The service's counters, histograms and gauges."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "harassflag_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "harassflag_http_request_duration_seconds",
            "Time from request start to the last response byte, by route and status.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.messages = Counter(
            "harassflag_messages_scored",
            "Messages scored, by API flavour (native, openai, perspective).",
            ["api"],
            registry=self.registry,
        )
        self.flagged = Counter(
            "harassflag_messages_flagged",
            "Messages whose head decision was positive, by head.",
            ["head"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "harassflag_model_info",
            "The model being served (value 1).",
            ["name", "version", "sha256"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "harassflag_model_reloads",
            "Model reload attempts by result (ok, failed).",
            ["result"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "harassflag_model_batch_size",
            "Texts per model call (micro-batching merges concurrent requests).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024),
            registry=self.registry,
        )

        self.request_children = Children(self.requests)
        self.latency_children = Children(self.latency)
        self._messages = Children(self.messages)
        self._flagged = Children(self.flagged)

    def observe_request(self, route: str, method: str, status: str, seconds: float) -> None:
        """Count one HTTP request and its latency."""
        self.request_children.get(route, method, status).inc()
        self.latency_children.get(route, status).observe(seconds)

    def set_model(self, name: str, version: str, sha256: str) -> None:
        """Point the info gauge at the model now serving."""
        self.model_info.clear()
        self.model_info.labels(name=name, version=version, sha256=sha256).set(1)

    def count_scored(self, api: str, n: int) -> None:
        """Record `n` messages scored for a request of API flavour `api`."""
        self._messages.get(api).inc(n)

    def count_model_call(self, n: int, flagged_by_head: Iterable[tuple[str, int]]) -> None:
        """Record one model call: its size and the positive decisions per head."""
        self.batch_size.observe(n)
        for head, count in flagged_by_head:
            if count:
                self._flagged.get(head).inc(count)

    def exposition(self) -> bytes:
        """The text exposition format of this registry."""
        return generate_latest(self.registry)
