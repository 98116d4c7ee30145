"""Prometheus metrics, one `CollectorRegistry` per app (so several apps in one process never clash).

Multi-process note: with `--workers N` every worker has its own registry, so a scrape of /metrics
sees one worker's counters only. For fleet-wide numbers run one worker per container, or set up
prometheus_client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR` plus a `MultiProcessCollector`)
— not wired here.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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

    def set_model(self, name: str, version: str, sha256: str) -> None:
        """Point the info gauge at the model now serving."""
        self.model_info.clear()
        self.model_info.labels(name=name, version=version, sha256=sha256).set(1)

    def count_scored(self, api: str, n: int, flagged_by_head: Iterable[tuple[str, int]]) -> None:
        """Record `n` scored messages and the positive decisions per head."""
        self.messages.labels(api=api).inc(n)
        for head, count in flagged_by_head:
            if count:
                self.flagged.labels(head=head).inc(count)

    def exposition(self) -> bytes:
        """The text exposition format of this registry."""
        return generate_latest(self.registry)
