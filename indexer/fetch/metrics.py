"""Prometheus metrics of document fetching, registered in a ``CollectorRegistry`` the caller owns.

One ``FetchMetrics`` per registry, shared by every fetcher of the process; each observation is labelled
with the index.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class FetchMetrics:
    """Batch sizes, gateway latency, gateway errors by kind, retries, outcomes and the breaker state."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.batch_size = Histogram(
            "graphdex_fetch_batch_size",
            "Documents per gateway request.",
            ["index"],
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.latency = Histogram(
            "graphdex_fetch_request_seconds",
            "Time of one gateway request (one attempt), whatever its result.",
            ["index"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.gateway_errors = Counter(
            "graphdex_fetch_gateway_errors",
            "Failed gateway requests (attempts) by kind: timeout, connection, http_429, http_5xx, http_4xx, "
            "bad_response, subgraph_unavailable.",
            ["index", "kind"],
            registry=registry,
        )
        self.retries = Counter(
            "graphdex_fetch_retries",
            "Gateway requests sent again after a failure, by the kind of failure.",
            ["index", "kind"],
            registry=registry,
        )
        self.outcomes = Counter(
            "graphdex_fetch_outcomes",
            "Documents fetched, deleted at the source, or failed (by reason).",
            ["index", "outcome", "reason"],
            registry=registry,
        )
        self.breaker_open = Gauge(
            "graphdex_fetch_breaker_open",
            "1 while the gateway circuit breaker refuses requests (open or half-open), else 0.",
            ["index"],
            registry=registry,
        )
        self.rejected = Counter(
            "graphdex_fetch_breaker_rejections",
            "Fetch calls refused at once because the circuit breaker was open.",
            ["index"],
            registry=registry,
        )
