"""Prometheus metrics of document fetching, registered in a ``CollectorRegistry`` the caller owns.

One ``FetchMetrics`` per registry, shared by every fetcher of the process; each observation is labelled
with the index. In the daemon, ``FetchMetrics.for_pipeline(pipeline_metrics)`` reuses the batch size,
latency and gateway-error collectors the daemon's ``PipelineMetrics`` already registered (same names)
and adds the fetch-only ones to its registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from indexer.metrics import PipelineMetrics

_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class FetchMetrics:
    """Batch sizes, gateway latency, gateway errors by kind, retries, outcomes, the breaker state, and the
    splitting of batches that failed as a whole (isolations and the extra requests they sent)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        batch_size: Histogram | None = None,
        latency: Histogram | None = None,
        gateway_errors: Counter | None = None,
    ) -> None:
        self.registry = registry
        self.batch_size = batch_size or Histogram(
            "graphdex_fetch_batch_size",
            "Documents per gateway request",
            ["index"],
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.latency = latency or Histogram(
            "graphdex_fetch_latency_seconds",
            "Gateway request latency",
            ["index"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.gateway_errors = gateway_errors or Counter(
            "graphdex_gateway_errors", "Gateway failures by kind", ["index", "kind"], registry=registry
        )
        self.retries = Counter(
            "graphdex_fetch_retries",
            "Gateway requests sent again at once after a failure (timeout, connection, http_429, http_5xx, "
            "bad_response, subgraph_unavailable)",
            ["index", "kind"],
            registry=registry,
        )
        self.outcomes = Counter(
            "graphdex_fetch_outcomes",
            "Documents fetched, deleted at the source, or failed (by reason)",
            ["index", "outcome", "reason"],
            registry=registry,
        )
        self.breaker_open = Gauge(
            "graphdex_fetch_breaker_open",
            "1 while the gateway circuit breaker refuses requests (open or half-open), else 0",
            ["index"],
            registry=registry,
        )
        self.rejected = Counter(
            "graphdex_fetch_breaker_rejections",
            "Fetch calls refused at once because the circuit breaker was open",
            ["index"],
            registry=registry,
        )
        self.isolations = Counter(
            "graphdex_fetch_isolations",
            "Batches that failed as a whole and were split to find the ids that made them fail, by result: "
            "culprits (poison ids found, the rest fetched), transient (every part was answered), outage "
            "(no part was answered), too_many (more failing ids than isolation pins down)",
            ["index", "result"],
            registry=registry,
        )
        self.isolation_requests = Counter(
            "graphdex_fetch_isolation_requests",
            "Extra gateway requests sent to isolate poison ids: the parts of split batches and the requests "
            "for a recently fetched id that confirm the gateway answers",
            ["index"],
            registry=registry,
        )

    @classmethod
    def for_pipeline(cls, pipeline: PipelineMetrics) -> FetchMetrics:
        """Fetch metrics in the daemon's registry, sharing the collectors ``PipelineMetrics`` has."""
        return cls(
            pipeline.registry,
            batch_size=pipeline.fetch_batch,
            latency=pipeline.fetch_latency,
            gateway_errors=pipeline.gateway_errors,
        )
