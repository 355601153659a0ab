"""Prometheus metrics of the indexer daemon, in one registry per process (no globals).

Every stage receives the one ``PipelineMetrics`` object of its process; tests pass a fresh one and
read values back with ``value()``. ``--metrics-port`` serves the registry with ``/healthz`` and
``/readyz`` (see ``indexer.daemon.health``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from indexer.fetch.metrics import FetchMetrics

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_FRESHNESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_STAGE_BATCH_BUCKETS = (1, 5, 10, 50, 100, 200, 500, 1000, 2000, 5000)


class PipelineMetrics:
    """The daemon's counters, gauges and histograms, labelled by index."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._fetch: FetchMetrics | None = None
        r = self.registry
        self.events = Counter("graphdex_events_consumed", "Change events consumed", ["index", "topic"], registry=r)
        self.requests = Counter("graphdex_reindex_requests", "Reindex requests emitted", ["index", "cause"], registry=r)
        self.coalesced = Counter(
            "graphdex_coalesced_duplicates", "Requests or changes merged into another", ["index", "stage"], registry=r
        )
        self.lookups = Counter("graphdex_reverse_lookups", "Reverse lookups run", ["index", "kind"], registry=r)
        self.fetch_batch = Histogram(
            "graphdex_fetch_batch_size", "Documents per gateway request", ["index"], buckets=_BATCH_BUCKETS, registry=r
        )
        self.fetch_latency = Histogram(
            "graphdex_fetch_latency_seconds", "Gateway request latency", ["index"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.gateway_errors = Counter(
            "graphdex_gateway_errors", "Gateway failures by kind", ["index", "kind"], registry=r
        )
        self.documents = Counter(
            "graphdex_documents",
            "Document writes by outcome: indexed, deleted, unchanged (skipped: the index holds this content), "
            "noop (stale or superseded), failed, retry",
            ["index", "outcome"],
            registry=r,
        )
        self.retries = Counter("graphdex_retries", "Requests sent to the retry topic", ["index", "stage"], registry=r)
        self.dead_letters = Counter(
            "graphdex_dead_letters", "Messages dead-lettered", ["index", "stage", "reason"], registry=r
        )
        self.lag = Gauge(
            "graphdex_consumer_lag", "Messages behind the end of each partition", ["group", "topic"], registry=r
        )
        self.freshness = Histogram(
            "graphdex_freshness_seconds",
            "From the source event to the index acknowledging the write",
            ["index"],
            buckets=_FRESHNESS_BUCKETS,
            registry=r,
        )
        self.paused = Gauge(
            "graphdex_paused", "1 while a stage is paused by backpressure", ["index", "stage"], registry=r
        )
        self.stage_batch_seconds = Histogram(
            "graphdex_stage_batch_seconds",
            "From a batch handed to a stage to the acknowledgement of what it produced",
            ["index", "stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_batch_records = Histogram(
            "graphdex_stage_batch_records",
            "Records per batch a stage processed",
            ["index", "stage"],
            buckets=_STAGE_BATCH_BUCKETS,
            registry=r,
        )

    def fetch_metrics(self) -> FetchMetrics:
        """The fetcher's metrics in this registry, created once and shared by every fetcher."""
        if self._fetch is None:
            from indexer.fetch.metrics import FetchMetrics

            self._fetch = FetchMetrics.for_pipeline(self)
        return self._fetch

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of a sample (tests and status output); 0 when it was never set."""
        found = self.registry.get_sample_value(name, labels or {})
        return found if found is not None else 0.0
